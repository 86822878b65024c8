package io.pairkit.testkit;

import io.pairkit.api.ExtentSet;
import io.pairkit.api.spi.TransientIOException;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.Volumes;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Wraps a volume and breaks it on demand, as a dead disk, a flaky network or a power failure
 * would:
 * <ul>
 *   <li>{@link #fail(Fault)}: the named calls fail with an {@link IOException} until
 *       {@link #heal()};
 *   <li>{@link #failRandomly(double, long)}: each I/O call fails with a probability, drawn from a
 *       seeded random sequence;
 *   <li>{@link #failTransiently(Fault, int)}: the next N named calls throw a
 *       {@link TransientIOException}, then calls succeed again (as throttling would);
 *   <li>{@link #tearFailedWrites(long)}: a write that fails lands some of its 4 KiB pieces first
 *       (old data, new data or a mix, as the {@link Volume} contract allows);
 *   <li>{@link #latency(Duration)}: every I/O call takes at least this long;
 *   <li>{@link #powerCut(Random)}: loses unflushed writes, when the wrapped volume is a
 *       {@link VolatileCacheVolume}.
 * </ul>
 * A failed call transfers nothing unless torn writes are on. Discards count as writes and
 * {@code allocated} as a read for the faults. Counts every call that reached the wrapped volume,
 * so tests can check how much backend I/O an operation did. Thread-safe; with one thread, a seed
 * replays the same faults.
 */
public final class FaultyVolume extends ForwardingVolume {

  /** Which calls fail. Flushes and discards fail with writes. */
  public enum Fault {
    NONE, READS, WRITES, ALL
  }

  private static final int TEAR_PIECE = 4096;

  private volatile Fault fault = Fault.NONE;
  private volatile long latencyNanos;
  private volatile double failProbability;
  private volatile Fault transientFault = Fault.NONE;
  private final AtomicInteger transientLeft = new AtomicInteger();
  private volatile boolean tearWrites;
  /** Guarded by itself: one sequence shared by every thread. */
  private Random random = new Random(0);
  private final AtomicLong reads = new AtomicLong();
  private final AtomicLong writes = new AtomicLong();
  private final AtomicLong discards = new AtomicLong();
  private final AtomicLong flushes = new AtomicLong();
  private final AtomicLong bytesWritten = new AtomicLong();
  private final AtomicLong injected = new AtomicLong();

  public FaultyVolume(Volume delegate) {
    super(delegate);
  }

  /** From now on, fail the calls {@code fault} names. */
  public FaultyVolume fail(Fault fault) {
    this.fault = fault;
    return this;
  }

  /** Stop failing: clears {@link #fail}, random and transient failures (not latency or tearing). */
  public FaultyVolume heal() {
    failProbability = 0;
    transientLeft.set(0);
    return fail(Fault.NONE);
  }

  /**
   * From now on, each I/O call (read, write, discard, allocated, flush) fails with an
   * {@link IOException} with probability {@code probability}, drawn from a sequence seeded with
   * {@code seed}; 0 stops it.
   */
  public FaultyVolume failRandomly(double probability, long seed) {
    if (probability < 0 || probability > 1) {
      throw new IllegalArgumentException("probability " + probability + " is not in [0, 1]");
    }
    synchronized (this) {
      random = new Random(seed);
    }
    failProbability = probability;
    return this;
  }

  /**
   * The next {@code times} calls that {@code which} names throw a {@link TransientIOException}
   * and change nothing; later calls succeed (unless another fault is set).
   */
  public FaultyVolume failTransiently(Fault which, int times) {
    transientFault = which;
    transientLeft.set(times);
    return this;
  }

  /**
   * From now on, a write that fails (by {@link #fail}, or randomly) first lands a random subset of
   * its 4 KiB-aligned pieces, chosen from a sequence seeded with {@code seed}. Transient failures
   * stay clean, so a retry is safe.
   */
  public FaultyVolume tearFailedWrites(long seed) {
    synchronized (this) {
      random = new Random(seed);
    }
    tearWrites = true;
    return this;
  }

  /** Every I/O call waits {@code perIo} before it runs; {@link Duration#ZERO} stops it. */
  public FaultyVolume latency(Duration perIo) {
    latencyNanos = perIo.toNanos();
    return this;
  }

  /**
   * Power fails: unflushed writes are lost per 4 KiB block (see
   * {@link VolatileCacheVolume#powerCut(Random)}) and the volume closes.
   *
   * @throws IllegalStateException unless this wraps a {@link VolatileCacheVolume}
   */
  public int powerCut(Random random) throws IOException {
    if (!(delegate() instanceof VolatileCacheVolume cache)) {
      throw new IllegalStateException("volume '" + name() + "': a power cut needs a write cache to "
          + "lose; wrap a VolatileCacheVolume: new FaultyVolume(new VolatileCacheVolume(...))");
    }
    return cache.powerCut(random);
  }

  public long reads() {
    return reads.get();
  }

  public long writes() {
    return writes.get();
  }

  public long discards() {
    return discards.get();
  }

  public long flushes() {
    return flushes.get();
  }

  public long bytesWritten() {
    return bytesWritten.get();
  }

  /** Number of failures injected so far (of every kind). */
  public long injectedFailures() {
    return injected.get();
  }

  @Override
  public void read(long offset, ByteBuffer dst) throws IOException {
    beforeIo(false, "read", offset);
    reads.incrementAndGet();
    super.read(offset, dst);
  }

  @Override
  public ExtentSet allocated(long offset, long length) throws IOException {
    beforeIo(false, "allocated", offset);
    reads.incrementAndGet();
    return super.allocated(offset, length);
  }

  @Override
  public void write(long offset, ByteBuffer src) throws IOException {
    try {
      beforeIo(true, "write", offset);
    } catch (TransientIOException e) {
      throw e;
    } catch (IOException e) {
      if (tearWrites) {
        tear(offset, src);
      }
      throw e;
    }
    writes.incrementAndGet();
    bytesWritten.addAndGet(src.remaining());
    super.write(offset, src);
  }

  @Override
  public void discard(long offset, long length) throws IOException {
    beforeIo(true, "discard", offset);
    discards.incrementAndGet();
    super.discard(offset, length);
  }

  @Override
  public void flush() throws IOException {
    beforeIo(true, "flush", 0);
    flushes.incrementAndGet();
    super.flush();
  }

  /** Waits the latency, then throws the fault that applies to this call, if any. */
  private void beforeIo(boolean isWrite, String what, long offset) throws IOException {
    long nanos = latencyNanos;
    if (nanos > 0) {
      try {
        Thread.sleep(nanos / 1_000_000, (int) (nanos % 1_000_000)); // injected latency
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted in injected latency on '" + name() + "'");
      }
    }
    String where = " on '" + name() + "'" + (what.equals("flush") ? "" : " at " + offset);
    if (applies(transientFault, isWrite) && transientLeft.getAndUpdate(n -> n > 0 ? n - 1 : 0) > 0) {
      injected.incrementAndGet();
      throw new TransientIOException("injected transient " + what + " failure" + where);
    }
    if (applies(fault, isWrite)) {
      injected.incrementAndGet();
      throw new IOException("injected " + what + " failure" + where);
    }
    double p = failProbability;
    if (p > 0) {
      boolean failNow;
      synchronized (this) {
        failNow = random.nextDouble() < p;
      }
      if (failNow) {
        injected.incrementAndGet();
        throw new IOException("injected random " + what + " failure" + where);
      }
    }
  }

  private static boolean applies(Fault f, boolean isWrite) {
    return f == Fault.ALL || (isWrite ? f == Fault.WRITES : f == Fault.READS);
  }

  /** Lands a random subset of the write's 4 KiB-aligned pieces; leaves {@code src} untouched. */
  private void tear(long offset, ByteBuffer src) throws IOException {
    Volumes.checkRange(name(), size(), offset, src.remaining());
    ByteBuffer data = src.duplicate();
    long pos = offset;
    while (data.hasRemaining()) {
      int n = (int) Math.min(data.remaining(), TEAR_PIECE - pos % TEAR_PIECE);
      ByteBuffer piece = data.slice().limit(n);
      boolean land;
      synchronized (this) {
        land = random.nextBoolean();
      }
      if (land) {
        super.write(pos, piece);
      }
      data.position(data.position() + n);
      pos += n;
    }
  }
}
