package io.pairkit.api.error;

/**
 * A volume that cannot be opened as configured: missing file, wrong size, read-only, bad or
 * missing property, bad capabilities, a size of 0, a block size larger than the controller's track
 * size, or a backend type that is unknown, provided twice or fails to load. Nothing stays open.
 * The message names the volume (or type), the setting and the fix.
 */
public class VolumeConfigException extends PairKitException {
  private static final long serialVersionUID = 1L;

  public VolumeConfigException(String message) {
    super(message);
  }

  public VolumeConfigException(String message, Throwable cause) {
    super(message, cause);
  }
}
