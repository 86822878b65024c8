package io.pairkit.api.error;

/**
 * An extent that is empty, reversed, starts below byte 0 or ends past 2^63 - 1, or an extent set
 * that is null or empty where a request or an extent pair needs extents. Thrown when the value is
 * made or the call checks its argument; nothing was changed. The message names the extent (and
 * the pair) and what a valid one looks like.
 */
public class InvalidExtentException extends PairKitException {
  private static final long serialVersionUID = 1L;

  public InvalidExtentException(String message) {
    super(message);
  }

  public InvalidExtentException(String message, Throwable cause) {
    super(message, cause);
  }
}
