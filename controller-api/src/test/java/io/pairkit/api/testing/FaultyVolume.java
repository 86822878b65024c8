package io.pairkit.api.testing;

import io.pairkit.api.spi.Volume;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Wraps a volume and fails its reads, writes or flushes on demand with an {@link IOException}, as
 * a dead disk or a lost connection would. A failed call transfers nothing. Counts every call, so
 * tests can check how much backend I/O an operation did.
 */
public final class FaultyVolume extends ForwardingVolume {

  /** Which calls fail. */
  public enum Fault {
    NONE, READS, WRITES, ALL
  }

  private volatile Fault fault = Fault.NONE;
  private final AtomicLong reads = new AtomicLong();
  private final AtomicLong writes = new AtomicLong();
  private final AtomicLong bytesWritten = new AtomicLong();

  public FaultyVolume(Volume delegate) {
    super(delegate);
  }

  /** From now on, fail the calls {@code fault} names. */
  public FaultyVolume fail(Fault fault) {
    this.fault = fault;
    return this;
  }

  /** Stop failing. */
  public FaultyVolume heal() {
    return fail(Fault.NONE);
  }

  public long reads() {
    return reads.get();
  }

  public long writes() {
    return writes.get();
  }

  public long bytesWritten() {
    return bytesWritten.get();
  }

  @Override
  public void read(long offset, ByteBuffer dst) throws IOException {
    Fault f = fault;
    if (f == Fault.READS || f == Fault.ALL) {
      throw new IOException("injected read failure on '" + name() + "' at " + offset);
    }
    reads.incrementAndGet();
    super.read(offset, dst);
  }

  @Override
  public void write(long offset, ByteBuffer src) throws IOException {
    Fault f = fault;
    if (f == Fault.WRITES || f == Fault.ALL) {
      throw new IOException("injected write failure on '" + name() + "' at " + offset);
    }
    writes.incrementAndGet();
    bytesWritten.addAndGet(src.remaining());
    super.write(offset, src);
  }

  @Override
  public void flush() throws IOException {
    Fault f = fault;
    if (f == Fault.WRITES || f == Fault.ALL) {
      throw new IOException("injected flush failure on '" + name() + "'");
    }
    super.flush();
  }
}
