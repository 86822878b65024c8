package io.pairkit.api.error;

/** Root of PairKit's unchecked errors; catch this to handle any PairKit failure. */
public class PairKitException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public PairKitException(String message) {
    super(message);
  }

  public PairKitException(String message, Throwable cause) {
    super(message, cause);
  }
}
