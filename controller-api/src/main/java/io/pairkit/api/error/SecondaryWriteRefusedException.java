package io.pairkit.api.error;

/** A host write to a secondary volume on tracks that are mirrored (not split): the secondary is not a consistent image there, and the write would be lost at the next copy. */
public class SecondaryWriteRefusedException extends PairKitException {
  private static final long serialVersionUID = 1L;

  public SecondaryWriteRefusedException(String message) {
    super(message);
  }

  public SecondaryWriteRefusedException(String message, Throwable cause) {
    super(message, cause);
  }
}
