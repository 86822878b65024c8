package io.pairkit.api.error;

/** An extent that is empty, reversed or starts below byte 0. */
public class InvalidExtentException extends PairKitException {
  private static final long serialVersionUID = 1L;

  public InvalidExtentException(String message) {
    super(message);
  }

  public InvalidExtentException(String message, Throwable cause) {
    super(message, cause);
  }
}
