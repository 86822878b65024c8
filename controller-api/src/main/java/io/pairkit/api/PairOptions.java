package io.pairkit.api;

import io.pairkit.api.error.InvalidArgumentException;

/**
 * What a pair is created with besides its volumes. Immutable; start from {@link #defaults()} and
 * change what you need with the {@code with...} methods (components may be added in later
 * versions, so the constructor is not the way to build one).
 *
 * @param mirrorMode  how mirrored tracks follow host writes (default {@link MirrorMode#AUTOMATIC});
 *                    {@link Pair#setMirrorMode} changes it later
 * @param copyPace    this pair's cap on its background copies (initial copy, requests' copies,
 *                    the asynchronous mirror) in bytes per second, 0 for none (default); the
 *                    controller's cap applies as well. {@link Pair#setCopyPace} changes it later
 * @param initialCopy whether creating the pair copies its scope (default true). False is
 *                    {@code paircreate -nocopy}: the caller asserts that both volumes already
 *                    hold the same data over the scope, the pair is FORMED at once and only
 *                    later host writes are copied; compare the volumes first if unsure
 */
public record PairOptions(MirrorMode mirrorMode, long copyPace, boolean initialCopy) {

  /**
   * @throws InvalidArgumentException if {@code mirrorMode} is null or {@code copyPace} is
   *     negative
   */
  public PairOptions {
    if (mirrorMode == null) {
      throw new InvalidArgumentException("PairOptions: mirrorMode is null; use "
          + "MirrorMode.AUTOMATIC, SYNCHRONOUS or ASYNCHRONOUS");
    }
    if (copyPace < 0) {
      throw new InvalidArgumentException("PairOptions: copyPace is " + copyPace
          + " bytes per second; give 0 for no cap or a positive rate");
    }
  }

  /** Automatic mirror mode, no pace of its own, an initial copy. */
  public static PairOptions defaults() {
    return new PairOptions(MirrorMode.AUTOMATIC, 0, true);
  }

  public PairOptions withMirrorMode(MirrorMode mode) {
    return new PairOptions(mode, copyPace, initialCopy);
  }

  /** With a cap on this pair's background copies, in bytes per second (0: none). */
  public PairOptions withCopyPace(long bytesPerSecond) {
    return new PairOptions(mirrorMode, bytesPerSecond, initialCopy);
  }

  /**
   * With or without the initial copy; {@code false} asserts that both volumes already hold the
   * same data over the scope ({@code paircreate -nocopy}).
   */
  public PairOptions withInitialCopy(boolean copy) {
    return new PairOptions(mirrorMode, copyPace, copy);
  }
}
