package io.pairkit.api.error;

/** Two volumes that cannot be paired: different sizes or track sizes, or the same volume twice. */
public class VolumeMismatchException extends PairKitException {
  private static final long serialVersionUID = 1L;

  public VolumeMismatchException(String message) {
    super(message);
  }

  public VolumeMismatchException(String message, Throwable cause) {
    super(message, cause);
  }
}
