package io.pairkit.api.testing;

import io.pairkit.api.error.AlreadyClosedException;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.Volumes;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A volume held in heap pages of 1 MiB, allocated on first write (so large sparse volumes are
 * cheap). Flush does nothing: memory is as durable as it gets here. Thread-safe for disjoint
 * ranges, like any volume.
 */
public final class MemoryVolume implements Volume {
  private static final int PAGE_SHIFT = 20;
  private static final int PAGE_SIZE = 1 << PAGE_SHIFT;

  private final String name;
  private final long size;
  private final int trackSize;
  private final AtomicReferenceArray<byte[]> pages;
  private volatile boolean closed;

  public MemoryVolume(String name, long size, int trackSize) {
    this(name, size, trackSize,
        new AtomicReferenceArray<>((int) ((size + PAGE_SIZE - 1) >>> PAGE_SHIFT)));
  }

  private MemoryVolume(String name, long size, int trackSize, AtomicReferenceArray<byte[]> pages) {
    this.name = name;
    this.size = size;
    this.trackSize = trackSize;
    this.pages = pages;
  }

  /** A new open volume over the same memory, as reopening a closed disk would give. */
  public MemoryVolume reopen() {
    return new MemoryVolume(name, size, trackSize, pages);
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
  public int trackSize() {
    return trackSize;
  }

  @Override
  public void read(long offset, ByteBuffer dst) {
    check(offset, dst.remaining());
    long pos = offset;
    while (dst.hasRemaining()) {
      int page = (int) (pos >>> PAGE_SHIFT);
      int inPage = (int) (pos & (PAGE_SIZE - 1));
      int n = Math.min(dst.remaining(), PAGE_SIZE - inPage);
      byte[] p = pages.get(page);
      if (p == null) {
        for (int i = 0; i < n; i++) {
          dst.put((byte) 0);
        }
      } else {
        dst.put(p, inPage, n);
      }
      pos += n;
    }
  }

  @Override
  public void write(long offset, ByteBuffer src) {
    check(offset, src.remaining());
    long pos = offset;
    while (src.hasRemaining()) {
      int page = (int) (pos >>> PAGE_SHIFT);
      int inPage = (int) (pos & (PAGE_SIZE - 1));
      int n = Math.min(src.remaining(), PAGE_SIZE - inPage);
      byte[] p = pages.get(page);
      if (p == null) {
        pages.compareAndSet(page, null, new byte[PAGE_SIZE]);
        p = pages.get(page);
      }
      src.get(p, inPage, n);
      pos += n;
    }
  }

  @Override
  public void flush() {
    check(0, 0);
  }

  @Override
  public void close() {
    closed = true;
  }

  private void check(long offset, int length) {
    if (closed) {
      throw new AlreadyClosedException("memory volume '" + name + "' is closed");
    }
    Volumes.checkRange(name, size, offset, length);
  }
}
