package io.pairkit.testkit;

import io.pairkit.api.Extent;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.error.AlreadyClosedException;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.Volumes;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A disk with a volatile write cache in front of a durable medium (any other volume): writes and
 * discards complete into the cache, {@link #flush} moves them to the medium, and
 * {@link #powerCut(Random)} loses them, in whole or per 4 KiB block, as a power failure would. A
 * test that forgets a backend flush (under a write-back track cache, say) then sees old data after
 * {@link #reopen}.
 *
 * <p>Threading: every method is thread-safe; calls on disjoint ranges do not interfere. Reads see
 * the cache over the medium. An orderly {@link #close} destages the cache to the medium, as a disk
 * drains its cache on a clean shutdown (it does not flush the medium). After close or a power cut,
 * I/O throws {@link AlreadyClosedException}.
 */
public final class VolatileCacheVolume extends ForwardingVolume {
  /** Granule in which unflushed data is kept and lost. */
  public static final int BLOCK_SIZE = 4096;
  private static final int STRIPES = 64;

  /** Unflushed content of one block: its whole new content (zeros after a discard). */
  private static final class Dirty {
    final byte[] data;
    /** The whole block was discarded and not written since: the medium may free it. */
    volatile boolean discarded;

    Dirty(byte[] data) {
      this.data = data;
    }
  }

  private final Callable<? extends Volume> reopenMedium;
  private final Map<Long, Dirty> dirty = new ConcurrentHashMap<>();
  private final ReentrantLock[] stripes = new ReentrantLock[STRIPES];
  private volatile boolean closed;

  /** A cache in front of a memory volume; {@link #reopen} reopens that memory. */
  public VolatileCacheVolume(MemoryVolume medium) {
    this(medium, medium::reopen);
  }

  /**
   * A cache in front of {@code medium}; {@link #reopen} calls {@code reopenMedium} for a new open
   * medium over the same store (after this one was closed or lost power).
   */
  public VolatileCacheVolume(Volume medium, Callable<? extends Volume> reopenMedium) {
    super(medium);
    this.reopenMedium = Objects.requireNonNull(reopenMedium, "reopenMedium");
    for (int i = 0; i < STRIPES; i++) {
      stripes[i] = new ReentrantLock();
    }
  }

  /**
   * A new volume (with an empty cache) over the same medium, as powering a disk back on gives.
   *
   * @throws IllegalStateException if this one is still open: close it or cut its power first
   */
  public VolatileCacheVolume reopen() throws Exception {
    if (!closed) {
      throw new IllegalStateException("volume '" + name() + "' is still open: close() or "
          + "powerCut(...) it before reopen()");
    }
    return new VolatileCacheVolume(reopenMedium.call(), reopenMedium);
  }

  /** Number of blocks written or discarded since they were last flushed. */
  public int unflushedBlocks() {
    return dirty.size();
  }

  /** {@link #powerCut(Random, double)} where each unflushed block survives with probability 1/2. */
  public int powerCut(Random random) throws IOException {
    return powerCut(random, 0.5);
  }

  /**
   * Power fails: each unflushed block reaches the medium with probability {@code survival} (drawn
   * from {@code random} in ascending block order, so a seed replays the same loss), the rest is
   * lost; then this volume and its medium are closed. Call it with no I/O in flight.
   *
   * @return the number of unflushed blocks that survived
   */
  public int powerCut(Random random, double survival) throws IOException {
    checkOpen();
    closed = true;
    int kept = 0;
    try {
      for (long block : new TreeSet<>(dirty.keySet())) {
        if (random.nextDouble() < survival) {
          destage(block, dirty.get(block));
          kept++;
        }
      }
    } finally {
      dirty.clear();
      super.close();
    }
    return kept;
  }

  @Override
  public void read(long offset, ByteBuffer dst) throws IOException {
    checkOpen();
    Volumes.checkRange(name(), size(), offset, dst.remaining());
    long pos = offset;
    while (dst.hasRemaining()) {
      long block = pos / BLOCK_SIZE;
      int inBlock = (int) (pos % BLOCK_SIZE);
      int n = Math.min(dst.remaining(), BLOCK_SIZE - inBlock);
      ReentrantLock lock = lock(block);
      lock.lock();
      try {
        Dirty d = dirty.get(block);
        if (d != null) {
          dst.put(d.data, inBlock, n);
        } else {
          super.read(pos, dst.slice().limit(n));
          dst.position(dst.position() + n);
        }
      } finally {
        lock.unlock();
      }
      pos += n;
    }
  }

  @Override
  public void write(long offset, ByteBuffer src) throws IOException {
    checkOpen();
    Volumes.checkRange(name(), size(), offset, src.remaining());
    long pos = offset;
    while (src.hasRemaining()) {
      long block = pos / BLOCK_SIZE;
      int inBlock = (int) (pos % BLOCK_SIZE);
      int n = Math.min(src.remaining(), BLOCK_SIZE - inBlock);
      ReentrantLock lock = lock(block);
      lock.lock();
      try {
        Dirty d = dirtyBlock(block);
        src.get(d.data, inBlock, n);
        d.discarded = false;
      } finally {
        lock.unlock();
      }
      pos += n;
    }
  }

  @Override
  public void discard(long offset, long length) throws IOException {
    checkOpen();
    Volumes.checkRange(name(), size(), offset, length);
    long pos = offset;
    long end = offset + length;
    while (pos < end) {
      long block = pos / BLOCK_SIZE;
      int inBlock = (int) (pos % BLOCK_SIZE);
      int n = (int) Math.min(end - pos, BLOCK_SIZE - inBlock);
      ReentrantLock lock = lock(block);
      lock.lock();
      try {
        if (n == blockLength(block)) {
          Dirty d = new Dirty(new byte[n]);
          d.discarded = true;
          dirty.put(block, d);
        } else {
          Dirty d = dirtyBlock(block);
          java.util.Arrays.fill(d.data, inBlock, inBlock + n, (byte) 0);
        }
      } finally {
        lock.unlock();
      }
      pos += n;
    }
  }

  /**
   * The medium's allocation, minus the whole blocks discarded since the last flush, plus every
   * other unflushed block (a superset, as the contract allows). The cache is looked at before the
   * medium: a flush puts a block on the medium before it leaves the cache, so a block written
   * before this call is seen in one or the other.
   */
  @Override
  public ExtentSet allocated(long offset, long length) throws IOException {
    checkOpen();
    if (length == 0) {
      return super.allocated(offset, length);
    }
    List<Extent> cached = new ArrayList<>();
    List<Extent> freed = new ArrayList<>();
    for (Map.Entry<Long, Dirty> e : dirty.entrySet()) {
      long block = e.getKey();
      long start = Math.max(offset, block * BLOCK_SIZE);
      long end = Math.min(offset + length, block * BLOCK_SIZE + blockLength(block));
      if (start < end) {
        (e.getValue().discarded ? freed : cached).add(Extent.of(start, end));
      }
    }
    ExtentSet medium = super.allocated(offset, length);
    return medium.minus(ExtentSet.of(freed)).union(ExtentSet.of(cached));
  }

  @Override
  public void flush() throws IOException {
    checkOpen();
    for (long block : new TreeSet<>(dirty.keySet())) {
      ReentrantLock lock = lock(block);
      lock.lock();
      try {
        Dirty d = dirty.get(block);
        if (d != null) {
          // Removed only once on the medium: a failed destage leaves the block dirty.
          destage(block, d);
          dirty.remove(block);
        }
      } finally {
        lock.unlock();
      }
    }
    super.flush();
  }

  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    try {
      for (long block : new TreeSet<>(dirty.keySet())) {
        destage(block, dirty.get(block));
      }
    } finally {
      dirty.clear();
      super.close();
    }
  }

  private void destage(long block, Dirty d) throws IOException {
    if (d.discarded) {
      super.discard(block * BLOCK_SIZE, d.data.length);
    } else {
      super.write(block * BLOCK_SIZE, ByteBuffer.wrap(d.data));
    }
  }

  /** The block's cache entry, filled from the medium first when it has none. */
  private Dirty dirtyBlock(long block) throws IOException {
    Dirty d = dirty.get(block);
    if (d == null) {
      byte[] data = new byte[blockLength(block)];
      super.read(block * BLOCK_SIZE, ByteBuffer.wrap(data));
      d = new Dirty(data);
      dirty.put(block, d);
    }
    return d;
  }

  private int blockLength(long block) {
    return (int) Math.min(BLOCK_SIZE, size() - block * BLOCK_SIZE);
  }

  private ReentrantLock lock(long block) {
    return stripes[(int) Math.floorMod(block, (long) STRIPES)];
  }

  private void checkOpen() {
    if (closed) {
      throw new AlreadyClosedException("volume '" + name() + "' (volatile cache) is closed or "
          + "lost power; use reopen() for a new volume over the same medium");
    }
  }
}
