package io.pairkit.api.error;

/**
 * A call's argument is malformed: a blank or null pair id, a null spec, volume or listener. Nothing
 * was changed; the message names the argument and what a valid one looks like. (A null or empty
 * extent set is an {@link InvalidExtentException}; a volume from another controller a
 * {@link NotFoundException}.)
 */
public class InvalidArgumentException extends PairKitException {
  private static final long serialVersionUID = 1L;

  public InvalidArgumentException(String message) {
    super(message);
  }
}
