package io.pairkit.core.internal.engine.copy;

import com.google.common.collect.ImmutableRangeSet;
import com.google.common.collect.Range;
import com.google.common.collect.RangeSet;
import com.google.common.collect.TreeRangeSet;
import io.pairkit.api.Extent;
import io.pairkit.api.ExtentSet;
import io.pairkit.core.internal.engine.bitmap.TrackBitmaps;
import io.pairkit.core.internal.engine.track.TrackGeometry;
import io.pairkit.core.internal.engine.track.TrackLocks;
import org.roaringbitmap.longlong.PeekableLongIterator;
import org.roaringbitmap.longlong.Roaring64Bitmap;

/**
 * One running restore (reverse resync) of a pair: copies the secondary's bytes of the restore's
 * extents back to the primary, track by track, in the background and on demand. A host read of
 * the primary restores a track still to restore first; a host write does too and, with durable
 * metadata, waits until the restore of that track is recorded, so a crash never restores a track
 * again that a host wrote after its restore (rule 6 of docs/RELIABILITY.md). Only the bytes the
 * extents cover are copied; a track covered in part keeps its other bytes and stays changed.
 *
 * <p>Per track: <b>to restore</b> (still the primary's old data), then <b>unrecorded</b>
 * (restored, the record not yet written), then done. The secondary is not to be written while a
 * track is in either set ({@link #holds}).
 *
 * <p>Threading: thread-safe. Every track operation runs under that track's primary lock (taken
 * here for background runs, by the caller on the host path).
 */
public final class Restore {

  /** Makes restored tracks durable in the metadata. */
  public interface Recorder {
    /**
     * Records that {@code done} is restored, and that {@code equal} (a subset) now holds the same
     * data on both sides. Returns the record's ticket.
     */
    long restored(Roaring64Bitmap done, Roaring64Bitmap equal);

    void awaitDurable(long ticket);
  }

  /** What a restore's write is to the primary's other pairs: a host write. */
  public interface OtherPairs {
    /**
     * Applies the other pairs' write rules to a write of {@code [offset, offset + length)} of
     * the primary and waits for what must be durable first; the caller holds the track locks.
     */
    void beforeWrite(long offset, long length);

    /**
     * The write landed on the primary: what the other pairs write through to their secondaries
     * (an extent split's mirrored bytes of a split track) follows; the caller holds the locks.
     */
    void afterWrite(long offset, long length);
  }

  private final PairCopier copier;
  private final TrackBitmaps bitmaps;
  private final TrackGeometry geometry;
  private final TrackLocks locks;
  /** The bytes to restore: the request's extents within the pair's scope. */
  private final ImmutableRangeSet<Long> bytes;
  private final Recorder recorder;
  private final OtherPairs others;
  private final long tracks;
  // Guarded by this.
  private final Roaring64Bitmap toRestore;
  private final Roaring64Bitmap unrecorded = new Roaring64Bitmap();
  /** Tracks of the restore that its extents cover only in part: they stay changed. */
  private final Roaring64Bitmap partial = new Roaring64Bitmap();
  private long bytesCopied;

  /**
   * @param extents  the extents asked for (the pair's scope for a restore of all)
   * @param tracks   the tracks to restore (those that differ); kept, do not modify
   * @param recorder null without durable metadata
   */
  public Restore(PairCopier copier, ExtentSet extents, Roaring64Bitmap tracks, Recorder recorder,
      OtherPairs others) {
    this.copier = copier;
    this.bitmaps = copier.bitmaps();
    this.geometry = copier.geometry();
    this.locks = copier.primaryLocks();
    RangeSet<Long> asked = TreeRangeSet.create();
    for (Extent e : extents.extents()) {
      asked.add(Range.closedOpen(e.start(), e.end()));
    }
    this.bytes = ImmutableRangeSet.copyOf(asked);
    this.recorder = recorder;
    this.others = others;
    this.toRestore = tracks;
    this.tracks = tracks.getLongCardinality();
    PeekableLongIterator it = tracks.getLongIterator();
    while (it.hasNext()) {
      long t = it.next();
      RangeSet<Long> scope = copier.scopeRanges(t, t + 1);
      if (!bytes.enclosesAll(scope)) {
        partial.addLong(t);
      }
    }
  }

  /** The tracks the restore started with (a copy). */
  public synchronized Roaring64Bitmap tracks() {
    Roaring64Bitmap all = toRestore.clone();
    all.or(unrecorded);
    return all;
  }

  /** How many tracks the restore started with. */
  public long trackCount() {
    return tracks;
  }

  /** Bytes copied back so far, by background runs and on demand. */
  public synchronized long bytesCopied() {
    return bytesCopied;
  }

  /** Whether the secondary's track {@code t} must not be written: its restore is not done. */
  public synchronized boolean holds(long t) {
    return toRestore.contains(t) || unrecorded.contains(t);
  }

  /** Whether every track is restored and recorded. */
  public synchronized boolean finished() {
    return toRestore.isEmpty() && unrecorded.isEmpty();
  }

  private synchronized boolean due(long t) {
    return toRestore.contains(t);
  }

  private synchronized boolean anyDue(long first, long end) {
    return TrackBitmaps.count(toRestore, first, end) > 0
        || TrackBitmaps.count(unrecorded, first, end) > 0;
  }

  /**
   * A background run over tracks {@code [first, end)}: restores those still due and records them.
   *
   * @throws io.pairkit.api.error.VolumeIOException if a backend fails; tracks not restored stay
   *     due
   */
  public PairCopier.RunResult run(long first, long end) {
    return copier.reverseRun(first, end, () -> {
      try (TrackLocks.Held held = locks.lock(first, end)) {
        long moved = 0;
        long restored = 0;
        for (long t = first; t < end; t++) {
          if (due(t)) {
            moved += restoreLocked(t);
            restored++;
          }
        }
        record(first, end); // no wait: the request's end is recorded after it, in order
        return new PairCopier.RunResult(restored, (end - first) - restored, moved, false);
      }
    });
  }

  /** Before a host read of tracks {@code [first, end)} of the primary; caller holds their locks. */
  public void beforeHostRead(long first, long end) {
    if (!anyDue(first, end)) {
      return;
    }
    for (long t = first; t < end; t++) {
      if (due(t)) {
        restoreLocked(t);
      }
    }
  }

  /**
   * Before a host write to tracks {@code [first, end)} of the primary; caller holds their locks.
   * Restores the tracks still due and, with durable metadata, returns once their restore is
   * recorded: the write then wins over the restore, after a crash too.
   */
  public void beforeHostWrite(long first, long end) {
    if (!anyDue(first, end)) {
      return;
    }
    for (long t = first; t < end; t++) {
      if (due(t)) {
        restoreLocked(t);
      }
    }
    long ticket = record(first, end);
    if (ticket > 0) {
      recorder.awaitDurable(ticket);
    }
  }

  /** Records every restored track not yet recorded; for the end of the restore. */
  public void recordAll() {
    long ticket = record(0, geometry.trackCount());
    if (ticket > 0) {
      recorder.awaitDurable(ticket);
    }
  }

  /** Copies track {@code t}'s bytes of the restore back to the primary; holds its lock. */
  private long restoreLocked(long t) {
    long moved = 0;
    Range<Long> track = Range.closedOpen(geometry.start(t), geometry.stop(t));
    RangeSet<Long> wanted = bytes.subRangeSet(track);
    for (Range<Long> r : copier.scopeRanges(t, t + 1).asRanges()) {
      for (Range<Long> part : wanted.subRangeSet(r).asRanges()) {
        long from = part.lowerEndpoint();
        long to = part.upperEndpoint();
        others.beforeWrite(from, to - from);
        copier.copyBack(from, to);
        others.afterWrite(from, to - from);
        moved += to - from;
      }
    }
    boolean equal;
    synchronized (this) {
      toRestore.removeLong(t);
      bytesCopied += moved;
      equal = !partial.contains(t);
      if (recorder != null) {
        unrecorded.addLong(t);
        return moved;
      }
    }
    if (equal) {
      bitmaps.restored(Roaring64Bitmap.bitmapOf(t));
    }
    return moved;
  }

  /**
   * Records the restored, unrecorded tracks of {@code [first, end)}: the primary is flushed
   * first, so the record never says restored what a crash could lose. Returns the ticket, 0 if
   * there was nothing to record. The caller holds the tracks' locks, or calls at the end when
   * no host write can restore a track any more.
   */
  private long record(long first, long end) {
    if (recorder == null) {
      return 0;
    }
    synchronized (this) {
      if (TrackBitmaps.count(unrecorded, first, end) == 0) {
        return 0;
      }
    }
    copier.primary().flush();
    Roaring64Bitmap done;
    synchronized (this) {
      done = Roaring64Bitmap.and(unrecorded, rangeOf(first, end));
      unrecorded.andNot(done);
    }
    if (done.isEmpty()) {
      return 0;
    }
    Roaring64Bitmap equal = Roaring64Bitmap.andNot(done, partial);
    synchronized (bitmaps) { // the memory and the record change in the same order
      bitmaps.restored(equal);
      return recorder.restored(done, equal);
    }
  }

  private static Roaring64Bitmap rangeOf(long first, long end) {
    Roaring64Bitmap r = new Roaring64Bitmap();
    r.addRange(first, end);
    return r;
  }
}
