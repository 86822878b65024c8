package io.pairkit.api.error;

/** An extent that reaches past the end of its volume, or outside the pair's scope. */
public class ExtentOutOfRangeException extends PairKitException {
  private static final long serialVersionUID = 1L;

  public ExtentOutOfRangeException(String message) {
    super(message);
  }

  public ExtentOutOfRangeException(String message, Throwable cause) {
    super(message, cause);
  }
}
