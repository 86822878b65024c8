package io.pairkit.core.internal.engine;

import com.google.common.collect.Range;
import com.google.common.collect.RangeSet;
import io.pairkit.core.internal.engine.bitmap.BitmapJournal;
import io.pairkit.core.internal.engine.volume.BackendVolume;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * One synchronous mirror I/O on a pair's secondary, run on the engine's mirror writers while the
 * host thread does the primary's: a write (the mirrored bytes of a host write) or a flush. The
 * caller holds the tracks' locks until {@link #await()} returns, so no copy or other write of
 * those tracks interleaves.
 */
final class SecondaryWrite {
  private final CompletableFuture<Void> done;
  private volatile long nanos;

  private SecondaryWrite(CompletableFuture<Void> done) {
    this.done = done;
  }

  /**
   * Starts the secondary's part of a host write of {@code length} bytes at {@code offset}
   * ({@code data} positioned at its start, null for a discard), after the journal ticket the
   * primary's part waits for too (rule 1 holds for the secondary's copy of the data as well).
   */
  static SecondaryWrite start(AbstractPair pair, BitmapJournal journal, long ticket,
      long offset, long length, boolean discard, ByteBuffer data) {
    RangeSet<Long> ranges = pair.writeRule().secondaryRanges(offset, length);
    BackendVolume secondary = pair.copier.secondary();
    SecondaryWrite[] self = new SecondaryWrite[1];
    Runnable io = () -> {
      long t0 = System.nanoTime();
      if (ranges == null) {
        put(secondary, journal, ticket, offset, length, discard, data);
      } else {
        for (Range<Long> r : ranges.asRanges()) {
          long from = r.lowerEndpoint();
          long n = r.upperEndpoint() - from;
          ByteBuffer part = null;
          if (data != null) {
            part = data.duplicate();
            part.position(data.position() + (int) (from - offset));
            part.limit(part.position() + (int) n);
          }
          put(secondary, journal, ticket, from, n, discard, part);
        }
      }
      self[0].nanos = System.nanoTime() - t0;
    };
    CompletableFuture<Void> f = new CompletableFuture<>();
    self[0] = new SecondaryWrite(f);
    run(pair, () -> {
      try {
        io.run();
        f.complete(null);
      } catch (RuntimeException | Error e) {
        f.completeExceptionally(e);
      }
    });
    return self[0];
  }

  private static void put(BackendVolume secondary, BitmapJournal journal, long ticket,
      long offset, long length, boolean discard, ByteBuffer data) {
    if (discard) {
      journal.awaitDurable(ticket);
      secondary.discard(offset, length);
    } else {
      secondary.writeAfter(ticket, offset, data, journal::awaitDurable);
    }
  }

  /** Starts a flush of the pair's secondary. */
  static SecondaryWrite flush(AbstractPair pair) {
    CompletableFuture<Void> f = new CompletableFuture<>();
    run(pair, () -> {
      try {
        pair.copier.secondary().flush();
        f.complete(null);
      } catch (RuntimeException | Error e) {
        f.completeExceptionally(e);
      }
    });
    return new SecondaryWrite(f);
  }

  /** On a mirror writer; in this thread once the controller stopped them (it is closing). */
  private static void run(AbstractPair pair, Runnable task) {
    try {
      pair.engine.mirrorWriters.execute(task);
    } catch (java.util.concurrent.RejectedExecutionException closing) {
      task.run();
    }
  }

  /** Waits for the I/O; returns its failure, or null. */
  RuntimeException await() {
    boolean interrupted = false;
    try {
      while (true) {
        try {
          done.get();
          return null;
        } catch (InterruptedException e) {
          interrupted = true; // the I/O holds the caller's track locks' data: wait it out
        } catch (ExecutionException | CompletionException e) {
          Throwable c = e.getCause();
          if (c instanceof Error err) {
            throw err;
          }
          return c instanceof RuntimeException re ? re : new IllegalStateException(c);
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Waits for the I/O, whatever its outcome. */
  void awaitQuietly() {
    await();
  }

  /** How long the I/O took. */
  long nanos() {
    return nanos;
  }
}
