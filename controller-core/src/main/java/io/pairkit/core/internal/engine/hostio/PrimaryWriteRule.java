package io.pairkit.core.internal.engine.hostio;

import com.google.common.collect.Range;
import com.google.common.collect.RangeSet;
import com.google.common.collect.TreeRangeSet;
import io.pairkit.core.internal.engine.bitmap.BitmapJournal;
import io.pairkit.core.internal.engine.bitmap.Tickets;
import io.pairkit.core.internal.engine.bitmap.TrackBitmaps;
import io.pairkit.core.internal.engine.copy.PairCopier;
import io.pairkit.core.internal.engine.track.TrackGeometry;

/**
 * The write rule of docs/DESIGN.md section 4 for one pair, run for each host write to its primary
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
  /**
   * The bytes of split track {@code t} that stay mirrored (an extent split pair's bytes outside
   * its split extents), null if none or if they are not written through now; null for pairs
   * whose split tracks freeze whole.
   */
  private final java.util.function.LongFunction<RangeSet<Long>> mirroredOfSplit;

  public PrimaryWriteRule(PairCopier copier) {
    this(copier, null);
  }

  /**
   * @param mirroredOfSplit the bytes of a split track that a host write puts on the secondary
   *                        too (see {@link #secondaryRanges}), or null if split tracks freeze
   *                        whole
   */
  public PrimaryWriteRule(PairCopier copier,
      java.util.function.LongFunction<RangeSet<Long>> mirroredOfSplit) {
    this.copier = copier;
    this.bitmaps = copier.bitmaps();
    this.journal = bitmaps.journal();
    this.mirroredOfSplit = mirroredOfSplit;
  }

  /** {@link #beforeWrite} result bit: mirrored tracks became pending (the mirror has work). */
  public static final int KICK_MIRROR = 1;
  /** {@link #beforeWrite} result bit: the write must go to the secondary too (synchronous). */
  public static final int WRITE_SECONDARY = 2;

  /**
   * Applies the rule to a write of {@code length} bytes at {@code offset}, adding the journal
   * tickets the write must wait for to {@code tickets}. With {@code synchronous}, mirrored tracks
   * are not marked pending: the caller writes the secondary too ({@link #secondaryRanges}).
   *
   * @return {@link #KICK_MIRROR} and {@link #WRITE_SECONDARY} bits
   * @throws io.pairkit.api.error.VolumeIOException if a copy-on-write fails; the write must then
   *     not happen (the track stays pending, the point-in-time data is still on the primary)
   */
  public int beforeWrite(long offset, long length, Tickets tickets, boolean synchronous) {
    TrackGeometry g = copier.geometry();
    long first = g.trackOf(offset);
    long end = g.endTrack(offset, length);
    int result = 0;
    copier.makeFrozenCopiesDurable(first, end); // rule 2: a copy is durable before "changed"
    for (long t = first; t < end; t++) {
      long start = g.start(t);
      int from = (int) (Math.max(offset, start) - start);
      int to = (int) (Math.min(offset + length, g.stop(t)) - start);
      switch (bitmaps.markPrimaryWritten(t, tickets, synchronous, from, to)) {
        case MIRROR_PENDING -> result |= KICK_MIRROR;
        case MIRROR_SYNC -> result |= WRITE_SECONDARY;
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
      if (mirroredOfSplit != null && !bitmaps.isMirrored(t) && bitmaps.inScope(t)) {
        RangeSet<Long> mirrored = mirroredOfSplit.apply(t);
        if (mirrored != null && mirrored.intersects(Range.closedOpen(offset, offset + length))) {
          result |= WRITE_SECONDARY; // a split track's unsplit bytes are written through
        }
      }
    }
    return result;
  }

  /**
   * The mirrored bytes of split tracks within {@code [offset, offset + length)} (see
   * {@link #secondaryRanges}), or null if there are none.
   */
  public RangeSet<Long> splitWriteThrough(long offset, long length) {
    if (mirroredOfSplit == null) {
      return null;
    }
    TrackGeometry g = copier.geometry();
    RangeSet<Long> out = null;
    for (long t = g.trackOf(offset); t < g.endTrack(offset, length); t++) {
      RangeSet<Long> mirrored = bitmaps.isMirrored(t) || !bitmaps.inScope(t) ? null
          : mirroredOfSplit.apply(t);
      if (mirrored != null) {
        out = out == null ? TreeRangeSet.create() : out;
        out.addAll(mirrored.subRangeSet(Range.closedOpen(offset, offset + length)));
      }
    }
    return out == null || out.isEmpty() ? null : out;
  }

  /**
   * The bytes of {@code [offset, offset + length)} a synchronous write puts on the secondary too:
   * those of mirrored tracks in the pair's scope (an extent pair never writes its secondary
   * outside its extents, and split tracks keep their image), and of a split track the bytes an
   * extent split left mirrored (outside its split extents; written through whatever the mirror
   * mode, since no copy refreshes a split track before its join). Null when that is the whole
   * range, the common case. Call under the tracks' locks, after {@link #beforeWrite}.
   */
  public RangeSet<Long> secondaryRanges(long offset, long length) {
    TrackGeometry g = copier.geometry();
    long first = g.trackOf(offset);
    long end = g.endTrack(offset, length);
    if (copier.wholeVolume() && bitmaps.allMirrored(first, end)) {
      return null; // the common case: no range arithmetic
    }
    RangeSet<Long> scope = copier.scopeRanges(first, end);
    Range<Long> write = Range.closedOpen(offset, offset + length);
    boolean whole = scope.encloses(write);
    RangeSet<Long> out = TreeRangeSet.create();
    for (long t = first; t < end; t++) {
      if (bitmaps.isMirrored(t)) {
        out.addAll(scope.subRangeSet(Range.closedOpen(g.start(t), g.stop(t))));
      } else {
        whole = false;
        RangeSet<Long> mirrored = mirroredOfSplit == null ? null : mirroredOfSplit.apply(t);
        if (mirrored != null) {
          out.addAll(mirrored);
        }
      }
    }
    return whole ? null : out.subRangeSet(write);
  }
}
