package io.pairkit.core.engine.hostio;

import io.pairkit.core.engine.bitmap.TrackBitmaps;
import io.pairkit.core.engine.copy.PairCopier;

/**
 * The write rule of DESIGN.md section 4 for one pair, run for each host write to its primary
 * before the data reaches the backend (copy-on-write lives here): a frozen track not yet copied is
 * copied to the secondary first, so the secondary keeps its point-in-time image; then the track is
 * marked changed (frozen) or pending (mirrored). The bit is set before the data is written, so no
 * difference can be lost.
 *
 * <p>Threading: the caller holds the primary's locks of the written tracks.
 */
public final class PrimaryWriteRule {
  private final PairCopier copier;
  private final TrackBitmaps bitmaps;

  public PrimaryWriteRule(PairCopier copier) {
    this.copier = copier;
    this.bitmaps = copier.bitmaps();
  }

  /**
   * Applies the rule to tracks {@code [first, end)}.
   *
   * @return whether mirrored tracks became pending (the mirror has work)
   * @throws io.pairkit.api.error.VolumeIOException if a copy-on-write fails; the write must then
   *     not happen (the track stays pending, the point-in-time data is still on the primary)
   */
  public boolean beforeWrite(long first, long end) {
    boolean mirrored = false;
    for (long t = first; t < end; t++) {
      switch (bitmaps.markPrimaryWritten(t)) {
        case MIRROR_PENDING -> mirrored = true;
        case COPY_FIRST -> {
          copier.copyLocked(t, t + 1);
          copier.counters().countCopyOnWrite();
          bitmaps.copiedThenWritten(t, false);
        }
        default -> {
          // out of scope, or changed: nothing more to do
        }
      }
    }
    return mirrored;
  }
}
