package io.pairkit.api.error;

/**
 * A call's argument is malformed: a blank or null id, a null volume or extent set. Nothing was
 * changed; the message names the argument and what a valid one looks like.
 */
public class InvalidArgumentException extends PairKitException {
  private static final long serialVersionUID = 1L;

  public InvalidArgumentException(String message) {
    super(message);
  }
}
