package io.pairkit.api.error;

/**
 * A backend read, write, discard, flush or open failed, after the retries of a transient failure.
 * The message names the volume (and for a background copy the pair and request) and the backend's
 * error, which is the cause. No difference bit was cleared for what failed, so a retry,
 * {@code resume()} or resync copies what is still missing. Host I/O that fails suspends no pair; a
 * background copy that fails suspends its pair.
 */
public class VolumeIOException extends PairKitException {
  private static final long serialVersionUID = 1L;

  public VolumeIOException(String message) {
    super(message);
  }

  public VolumeIOException(String message, Throwable cause) {
    super(message, cause);
  }
}
