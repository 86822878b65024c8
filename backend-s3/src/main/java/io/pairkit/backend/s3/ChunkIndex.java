package io.pairkit.backend.s3;

import java.util.BitSet;
import java.util.Collection;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The entries of one {@link ChunkBuffer} and the set of chunks in the store: the look-up every
 * part of the buffer shares, with what is kept in step with the entries' flags (how many are
 * dirty, how many were fetched ahead and not read yet) and the clock that orders their use. One
 * place, so that a flag and its counter cannot be changed apart.
 *
 * <p>Threading: thread-safe. The map, the clock and the counters are concurrent; a counter
 * changes only under the monitor of the entry whose flag it counts (the methods that take a
 * {@link Chunk} expect the caller to hold its monitor), except {@link #reservePrefetch} and
 * {@link #releasePrefetch}, which count a read-ahead entry before it exists or once it was not
 * made. The stored set is guarded by its own monitor, taken last (often under an entry's
 * monitor); nothing is taken while holding it.
 */
final class ChunkIndex {
  private final long size;
  private final int chunkSize;
  private final ConcurrentHashMap<Long, Chunk> chunks = new ConcurrentHashMap<>();
  /** Chunks that exist in the store (as far as this volume knows; it is the only writer). */
  private final BitSet stored;
  private final AtomicLong clock = new AtomicLong();
  /** Entries that are dirty (version not stored); changed under the entry's monitor. */
  private final AtomicInteger dirty = new AtomicInteger();
  /** Entries made by read-ahead and not read or written yet; changed under the monitor. */
  private final AtomicInteger prefetched = new AtomicInteger();

  ChunkIndex(long size, int chunkSize, BitSet stored) {
    this.size = size;
    this.chunkSize = chunkSize;
    this.stored = stored;
  }

  Chunk get(long index) {
    return chunks.get(index);
  }

  boolean contains(long index) {
    return chunks.containsKey(index);
  }

  Collection<Chunk> values() {
    return chunks.values();
  }

  /** Publishes {@code c} as chunk {@code index}'s entry; returns the one already there, or null. */
  Chunk putIfAbsent(long index, Chunk c) {
    return chunks.putIfAbsent(index, c);
  }

  void remove(long index, Chunk c) {
    chunks.remove(index, c);
  }

  /** The next instant on the use clock. */
  long tick() {
    return clock.incrementAndGet();
  }

  int lengthOf(long index) {
    return (int) Math.min(chunkSize, size - index * chunkSize);
  }

  boolean isStored(long index) {
    synchronized (stored) {
      return stored.get((int) index);
    }
  }

  void setStored(long index, boolean value) {
    synchronized (stored) {
      stored.set((int) index, value);
    }
  }

  /** A new version of {@code c}; the caller holds its monitor. */
  void changed(Chunk c) {
    if (!c.dirty()) {
      c.dirtySince = System.nanoTime();
      dirty.incrementAndGet();
    }
    c.version++;
    // written: no longer a read-ahead entry waiting for its reader
    noLongerPrefetched(c);
  }

  /** Version {@code version} of {@code c} is stored; the caller holds its monitor. */
  void storedVersion(Chunk c, long version) {
    boolean wasDirty = c.dirty();
    c.storedVersion = Math.max(c.storedVersion, version);
    if (wasDirty && !c.dirty()) {
      dirty.decrementAndGet();
    }
  }

  /** Entries that are dirty. */
  int dirty() {
    return dirty.get();
  }

  /** {@code c} is no read-ahead entry waiting for its reader (any more); holding its monitor. */
  void noLongerPrefetched(Chunk c) {
    if (c.prefetched) {
      c.prefetched = false;
      prefetched.decrementAndGet();
    }
  }

  /** Counts one more read-ahead entry, unless {@code max} are counted already. */
  boolean reservePrefetch(int max) {
    for (;;) {
      int n = prefetched.get();
      if (n >= max) {
        return false;
      }
      if (prefetched.compareAndSet(n, n + 1)) {
        return true;
      }
    }
  }

  /** Takes back a {@link #reservePrefetch} whose entry was not made. */
  void releasePrefetch() {
    prefetched.decrementAndGet();
  }

  /** Entries fetched ahead and not read yet. */
  int prefetchedUnread() {
    return prefetched.get();
  }
}
