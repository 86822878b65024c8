package io.pairkit.api.error;

/**
 * A pair id or volume name the controller does not know (a deleted pair is forgotten), or a volume
 * that was not opened by this controller. Nothing was changed; the message names what was asked
 * for and, for lookups, lists what there is.
 */
public class NotFoundException extends PairKitException {
  private static final long serialVersionUID = 1L;

  public NotFoundException(String message) {
    super(message);
  }

  public NotFoundException(String message, Throwable cause) {
    super(message, cause);
  }
}
