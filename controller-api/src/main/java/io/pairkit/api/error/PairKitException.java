package io.pairkit.api.error;

/**
 * Root of PairKit's unchecked errors; catch this to handle any PairKit failure. Thrown as itself
 * only by {@link io.pairkit.api.CopyRequest#await} when the time runs out or the thread is
 * interrupted (the copy goes on).
 */
public class PairKitException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public PairKitException(String message) {
    super(message);
  }

  public PairKitException(String message, Throwable cause) {
    super(message, cause);
  }
}
