package io.pairkit.api.error;

/** A pair id or volume name the controller does not know. */
public class NotFoundException extends PairKitException {
  private static final long serialVersionUID = 1L;

  public NotFoundException(String message) {
    super(message);
  }

  public NotFoundException(String message, Throwable cause) {
    super(message, cause);
  }
}
