package io.pairkit.api.error;

/**
 * A volume whose current role forbids the request: already the secondary of a pair, a secondary
 * asked to be a primary (cascade), a primary with the maximum number of pairs, a name already
 * open, or a backend volume that another writer holds (a fencing backend's lock or lease). Nothing
 * was changed; the message names the volume, its role and what to do.
 */
public class VolumeInUseException extends PairKitException {
  private static final long serialVersionUID = 1L;

  public VolumeInUseException(String message) {
    super(message);
  }

  public VolumeInUseException(String message, Throwable cause) {
    super(message, cause);
  }
}
