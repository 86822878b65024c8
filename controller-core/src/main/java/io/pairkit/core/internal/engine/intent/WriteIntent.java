package io.pairkit.core.internal.engine.intent;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * One pair's write-intent regions in memory. A region is {@code 2^shift} consecutive tracks. Per
 * region, three kinds of bits, each a lock-free bit set:
 * <ul>
 *   <li><b>durably dirty</b>: the metadata durably says the region may differ, so a host write
 *       there waits for nothing. Set once a dirty mark is known synced; cleared only by a
 *       cleaning round that holds the region's track locks;</li>
 *   <li><b>written</b> in the current or the previous round: a region is cleaned only after a
 *       whole round without writes (md clears a bit only after its chunk was idle);</li>
 *   <li><b>unsettled</b>: a synchronous mirror write landed on both volumes and no flush of
 *       both has covered it yet; such a write leaves no pending bit, so until then only the
 *       region's intent covers it. Kept as the settle epoch each region was last written in: a
 *       writer reads the epoch after its I/O completed, and a round moves to the next epoch
 *       before it flushes, so the flush covers every write marked with an older epoch.</li>
 * </ul>
 *
 * <p>Threading: thread-safe. Marking costs an atomic read, and an atomic update only when the bit
 * is not set yet; a round swaps the generations.
 */
public final class WriteIntent {
  private final int shift;
  private final long regions;
  private final AtomicLongArray durablyDirty;
  private volatile AtomicLongArray written;
  private volatile AtomicLongArray writtenBefore;
  /** Region -> the settle epoch of its last synchronous write not yet covered by a flush. */
  private final ConcurrentHashMap<Long, Long> unsettled = new ConcurrentHashMap<>();
  private final AtomicLong epoch = new AtomicLong();

  /**
   * @param trackCount        tracks of the volume
   * @param tracksPerRegion   tracks per region, a power of two
   */
  public WriteIntent(long trackCount, long tracksPerRegion) {
    if (tracksPerRegion < 1 || Long.bitCount(tracksPerRegion) != 1) {
      throw new IllegalArgumentException("tracks per region " + tracksPerRegion
          + " is not a power of two");
    }
    this.shift = Long.numberOfTrailingZeros(tracksPerRegion);
    this.regions = Math.max(1, (trackCount + tracksPerRegion - 1) >>> shift);
    this.durablyDirty = newBits();
    this.written = newBits();
    this.writtenBefore = newBits();
  }

  private AtomicLongArray newBits() {
    return new AtomicLongArray(Math.toIntExact((regions + 63) >>> 6));
  }

  private static boolean get(AtomicLongArray bits, long r) {
    return (bits.get((int) (r >>> 6)) & (1L << r)) != 0;
  }

  private static void set(AtomicLongArray bits, long r) {
    int i = (int) (r >>> 6);
    long bit = 1L << r;
    long v = bits.get(i);
    while ((v & bit) == 0 && !bits.compareAndSet(i, v, v | bit)) {
      v = bits.get(i);
    }
  }

  private static void clear(AtomicLongArray bits, long r) {
    int i = (int) (r >>> 6);
    long bit = 1L << r;
    long v = bits.get(i);
    while ((v & bit) != 0 && !bits.compareAndSet(i, v, v & ~bit)) {
      v = bits.get(i);
    }
  }

  /** The region of track {@code t}. */
  public long regionOf(long t) {
    return t >>> shift;
  }

  /** The first track of region {@code r}. */
  public long firstTrack(long r) {
    return r << shift;
  }

  /** One past the last track of region {@code r} (not clipped to the volume). */
  public long endTrack(long r) {
    return (r + 1) << shift;
  }

  public long tracksPerRegion() {
    return 1L << shift;
  }

  public long regionCount() {
    return regions;
  }

  /** A host write is under way in region {@code r}: it is not quiet this round. */
  public void written(long r) {
    set(written, r);
  }

  /** Whether region {@code r} was written in this round or the one before. */
  public boolean writtenLately(long r) {
    return get(written, r) || get(writtenBefore, r);
  }

  /** Whether the metadata durably says region {@code r} is dirty. */
  public boolean durablyDirty(long r) {
    return get(durablyDirty, r);
  }

  /** The metadata's dirty mark of region {@code r} is durable. */
  public void markDurablyDirty(long r) {
    set(durablyDirty, r);
  }

  /** Region {@code r} is recorded exact again (the caller holds its track locks). */
  public void clearDurablyDirty(long r) {
    clear(durablyDirty, r);
  }

  /**
   * A synchronous mirror write landed on both volumes in region {@code r}; call after its I/O
   * completed (so the epoch read here tells which flushes cover it).
   */
  public void syncWritten(long r) {
    long e = epoch.get();
    Long old = unsettled.get(r);
    if (old == null || old != e) {
      unsettled.put(r, e);
    }
  }

  /** Whether region {@code r} took a synchronous mirror write that no flush covered yet. */
  public boolean unsettled(long r) {
    return unsettled.containsKey(r);
  }

  /** The regions with synchronous writes no flush covered yet (a snapshot). */
  public java.util.List<Long> unsettledRegions() {
    return new java.util.ArrayList<>(unsettled.keySet());
  }

  /** Whether any synchronous write is waiting for a flush. */
  public boolean anyUnsettled() {
    return !unsettled.isEmpty();
  }

  /** Starts a lazy round: the writes seen so far become the previous generation. */
  public void beginRound() {
    AtomicLongArray oldest = writtenBefore;
    writtenBefore = written;
    for (int i = 0; i < oldest.length(); i++) {
      oldest.set(i, 0);
    }
    written = oldest;
  }

  /**
   * Moves the settle epoch on; returns the epoch that a flush of both volumes, started after
   * this, settles.
   */
  public long nextEpoch() {
    return epoch.getAndIncrement();
  }

  /**
   * Both volumes were flushed after the {@link #nextEpoch} that returned {@code settledEpoch}:
   * the synchronous writes marked with it or earlier are durable.
   */
  public void settled(long settledEpoch) {
    unsettled.values().removeIf(e -> e <= settledEpoch); // a newer mark of a region stays
  }
}
