package io.pairkit.benchmarks;

import io.pairkit.api.spi.Volume;
import io.pairkit.testkit.ForwardingVolume;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A volume that behaves like one disk in front of any other volume (usually a memory volume):
 * one service queue, one I/O at a time, each I/O costing a fixed latency plus its bytes over
 * the bandwidth (defaults 0.2 ms and 100 MB/s, 10^6 bytes). A flush or a discard costs one
 * latency; {@code allocated} is free (metadata).
 *
 * <p>How: under a lock, each call books the next slot of the disk's time, {@code start =
 * max(now, end of the previous booking)}, {@code end = start + cost}, so calls are served one at
 * a time in arrival order (a FIFO queue). The wrapped volume then moves the data and the caller
 * waits until {@code end}: parked until shortly before, then spinning, so the wait is accurate to
 * a few microseconds instead of the scheduler's tick. Because only the booking is under the lock,
 * a caller that wakes late delays itself, not the disk (as with a real disk's completion
 * interrupt), and a data copy slower than the model would show up as the caller's delay.
 *
 * <p>Separate instances share nothing, so I/O on different modelled disks proceeds in parallel.
 * {@link #modelled(boolean)} turns the model off (for filling a volume quickly). Thread-safe.
 */
public final class ModelledDisk extends ForwardingVolume {
  /** 100 MB/s. */
  public static final double DEFAULT_BYTES_PER_SECOND = 100e6;
  /** 0.2 ms. */
  public static final long DEFAULT_LATENCY_NANOS = 200_000;
  /** Waits shorter than this spin; longer ones park until this much is left. */
  private static final long SPIN_NANOS = 60_000;

  private final long latencyNanos;
  private final double nanosPerByte;
  private final ReentrantLock lock = new ReentrantLock();
  /** Guarded by lock: when the I/Os booked so far are done. */
  private long freeAt = System.nanoTime();
  private volatile boolean modelled = true;
  private final AtomicLong ios = new AtomicLong();
  private final AtomicLong bytes = new AtomicLong();
  private final AtomicLong busyNanos = new AtomicLong();

  /** One disk of {@link #DEFAULT_BYTES_PER_SECOND} and {@link #DEFAULT_LATENCY_NANOS}. */
  public ModelledDisk(Volume delegate) {
    this(delegate, DEFAULT_BYTES_PER_SECOND, DEFAULT_LATENCY_NANOS);
  }

  public ModelledDisk(Volume delegate, double bytesPerSecond, long latencyNanos) {
    super(delegate);
    if (bytesPerSecond <= 0 || latencyNanos < 0) {
      throw new IllegalArgumentException("bandwidth must be positive and latency not negative");
    }
    this.latencyNanos = latencyNanos;
    this.nanosPerByte = 1e9 / bytesPerSecond;
  }

  /** Turns the model on (the default) or off; off, calls go straight to the wrapped volume. */
  public ModelledDisk modelled(boolean on) {
    modelled = on;
    return this;
  }

  /** Modelled I/Os so far (reads, writes, flushes, discards). */
  public long ios() {
    return ios.get();
  }

  /** Bytes moved by modelled reads and writes so far. */
  public long bytes() {
    return bytes.get();
  }

  /** Modelled time the disk has spent serving I/O so far. */
  public long busyNanos() {
    return busyNanos.get();
  }

  @Override
  public void read(long offset, ByteBuffer dst) throws IOException {
    int n = dst.remaining();
    serve(n, () -> delegate().read(offset, dst));
  }

  @Override
  public void write(long offset, ByteBuffer src) throws IOException {
    int n = src.remaining();
    serve(n, () -> delegate().write(offset, src));
  }

  @Override
  public void discard(long offset, long length) throws IOException {
    serve(0, () -> delegate().discard(offset, length));
  }

  @Override
  public void flush() throws IOException {
    serve(0, delegate()::flush);
  }

  @Override
  public String toString() {
    return "ModelledDisk[" + delegate() + "]";
  }

  private interface Call {
    void run() throws IOException;
  }

  private void serve(long n, Call call) throws IOException {
    if (!modelled) {
      call.run();
      return;
    }
    long cost = latencyNanos + Math.round(n * nanosPerByte);
    long end;
    lock.lock();
    try {
      long start = Math.max(System.nanoTime(), freeAt);
      end = start + cost;
      freeAt = end;
    } finally {
      lock.unlock();
    }
    ios.incrementAndGet();
    bytes.addAndGet(n);
    busyNanos.addAndGet(cost);
    call.run();
    waitUntil(end);
  }

  /** Waits until {@code System.nanoTime()} reaches {@code deadline}, to a few microseconds. */
  static void waitUntil(long deadline) {
    while (true) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return;
      }
      if (left > SPIN_NANOS) {
        LockSupport.parkNanos(left - SPIN_NANOS);
      } else {
        Thread.onSpinWait();
      }
    }
  }
}
