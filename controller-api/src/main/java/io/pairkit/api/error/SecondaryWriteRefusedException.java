package io.pairkit.api.error;

/**
 * A host write or discard to a secondary volume on tracks that are mirrored (not split): the
 * secondary is not a consistent image there, and the write would be lost at the next copy. Nothing
 * was written. The message names the volume, the pair, the track and the way out (split first, or
 * write the primary).
 */
public class SecondaryWriteRefusedException extends PairKitException {
  private static final long serialVersionUID = 1L;

  public SecondaryWriteRefusedException(String message) {
    super(message);
  }

  public SecondaryWriteRefusedException(String message, Throwable cause) {
    super(message, cause);
  }
}
