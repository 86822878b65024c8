package io.pairkit.core.internal.engine.copy;

import com.google.common.collect.ImmutableRangeSet;
import com.google.common.collect.Range;
import com.google.common.collect.RangeSet;
import com.google.common.collect.TreeRangeSet;
import io.pairkit.api.Extent;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.spi.RateSchedule;
import io.pairkit.core.internal.engine.bitmap.TrackBitmaps;
import io.pairkit.core.internal.engine.track.TrackGeometry;
import io.pairkit.core.internal.engine.track.TrackLocks;
import io.pairkit.core.internal.engine.volume.BackendVolume;
import java.nio.ByteBuffer;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Moves one pair's tracks from primary to secondary: the copy engine shared by request jobs, the
 * mirror, copy-on-write and secondary base copies. Copies only the pair's scope bytes of a track
 * (an extent pair never writes its secondary outside its extents), coalesces consecutive tracks
 * into one read and one write, and on a thin primary skips what is unallocated there, discarding
 * it on the secondary instead of writing zeros.
 *
 * <p>Threading: thread-safe. {@link #copyLocked} runs under the caller's track locks; a background
 * {@link #copyRun} takes them itself, after the {@link Pacer} let it go. {@link #stop()} waits out
 * background copies in flight; none starts after it.
 */
public final class PairCopier {
  /** Buffers are 4 KiB-aligned direct memory, enough for O_DIRECT backends. */
  private static final int BUFFER_ALIGNMENT = 4096;
  private static final ThreadLocal<ByteBuffer> BUFFERS = new ThreadLocal<>();

  private final BackendVolume primary;
  private final BackendVolume secondary;
  final TrackGeometry geometry;
  private final ImmutableRangeSet<Long> scopeBytes; // null: the whole volume
  final TrackBitmaps bitmaps;
  final TrackLocks primaryLocks;
  final Pacer pacer;
  final CopyCounters counters = new CopyCounters();
  private final int runTracks;
  private final int concurrency;
  private final boolean thinPrimary;
  /** Background copies hold it shared; {@link #stop()} takes it exclusive to wait them out. */
  private final ReentrantReadWriteLock gate = new ReentrantReadWriteLock();
  private volatile boolean stopped;
  /** This pair's own cap on its background copies; sources ask it before handing out a run. */
  public final RateSchedule pace = new RateSchedule(0);
  /** Suspended by request: runs copy nothing ({@link #hold}). */
  private volatile boolean held;

  public PairCopier(BackendVolume primary, BackendVolume secondary, TrackGeometry geometry,
      ExtentSet scope, boolean wholeVolume, TrackBitmaps bitmaps, TrackLocks primaryLocks,
      Pacer pacer) {
    this.primary = primary;
    this.secondary = secondary;
    this.geometry = geometry;
    this.bitmaps = bitmaps;
    this.primaryLocks = primaryLocks;
    this.pacer = pacer;
    if (wholeVolume) {
      this.scopeBytes = null;
    } else {
      RangeSet<Long> bytes = TreeRangeSet.create();
      for (Extent e : scope.extents()) {
        bytes.add(Range.closedOpen(e.start(), e.end()));
      }
      this.scopeBytes = ImmutableRangeSet.copyOf(bytes);
    }
    int preferred = Math.max(primary.capabilities().preferredIoSize(),
        secondary.capabilities().preferredIoSize());
    this.runTracks = (int) Math.max(1, Math.min(pacer.maxTracksInFlight(),
        preferred / geometry.trackSize()));
    this.concurrency = Math.min(primary.capabilities().concurrency(),
        secondary.capabilities().concurrency());
    this.thinPrimary = primary.capabilities().thin();
  }

  /** Whether the pair covers the whole volume (no extent arithmetic needed). */
  public boolean wholeVolume() {
    return scopeBytes == null;
  }

  /** Tracks per background copy I/O: the volumes' preferred I/O size in whole tracks. */
  public int runTracks() {
    return runTracks;
  }

  /** The bytes of a whole run, what a source charges its pair's pace before handing one out. */
  public long runBytes() {
    return (long) runTracks * geometry.trackSize();
  }

  /** Copy I/Os worth keeping in flight: the lesser of the two volumes' concurrency. */
  public int concurrency() {
    return concurrency;
  }

  public BackendVolume primary() {
    return primary;
  }

  public BackendVolume secondary() {
    return secondary;
  }

  /**
   * Rule 2 on the host I/O path: before a frozen track of {@code [first, end)} that a background
   * copy put on the secondary is marked changed (which records its pending bit cleared, before the
   * lazy clear would have flushed the copy), the secondary is flushed, so the point-in-time copy
   * is durable before the record says so. At most one flush per call, and only while the journal
   * still records a copied track pending. The caller holds the tracks' locks.
   */
  public void makeFrozenCopiesDurable(long first, long end) {
    if (!bitmaps.journal().durable()) {
      return;
    }
    for (long t = first; t < end; t++) {
      if (bitmaps.isFrozenCopied(t) && bitmaps.journal().pendingRecorded(t)) {
        secondary.flush();
        return;
      }
    }
  }

  public TrackGeometry geometry() {
    return geometry;
  }

  public CopyCounters counters() {
    return counters;
  }

  public TrackBitmaps bitmaps() {
    return bitmaps;
  }

  /**
   * Whether a copy run may grow over a hole of the primary: both volumes are thin, so the hole
   * costs an allocation query and a discard, not a write of zeros (on a thick secondary a hole is
   * zeroed run by run, paced like a copy).
   */
  boolean skipsHoles() {
    return thinPrimary && secondary.capabilities().thin();
  }

  /**
   * Copies the scope bytes of tracks {@code [first, end)}; the caller holds their locks. Returns
   * the bytes copied. Does not touch the bitmaps.
   */
  public long copyLocked(long first, long end) {
    long bytes = 0;
    for (Range<Long> r : scopeRanges(first, end).asRanges()) {
      copyBytes(r.lowerEndpoint(), r.upperEndpoint());
      bytes += r.upperEndpoint() - r.lowerEndpoint();
    }
    return bytes;
  }

  /** What one background copy run did. */
  public record RunResult(long copiedTracks, long skippedTracks, long bytes, boolean stopped) {
    static final RunResult STOPPED = new RunResult(0, 0, 0, true);
    static final RunResult HELD = new RunResult(0, 0, 0, false);
  }

  /**
   * A background copy of tracks {@code [first, end)}: waits for the pacer, locks the tracks,
   * copies those still pending (only mirrored ones if {@code mirrorOnly}) and clears their bits.
   * Returns {@link RunResult#STOPPED} if the pair stopped.
   *
   * @throws io.pairkit.api.error.VolumeIOException if a backend fails; the tracks whose copy
   *     failed, and those after them in the run, keep their bits (stretches of the run copied
   *     before the failure are cleared)
   */
  public RunResult copyRun(long first, long end, boolean mirrorOnly) {
    long planned = Math.min(geometry.bytes(first, end), (long) runTracks * geometry.trackSize());
    int permits = pacer.begin(end - first, planned, this::stopped);
    long moved = 0;
    long zeroed = 0; // bytes a thick secondary had to be written with zeros
    gate.readLock().lock();
    try {
      if (stopped) {
        return RunResult.STOPPED;
      }
      if (held) {
        return RunResult.HELD;
      }
      long copiedTracks = 0;
      long skippedTracks = 0;
      try (TrackLocks.Held held = primaryLocks.lock(first, end)) {
        long[] runs = bitmaps.pendingRuns(first, end, mirrorOnly);
        if (runs.length > 0) {
          // The data about to be copied may be guarded by bits not yet durable (the host write
          // returned before its record was synced, with a write-back cache): they come first.
          bitmaps.journal().awaitAllAppended();
        }
        for (int i = 0; i < runs.length; i += 2) {
          long a = runs[i];
          long b = runs[i + 1];
          RangeSet<Long> wanted = scopeRanges(a, b);
          if (mirrorOnly) { // what host writes changed since the last copy, when known
            int[][] parts = bitmaps.mirrorParts(a, b);
            if (parts != null) {
              wanted = onlyParts(wanted, a, b, parts);
            }
          }
          RangeSet<Long> data = wanted;
          if (thinPrimary) {
            data = TreeRangeSet.create(wanted);
            data.removeAll(holes(a, b));
          }
          long touched = 0;
          long lastTrack = -1;
          for (Range<Long> r : data.asRanges()) {
            copyBytes(r.lowerEndpoint(), r.upperEndpoint());
            moved += r.upperEndpoint() - r.lowerEndpoint();
            long t0 = Math.max(geometry.trackOf(r.lowerEndpoint()), lastTrack + 1);
            long t1 = geometry.endTrack(r.lowerEndpoint(),
                r.upperEndpoint() - r.lowerEndpoint());
            touched += Math.max(0, t1 - t0);
            lastTrack = t1 - 1;
          }
          if (data != wanted) {
            RangeSet<Long> zeros = TreeRangeSet.create(wanted);
            zeros.removeAll(data);
            zeroed += discardOnSecondary(zeros);
          }
          bitmaps.copied(a, b);
          copiedTracks += touched;
          skippedTracks += (b - a) - touched;
        }
      }
      (mirrorOnly ? counters.mirror : counters.job).addAndGet(copiedTracks);
      counters.skipped.addAndGet(skippedTracks);
      return new RunResult(copiedTracks, skippedTracks, moved, false);
    } finally {
      gate.readLock().unlock();
      pacer.end(permits);
      pacer.charge(moved + zeroed - planned);
      pace.refund(runBytes() - moved - zeroed); // its source charged a whole run
    }
  }

  /**
   * A background run of {@code work} over tracks {@code [first, end)} that copies in the other
   * direction (a restore's): paced and gated like {@link #copyRun}, so {@link #stop()} waits it
   * out. {@code work} takes the track locks itself and returns what it did.
   */
  public RunResult reverseRun(long first, long end, java.util.function.Supplier<RunResult> work) {
    long planned = Math.min(geometry.bytes(first, end), (long) runTracks * geometry.trackSize());
    int permits = pacer.begin(end - first, planned, this::stopped);
    long moved = 0;
    gate.readLock().lock();
    try {
      if (stopped) {
        return RunResult.STOPPED;
      }
      RunResult r = work.get();
      moved = r.bytes();
      counters.job.addAndGet(r.copiedTracks());
      return r;
    } finally {
      gate.readLock().unlock();
      pacer.end(permits);
      pacer.charge(moved - planned);
      pace.refund(runBytes() - moved);
    }
  }

  /**
   * Copies bytes {@code [start, stop)} primary to secondary, exactly those; the caller holds the
   * tracks' locks. Does not touch the bitmaps.
   */
  public void copyRange(long start, long stop) {
    copyBytes(start, stop);
  }

  /**
   * Copies bytes {@code [start, stop)} from the secondary back to the primary (a restore); the
   * caller holds the tracks' locks. Does not touch the bitmaps.
   */
  public void copyBack(long start, long stop) {
    transfer(secondary, primary, start, stop);
  }

  /** The primary's per-track locks, which every copy and host write of the pair takes. */
  public TrackLocks primaryLocks() {
    return primaryLocks;
  }

  /**
   * {@code wanted} cut down to the written parts of tracks {@code [a, b)} ({@code parts[i]}:
   * offsets within track {@code a + i}, null for all of it).
   */
  private RangeSet<Long> onlyParts(RangeSet<Long> wanted, long a, long b, int[][] parts) {
    RangeSet<Long> written = TreeRangeSet.create();
    for (long t = a; t < b; t++) {
      long start = geometry.start(t);
      int[] p = parts[(int) (t - a)];
      if (p == null) {
        written.add(Range.closedOpen(start, geometry.stop(t)));
      } else {
        for (int k = 0; k < p.length; k += 2) {
          written.add(Range.closedOpen(start + p[k], Math.min(start + p[k + 1],
              geometry.stop(t))));
        }
      }
    }
    RangeSet<Long> out = TreeRangeSet.create();
    for (Range<Long> r : written.asRanges()) {
      out.addAll(wanted.subRangeSet(r));
    }
    return out;
  }

  /** The byte ranges of tracks {@code [a, b)} that the primary reports unallocated. */
  private RangeSet<Long> holes(long a, long b) {
    long start = geometry.start(a);
    long stop = geometry.stop(b - 1);
    RangeSet<Long> holes = TreeRangeSet.create();
    holes.add(Range.closedOpen(start, stop));
    for (Extent e : primary.allocated(start, stop - start).extents()) {
      holes.remove(Range.closedOpen(e.start(), e.end()));
    }
    return holes;
  }

  /**
   * Makes {@code zeros} read as zeros on the secondary, touching only what it may hold; returns
   * the bytes a thick secondary had written with zeros (they cost like a copy).
   */
  private long discardOnSecondary(RangeSet<Long> zeros) {
    long written = 0;
    for (Range<Long> r : zeros.asRanges()) {
      long from = r.lowerEndpoint();
      long length = r.upperEndpoint() - from;
      if (secondary.capabilities().thin()) {
        for (Extent e : secondary.allocated(from, length).extents()) {
          secondary.discard(e.start(), e.length());
        }
      } else {
        secondary.discard(from, length);
        written += length;
      }
    }
    return written;
  }

  /** How far a hole at {@code offset} reaches on the primary (at most {@code limit} bytes on). */
  long holeEnd(long offset, long limit) {
    if (!skipsHoles()) {
      return offset;
    }
    long length = Math.min(limit, geometry.volumeSize() - offset);
    ExtentSet allocated = primary.allocated(offset, length);
    return allocated.isEmpty() ? offset + length : allocated.start();
  }

  /** The pair's scope bytes within tracks {@code [first, end)}. */
  public RangeSet<Long> scopeRanges(long first, long end) {
    Range<Long> tracks = Range.closedOpen(geometry.start(first), geometry.stop(end - 1));
    if (scopeBytes == null) {
      RangeSet<Long> all = TreeRangeSet.create();
      all.add(tracks);
      return all;
    }
    return scopeBytes.subRangeSet(tracks);
  }

  /** Copies bytes {@code [start, stop)} primary to secondary through this thread's buffer. */
  private void copyBytes(long start, long stop) {
    transfer(primary, secondary, start, stop);
  }

  /** Copies bytes {@code [start, stop)} from one volume to the other, a run at a time. */
  private void transfer(BackendVolume from, BackendVolume to, long start, long stop) {
    int chunkLimit = runTracks * geometry.trackSize();
    for (long pos = start; pos < stop; ) {
      int n = (int) Math.min(chunkLimit, stop - pos);
      ByteBuffer buf = buffer(n);
      from.read(pos, buf);
      buf.flip();
      to.write(pos, buf);
      pos += n;
    }
  }

  private static ByteBuffer buffer(int size) {
    ByteBuffer b = BUFFERS.get();
    if (b == null || b.capacity() < size) {
      // Round up, so the aligned slice (which may lose up to one alignment unit) still fits.
      int rounded = (size + BUFFER_ALIGNMENT - 1) / BUFFER_ALIGNMENT * BUFFER_ALIGNMENT;
      b = ByteBuffer.allocateDirect(rounded + BUFFER_ALIGNMENT).alignedSlice(BUFFER_ALIGNMENT);
      BUFFERS.set(b);
    }
    b.clear().limit(size);
    return b;
  }

  /** Whether {@link #stop()} was called. */
  public boolean stopped() {
    return stopped;
  }

  /**
   * Holds background copies back (the pair is suspended by request: a run that starts copies
   * nothing and leaves its bits) or lets them go again; see {@link #awaitRunsInFlight()}.
   */
  public void hold(boolean hold) {
    held = hold;
  }

  /** Returns once no run that started before this call is still copying. */
  public void awaitRunsInFlight() {
    gate.writeLock().lock();
    gate.writeLock().unlock();
  }

  /** No background copy starts after this returns, and none is still running. */
  public void stop() {
    stopped = true;
    pacer.wakeWaiters();
    awaitRunsInFlight();
  }
}
