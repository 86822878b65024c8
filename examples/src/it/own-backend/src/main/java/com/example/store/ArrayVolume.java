package com.example.store;

import io.pairkit.api.ExtentSet;
import io.pairkit.api.error.AlreadyClosedException;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.VolumeCapabilities;
import io.pairkit.api.spi.Volumes;
import java.nio.ByteBuffer;

/** The product's own backend: a volume in one heap array (thick, no fencing). */
public final class ArrayVolume implements Volume {
  private final String name;
  private final byte[] data;
  private volatile boolean closed;

  public ArrayVolume(String name, long size) {
    this.name = name;
    this.data = new byte[Math.toIntExact(size)];
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public long size() {
    return data.length;
  }

  @Override
  public VolumeCapabilities capabilities() {
    return VolumeCapabilities.defaults();
  }

  @Override
  public synchronized void read(long offset, ByteBuffer dst) {
    check(offset, dst.remaining());
    dst.put(data, (int) offset, dst.remaining());
  }

  @Override
  public synchronized void write(long offset, ByteBuffer src) {
    check(offset, src.remaining());
    src.get(data, (int) offset, src.remaining());
  }

  /** Thick: every byte is allocated (after the same checks as I/O). */
  @Override
  public ExtentSet allocated(long offset, long length) {
    check(offset, length);
    return length == 0 ? ExtentSet.empty() : ExtentSet.of(offset, offset + length);
  }

  @Override
  public void flush() {
    check(0, 0);
  }

  @Override
  public void close() {
    closed = true;
  }

  private void check(long offset, long length) {
    if (closed) {
      throw new AlreadyClosedException("array volume '" + name + "' is closed");
    }
    Volumes.checkRange(name, data.length, offset, length);
  }
}
