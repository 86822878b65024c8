package io.pairkit.core.engine.hostio;

import io.pairkit.core.engine.bitmap.BitmapJournal;
import io.pairkit.core.engine.bitmap.Tickets;
import io.pairkit.core.engine.bitmap.TrackBitmaps;
import io.pairkit.core.engine.copy.PairCopier;

/**
 * The write rule of DESIGN.md section 4 for one pair, run for each host write to its primary
 * before the data reaches the backend (copy-on-write lives here): a frozen track not yet copied is
 * copied to the secondary first, so the secondary keeps its point-in-time image; then the track is
 * marked changed (frozen) or pending (mirrored). The bit is set before the data is written, so no
 * difference can be lost.
 *
 * <p>With durable metadata the marks go to the journal, and the caller waits for their tickets
 * before its data may reach the backend (ordering rule 1); a copy-on-write is made durable on the
 * secondary before its mark is recorded (rule 3), because once the primary is overwritten the
 * secondary holds the only point-in-time copy.
 *
 * <p>Threading: the caller holds the primary's locks of the written tracks.
 */
public final class PrimaryWriteRule {
  private final PairCopier copier;
  private final TrackBitmaps bitmaps;
  private final BitmapJournal journal;

  public PrimaryWriteRule(PairCopier copier) {
    this.copier = copier;
    this.bitmaps = copier.bitmaps();
    this.journal = bitmaps.journal();
  }

  /**
   * Applies the rule to tracks {@code [first, end)}, adding the journal tickets the write must
   * wait for to {@code tickets}.
   *
   * @return whether mirrored tracks became pending (the mirror has work)
   * @throws io.pairkit.api.error.VolumeIOException if a copy-on-write fails; the write must then
   *     not happen (the track stays pending, the point-in-time data is still on the primary)
   */
  public boolean beforeWrite(long first, long end, Tickets tickets) {
    boolean mirrored = false;
    copier.makeFrozenCopiesDurable(first, end); // rule 2: a copy is durable before "changed"
    for (long t = first; t < end; t++) {
      switch (bitmaps.markPrimaryWritten(t, tickets)) {
        case MIRROR_PENDING -> mirrored = true;
        case COPY_FIRST -> {
          copier.copyLocked(t, t + 1);
          copier.counters().countCopyOnWrite();
          if (journal.durable()) {
            copier.secondary().flush(); // rule 3: the point-in-time copy is durable first
          }
          bitmaps.copiedThenWritten(t, tickets);
        }
        default -> {
          // out of scope, already pending, or changed: nothing more to do
        }
      }
    }
    return mirrored;
  }
}
