package io.pairkit.testkit;

import io.pairkit.api.Extent;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.error.AlreadyClosedException;
import io.pairkit.api.error.VolumeInUseException;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.VolumeCapabilities;
import io.pairkit.api.spi.Volumes;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A volume held in heap blocks of 4 KiB, allocated on first write, so large sparse volumes are
 * cheap. Thin by default: {@link #discard} frees the whole blocks inside the range and zeroes the
 * partial ones, and {@link #allocated} reports exactly the blocks that hold memory. With
 * capabilities that say {@code thin = false} it behaves like a thick disk instead (discard writes
 * zeros, everything counts as allocated), so engine tests can drive both kinds.
 *
 * <p>Flush does nothing: memory is as durable as it gets here (to lose unflushed writes, wrap it in
 * a {@link VolatileCacheVolume}). Threading: every method is thread-safe; calls on disjoint ranges
 * do not interfere. After {@link #close}, I/O throws {@link AlreadyClosedException};
 * {@link #reopen} gives a new open volume over the same memory, with the same
 * {@link #volumeId}; another memory volume answers another id.
 */
public final class MemoryVolume implements Volume {
  /** Allocation granule; discard frees whole blocks of this size. */
  public static final int BLOCK_SIZE = 4096;
  private static final int BLOCK_SHIFT = 12;
  /** Blocks per directory page: a page index costs nothing until a block in it is written. */
  private static final int PAGE_SHIFT = 8;
  private static final int PAGE_BLOCKS = 1 << PAGE_SHIFT;

  /** Byte-addressable, 1 MiB preferred, 8 in flight, thin, durable flush, no fencing. */
  public static final VolumeCapabilities DEFAULT_CAPABILITIES =
      new VolumeCapabilities(1, 1 << 20, 8, true, true, false);

  /** The memory itself, shared by every reopened instance. */
  private static final class Store {
    final AtomicReferenceArray<AtomicReferenceArray<byte[]>> pages;
    final AtomicInteger openCount = new AtomicInteger();
    /** The memory's {@link Volume#volumeId}: new memory, new id. */
    final String id = "memory:" + UUID.randomUUID();

    Store(long size) {
      long blocks = (size + BLOCK_SIZE - 1) >>> BLOCK_SHIFT;
      pages = new AtomicReferenceArray<>(Math.toIntExact((blocks + PAGE_BLOCKS - 1) >>> PAGE_SHIFT));
    }
  }

  private final String name;
  private final long size;
  private final VolumeCapabilities caps;
  private final Store store;
  private volatile boolean closed;

  /** A zero-filled volume with {@link #DEFAULT_CAPABILITIES}. */
  public MemoryVolume(String name, long size) {
    this(name, size, DEFAULT_CAPABILITIES);
  }

  /**
   * A zero-filled volume that declares {@code caps}; {@code thin} changes how discard and
   * allocated behave, {@code fencing} makes {@link #reopen} refuse while another instance is open,
   * the rest is declared only.
   */
  public MemoryVolume(String name, long size, VolumeCapabilities caps) {
    this(name, size, caps, newStore(name, size));
  }

  private static Store newStore(String name, long size) {
    if (size < 0) {
      throw new IllegalArgumentException("memory volume '" + name + "': negative size " + size);
    }
    return new Store(size);
  }

  private MemoryVolume(String name, long size, VolumeCapabilities caps, Store store) {
    this.name = name;
    this.size = size;
    this.caps = caps;
    this.store = store;
    store.openCount.incrementAndGet();
  }

  /**
   * A new open volume over the same memory, as reopening a disk would give (this one may stay
   * open, unless the capabilities declare fencing).
   *
   * @throws VolumeInUseException with fencing, if an instance over this memory is still open
   */
  public MemoryVolume reopen() {
    if (caps.fencing() && store.openCount.get() > 0) {
      throw new VolumeInUseException("memory volume '" + name + "' is already open for writing; "
          + "close it before opening it again");
    }
    return new MemoryVolume(name, size, caps, store);
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public long size() {
    return size;
  }

  @Override
  public VolumeCapabilities capabilities() {
    return caps;
  }

  /** A random id of the memory, kept by {@link #reopen}; answers after close too. */
  @Override
  public Optional<String> volumeId() {
    return Optional.of(store.id);
  }

  @Override
  public void read(long offset, ByteBuffer dst) {
    check(offset, dst.remaining());
    long pos = offset;
    while (dst.hasRemaining()) {
      int inBlock = (int) (pos & (BLOCK_SIZE - 1));
      int n = Math.min(dst.remaining(), BLOCK_SIZE - inBlock);
      byte[] b = block(pos >>> BLOCK_SHIFT);
      if (b == null) {
        for (int i = 0; i < n; i++) {
          dst.put((byte) 0);
        }
      } else {
        dst.put(b, inBlock, n);
      }
      pos += n;
    }
  }

  @Override
  public void write(long offset, ByteBuffer src) {
    check(offset, src.remaining());
    long pos = offset;
    while (src.hasRemaining()) {
      int inBlock = (int) (pos & (BLOCK_SIZE - 1));
      int n = Math.min(src.remaining(), BLOCK_SIZE - inBlock);
      src.get(blockForWrite(pos >>> BLOCK_SHIFT), inBlock, n);
      pos += n;
    }
  }

  @Override
  public void discard(long offset, long length) {
    check(offset, length);
    long pos = offset;
    long end = offset + length;
    while (pos < end) {
      long index = pos >>> BLOCK_SHIFT;
      int inBlock = (int) (pos & (BLOCK_SIZE - 1));
      int n = (int) Math.min(end - pos, BLOCK_SIZE - inBlock);
      boolean whole = inBlock == 0 && (n == BLOCK_SIZE || pos + n == size);
      if (whole && caps.thin()) {
        AtomicReferenceArray<byte[]> page = store.pages.get((int) (index >>> PAGE_SHIFT));
        if (page != null) {
          page.set((int) (index & (PAGE_BLOCKS - 1)), null);
        }
      } else {
        byte[] b = block(index);
        if (b != null) {
          Arrays.fill(b, inBlock, inBlock + n, (byte) 0);
        }
      }
      pos += n;
    }
  }

  @Override
  public ExtentSet allocated(long offset, long length) {
    check(offset, length);
    if (length == 0) {
      return ExtentSet.empty();
    }
    long end = offset + length;
    if (!caps.thin()) {
      return ExtentSet.of(offset, end);
    }
    List<Extent> out = new ArrayList<>();
    long first = offset >>> BLOCK_SHIFT;
    long last = (end - 1) >>> BLOCK_SHIFT;
    long index = first;
    while (index <= last) {
      AtomicReferenceArray<byte[]> page = store.pages.get((int) (index >>> PAGE_SHIFT));
      if (page == null) {
        index = ((index >>> PAGE_SHIFT) + 1) << PAGE_SHIFT; // skip the untouched page
        continue;
      }
      if (page.get((int) (index & (PAGE_BLOCKS - 1))) != null) {
        long start = Math.max(offset, index << BLOCK_SHIFT);
        long stop = Math.min(end, (index + 1) << BLOCK_SHIFT);
        out.add(Extent.of(start, stop));
      }
      index++;
    }
    return ExtentSet.of(out);
  }

  @Override
  public void flush() {
    check(0, 0);
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      store.openCount.decrementAndGet();
    }
  }

  private byte[] block(long index) {
    AtomicReferenceArray<byte[]> page = store.pages.get((int) (index >>> PAGE_SHIFT));
    return page == null ? null : page.get((int) (index & (PAGE_BLOCKS - 1)));
  }

  private byte[] blockForWrite(long index) {
    int p = (int) (index >>> PAGE_SHIFT);
    AtomicReferenceArray<byte[]> page = store.pages.get(p);
    if (page == null) {
      store.pages.compareAndSet(p, null, new AtomicReferenceArray<>(PAGE_BLOCKS));
      page = store.pages.get(p);
    }
    int i = (int) (index & (PAGE_BLOCKS - 1));
    byte[] b = page.get(i);
    if (b == null) {
      page.compareAndSet(i, null, new byte[BLOCK_SIZE]);
      b = page.get(i);
    }
    return b;
  }

  private void check(long offset, long length) {
    if (closed) {
      throw new AlreadyClosedException("memory volume '" + name + "' is closed; use reopen() for "
          + "a new volume over the same memory");
    }
    Volumes.checkRange(name, size, offset, length);
  }

  @Override
  public String toString() {
    return "MemoryVolume[" + name + ", " + size + " bytes]";
  }
}
