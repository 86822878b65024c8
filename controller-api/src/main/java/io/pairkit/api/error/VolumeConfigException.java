package io.pairkit.api.error;

/** A volume that cannot be opened as configured: missing file, wrong size, read-only, bad property, or a backend type that is unknown or provided twice. */
public class VolumeConfigException extends PairKitException {
  private static final long serialVersionUID = 1L;

  public VolumeConfigException(String message) {
    super(message);
  }

  public VolumeConfigException(String message, Throwable cause) {
    super(message, cause);
  }
}
