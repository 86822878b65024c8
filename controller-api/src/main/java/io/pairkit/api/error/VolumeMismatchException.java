package io.pairkit.api.error;

/**
 * Two volumes that cannot be paired: different sizes, or the same volume twice. (Track sizes cannot
 * differ: the track size is the controller's.) No pair was created; the message names the pair
 * and both volumes.
 */
public class VolumeMismatchException extends PairKitException {
  private static final long serialVersionUID = 1L;

  public VolumeMismatchException(String message) {
    super(message);
  }

  public VolumeMismatchException(String message, Throwable cause) {
    super(message, cause);
  }
}
