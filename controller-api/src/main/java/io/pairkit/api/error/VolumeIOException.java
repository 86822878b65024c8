package io.pairkit.api.error;

/** A backend read, write or flush failed. No difference bit was cleared for the failed operation, so a retry copies what is still missing. */
public class VolumeIOException extends PairKitException {
  private static final long serialVersionUID = 1L;

  public VolumeIOException(String message) {
    super(message);
  }

  public VolumeIOException(String message, Throwable cause) {
    super(message, cause);
  }
}
