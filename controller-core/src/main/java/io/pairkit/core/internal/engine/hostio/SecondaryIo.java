package io.pairkit.core.internal.engine.hostio;

import com.google.common.collect.Range;
import com.google.common.collect.RangeSet;
import com.google.common.collect.TreeRangeSet;
import io.pairkit.core.internal.engine.bitmap.BitmapJournal;
import io.pairkit.core.internal.engine.bitmap.Tickets;
import io.pairkit.core.internal.engine.bitmap.TrackBitmaps;
import io.pairkit.core.internal.engine.copy.PairCopier;
import io.pairkit.core.internal.engine.track.TrackGeometry;
import io.pairkit.core.internal.engine.track.TrackLocks;
import io.pairkit.core.internal.engine.volume.BackendVolume;
import java.nio.ByteBuffer;
import java.util.function.LongFunction;

/**
 * Host I/O on a pair's secondary. Reads of frozen tracks not yet copied are redirected to the
 * primary, which still holds their point-in-time data (so the secondary reads as its split image
 * from the split instant on). Writes and discards are refused on mirrored tracks and on the
 * mirrored bytes of a split track (an extent split's boundary track); on frozen ones
 * the secondary first gets its point-in-time base where the write covers a track only in part
 * (a base copy), then the track is marked changed so the next update, join or resync copies it
 * back.
 *
 * <p>Threading: the caller holds the secondary's barrier shared; this takes the primary's track
 * locks.
 */
public final class SecondaryIo {
  private final PairCopier copier;
  private final TrackBitmaps bitmaps;
  private final TrackGeometry geometry;
  private final TrackLocks primaryLocks;
  private final BackendVolume primary;
  private final BackendVolume secondary;
  private final LongFunction<RuntimeException> refusal;
  private final java.util.function.LongPredicate restoring;
  private final BitmapJournal journal;
  private final LongFunction<RangeSet<Long>> mirroredOfSplit;

  /**
   * @param refusal   the error for a write that touches mirrored track {@code t}, or one a
   *                  restore holds
   * @param restoring whether a running restore still copies track {@code t} back to the
   *                  primary (the secondary must not change there meanwhile)
   */
  public SecondaryIo(PairCopier copier, TrackLocks primaryLocks,
      LongFunction<RuntimeException> refusal, java.util.function.LongPredicate restoring) {
    this(copier, primaryLocks, refusal, restoring, null);
  }

  /**
   * @param mirroredOfSplit the bytes of split track {@code t} that stay mirrored (null if none),
   *                        which a write must not touch either; null if split tracks freeze
   *                        whole
   */
  public SecondaryIo(PairCopier copier, TrackLocks primaryLocks,
      LongFunction<RuntimeException> refusal, java.util.function.LongPredicate restoring,
      LongFunction<RangeSet<Long>> mirroredOfSplit) {
    this.mirroredOfSplit = mirroredOfSplit;
    this.restoring = restoring;
    this.copier = copier;
    this.bitmaps = copier.bitmaps();
    this.geometry = copier.geometry();
    this.primaryLocks = primaryLocks;
    this.primary = copier.primary();
    this.secondary = copier.secondary();
    this.refusal = refusal;
    this.journal = bitmaps.journal();
  }

  /** Reads {@code dst.remaining()} bytes at {@code offset} as the secondary's logical image. */
  public void read(long offset, ByteBuffer dst) {
    int length = dst.remaining();
    int base = dst.position();
    long stop = offset + length;
    long first = geometry.trackOf(offset);
    long end = geometry.endTrack(offset, length);
    try (TrackLocks.Held held = primaryLocks.lock(first, end)) {
      RangeSet<Long> fromPrimary = TreeRangeSet.create();
      for (long t = first; t < end; t++) {
        if (bitmaps.isFrozenPending(t)) {
          Range<Long> wanted = Range.closedOpen(Math.max(offset, geometry.start(t)),
              Math.min(stop, geometry.stop(t)));
          fromPrimary.addAll(copier.scopeRanges(t, t + 1).subRangeSet(wanted));
        }
      }
      long pos = offset;
      for (Range<Long> r : fromPrimary.asRanges()) {
        readInto(secondary, pos, r.lowerEndpoint(), offset, base, dst);
        readInto(primary, r.lowerEndpoint(), r.upperEndpoint(), offset, base, dst);
        pos = r.upperEndpoint();
      }
      readInto(secondary, pos, stop, offset, base, dst);
    }
    dst.limit(base + length).position(base + length);
  }

  private static void readInto(BackendVolume source, long from, long to, long offset, int base,
      ByteBuffer dst) {
    if (to <= from) {
      return;
    }
    ByteBuffer slice = dst.duplicate();
    slice.limit(base + (int) (to - offset)).position(base + (int) (from - offset));
    source.read(from, slice);
  }

  /** Writes {@code src} at {@code offset}; refused if it touches a mirrored track. */
  public void write(long offset, ByteBuffer src) {
    int length = src.remaining();
    modify(offset, length, () -> secondary.write(offset, src));
  }

  /** Discards {@code [offset, offset + length)}; refused if it touches a mirrored track. */
  public void discard(long offset, long length) {
    modify(offset, length, () -> secondary.discard(offset, length));
  }

  /**
   * The write rule for the secondary. Frozen tracks that already hold their point-in-time copy
   * are marked changed first (the mark is durable before the data may land, rule 1). Tracks still
   * waiting for theirs get their base copy where the write covers them only in part, the write
   * lands, and only then, once it is durable, are they marked: until then the metadata still says
   * "copy the point in time here", so a crash gives the old image, never stale bytes.
   */
  private void modify(long offset, long length, Runnable io) {
    long first = geometry.trackOf(offset);
    long end = geometry.endTrack(offset, length);
    try (TrackLocks.Held held = primaryLocks.lock(first, end)) {
      Range<Long> write = Range.closedOpen(offset, offset + length);
      for (long t = first; t < end; t++) {
        if (bitmaps.isMirrored(t) || restoring.test(t)) {
          throw refusal.apply(t);
        }
        RangeSet<Long> mirrored = mirroredOfSplit == null ? null : mirroredOfSplit.apply(t);
        if (mirrored != null && mirrored.intersects(write)) {
          throw refusal.apply(t);
        }
      }
      copier.makeFrozenCopiesDurable(first, end); // rule 2: a copy is durable before "changed"
      Tickets before = new Tickets();
      long waitingFrom = -1;
      long waiting = 0;
      for (long t = first; t < end; t++) {
        if (!bitmaps.inScope(t)) {
          continue;
        }
        if (bitmaps.isFrozenPending(t)) {
          if (!geometry.covers(offset, length, t)) {
            copier.copyLocked(t, t + 1);
            copier.counters().countSecondaryBase();
          }
          waiting++;
          waitingFrom = waitingFrom < 0 ? t : waitingFrom;
        } else {
          bitmaps.copiedThenWritten(t, before);
        }
      }
      journal.awaitDurable(before.max());
      io.run();
      if (waiting > 0) {
        if (journal.durable()) {
          secondary.flush(); // the base and the write are durable before the mark says so
        }
        Tickets after = new Tickets();
        for (long t = waitingFrom; t < end; t++) {
          if (bitmaps.isFrozenPending(t)) {
            bitmaps.copiedThenWritten(t, after);
          }
        }
        journal.awaitDurable(after.max());
      }
    }
  }
}
