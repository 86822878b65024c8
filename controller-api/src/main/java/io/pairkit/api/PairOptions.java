package io.pairkit.api;

import io.pairkit.api.error.InvalidArgumentException;

/**
 * What a pair is created with besides its volumes. Immutable; start from {@link #defaults()} and
 * change what you need with the {@code with...} methods (components may be added in later
 * versions, so the constructor is not the way to build one).
 *
 * @param mirrorMode how mirrored tracks follow host writes (default {@link MirrorMode#AUTOMATIC});
 *                   {@link Pair#setMirrorMode} changes it later
 */
public record PairOptions(MirrorMode mirrorMode) {

  /**
   * @throws InvalidArgumentException if {@code mirrorMode} is null
   */
  public PairOptions {
    if (mirrorMode == null) {
      throw new InvalidArgumentException("PairOptions: mirrorMode is null; use "
          + "MirrorMode.AUTOMATIC, SYNCHRONOUS or ASYNCHRONOUS");
    }
  }

  /** Automatic mirror mode. */
  public static PairOptions defaults() {
    return new PairOptions(MirrorMode.AUTOMATIC);
  }

  public PairOptions withMirrorMode(MirrorMode mode) {
    return new PairOptions(mode);
  }
}
