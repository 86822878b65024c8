package io.pairkit.core.internal.engine.volume;

import java.lang.System.Logger.Level;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.error.VolumeIOException;
import io.pairkit.api.spi.TransientIOException;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.VolumeCapabilities;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.function.LongConsumer;
import java.util.concurrent.locks.LockSupport;

/**
 * A backend volume as the engine calls it: the one place where the SPI's {@link IOException}s
 * become {@link VolumeIOException}s naming the volume, and where {@link TransientIOException}s
 * are retried with back-off (a throttled or briefly unreachable backend does not suspend a pair).
 * A retried write or read repeats with the buffer's original position.
 *
 * <p>Threading: as thread-safe as the backend (the SPI requires that).
 */
public final class BackendVolume {
  private static final System.Logger LOG = System.getLogger("io.pairkit.core");

  private final Volume raw;
  private final String name;
  private final long size;
  private final VolumeCapabilities capabilities;
  private final RetryPolicy retry;

  public BackendVolume(Volume raw, RetryPolicy retry) {
    this.raw = raw;
    this.name = raw.name();
    this.size = raw.size();
    this.capabilities = raw.capabilities();
    this.retry = retry;
  }

  public String name() {
    return name;
  }

  public long size() {
    return size;
  }

  public VolumeCapabilities capabilities() {
    return capabilities;
  }

  /** The backend volume itself. */
  public Volume raw() {
    return raw;
  }

  @FunctionalInterface
  private interface Call<T> {
    T run() throws IOException;
  }

  private <T> T call(String op, long offset, Call<T> call) {
    for (int attempt = 0; ; attempt++) {
      try {
        return call.run();
      } catch (TransientIOException e) {
        if (attempt >= retry.retries()) {
          throw failure(op + " still failing after " + (attempt + 1) + " attempts", offset, e);
        }
        LOG.log(Level.DEBUG, "volume ''{0}'': transient {1} failure, retrying: {2}",
            new Object[] {name, op, e.getMessage()});
        LockSupport.parkNanos(retry.waitNanos(attempt + 1));
      } catch (IOException e) {
        throw failure(op + " failed", offset, e);
      }
    }
  }

  public void read(long offset, ByteBuffer dst) {
    int pos = dst.position();
    call("read", offset, () -> {
      dst.position(pos);
      raw.read(offset, dst);
      return null;
    });
  }

  public void write(long offset, ByteBuffer src) {
    int pos = src.position();
    call("write", offset, () -> {
      src.position(pos);
      raw.write(offset, src);
      return null;
    });
  }

  /**
   * Writes {@code src} at {@code offset}, none of it reaching the backend before the metadata
   * record of {@code ticket} is durable: a write-back track cache keeps that order when it
   * destages (the writer does not wait), anything else waits here first.
   */
  public void writeAfter(long ticket, long offset, ByteBuffer src, LongConsumer awaitDurable) {
    if (ticket > 0 && raw instanceof TicketOrderedVolume cached) {
      int pos = src.position();
      call("write", offset, () -> {
        src.position(pos);
        cached.write(offset, src, ticket);
        return null;
      });
      return;
    }
    if (ticket > 0) {
      awaitDurable.accept(ticket);
    }
    write(offset, src);
  }

  public void discard(long offset, long length) {
    call("discard", offset, () -> {
      raw.discard(offset, length);
      return null;
    });
  }

  /** Ranges of {@code [offset, offset + length)} that may hold data. */
  public ExtentSet allocated(long offset, long length) {
    return call("allocation query", offset, () -> raw.allocated(offset, length));
  }

  public void flush() {
    call("flush", -1, () -> {
      raw.flush();
      return null;
    });
  }

  public void close() throws IOException {
    raw.close();
  }

  private VolumeIOException failure(String what, long offset, IOException e) {
    return new VolumeIOException("volume '" + name + "': backend " + what
        + (offset >= 0 ? " at byte " + offset : "") + " (" + e.getMessage() + "); difference "
        + "bits are kept, so once the backend is fixed a retry, resume() or resync copies what is "
        + "missing", e);
  }

  @Override
  public String toString() {
    return "volume '" + name + "'";
  }
}
