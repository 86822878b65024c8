package io.pairkit.api.error;

/**
 * A controller setting is out of range, or the controller cannot be built with it (for example a
 * track cache without the JVM flags it needs, or too small for 16 tracks). Thrown when the settings
 * are validated or the controller is built; nothing was opened or started. The message names the
 * setting, its allowed values and the fix.
 */
public class ControllerConfigException extends PairKitException {
  private static final long serialVersionUID = 1L;

  public ControllerConfigException(String message) {
    super(message);
  }

  public ControllerConfigException(String message, Throwable cause) {
    super(message, cause);
  }
}
