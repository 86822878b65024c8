package io.pairkit.core.engine;

import io.pairkit.api.CopyProgress;
import io.pairkit.api.CopyRequest;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.RequestKind;
import io.pairkit.api.error.PairKitException;
import io.pairkit.api.error.VolumeIOException;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.roaringbitmap.longlong.PeekableLongIterator;
import org.roaringbitmap.longlong.Roaring64Bitmap;

/**
 * A request's background copy: drains the tracks that were pending in its region at the request
 * instant, in ascending batches on up to {@code copyThreads} workers, one track lock at a time. A
 * track already copied by someone else (copy-on-write, another request) counts as done without a
 * copy. Tracks that become pending
 * after the instant are not its business: the mirror, or a later request, copies them.
 */
public final class CopyJob implements CopyRequest {
  private static final int BATCH = 8;

  private final long id;
  private final PairModel pair;
  private final RequestKind kind;
  private final ExtentSet region;
  private final long tracksToCopy;
  /** The snapshot's tracks not yet handed to a worker; guarded by itself. */
  private final PeekableLongIterator remaining;
  private final boolean drainsMirror;
  private final AtomicLong done = new AtomicLong();
  private final AtomicLong copied = new AtomicLong();
  private final AtomicLong bytes = new AtomicLong();
  private final CompletableFuture<CopyProgress> completion = new CompletableFuture<>();
  private final AtomicInteger workersLeft = new AtomicInteger();
  private volatile String cancelledBecause;
  private volatile VolumeIOException failure;

  CopyJob(long id, PairModel pair, RequestKind kind, ExtentSet region, Roaring64Bitmap toCopy,
      boolean drainsMirror) {
    this.id = id;
    this.pair = pair;
    this.kind = kind;
    this.region = region;
    this.tracksToCopy = toCopy.getLongCardinality();
    this.drainsMirror = drainsMirror;
    this.remaining = toCopy.getLongIterator();
  }

  /**
   * Starts the copy on up to {@code copyThreads} (and at most {@code maxTracksInFlight}) workers
   * of {@code executor}. Workers take ascending batches of tracks from the snapshot; the last one
   * to stop completes the request, once.
   */
  void startOn(Executor executor) {
    int wanted = (int) Math.max(1, Math.min(Math.min(pair.engine.config.copyThreads(),
        pair.engine.config.maxTracksInFlight()), (tracksToCopy + BATCH - 1) / BATCH));
    workersLeft.set(wanted);
    for (int i = 0; i < wanted; i++) {
      try {
        executor.execute(this::work);
      } catch (RejectedExecutionException closing) {
        cancel("its controller is closing");
        if (workersLeft.addAndGet(-(wanted - i)) == 0) {
          finish(null);
        }
        return;
      }
    }
  }

  /** The next ascending batch of tracks, or an empty array when the snapshot is used up. */
  private long[] nextBatch() {
    synchronized (remaining) {
      long[] batch = new long[BATCH];
      int n = 0;
      while (n < BATCH && remaining.hasNext()) {
        batch[n++] = remaining.next();
      }
      return n == BATCH ? batch : Arrays.copyOf(batch, n);
    }
  }

  private void work() {
    try {
      while (failure == null && cancelledBecause == null) {
        long[] batch = nextBatch();
        if (batch.length == 0) {
          break;
        }
        for (long t : batch) {
          if (failure != null || cancelledBecause != null) {
            break;
          }
          long moved = pair.copyIfPending(t, false);
          if (moved == -2) {
            cancel("pair '" + pair.id() + "' is gone");
            break;
          }
          if (moved >= 0) {
            copied.incrementAndGet();
            bytes.addAndGet(moved);
          }
          done.incrementAndGet();
        }
      }
    } catch (VolumeIOException e) {
      fail(new VolumeIOException("pair '" + pair.id() + "': " + kind + " request " + id
          + " stopped after " + progress() + ": " + e.getMessage()
          + ". The pair is SUSPENDED; tracks not copied stay pending. Fix the backend and call "
          + "resume().", e));
    } catch (RuntimeException | Error e) {
      fail(new VolumeIOException("pair '" + pair.id() + "': " + kind + " request " + id
          + " failed unexpectedly (" + e + "); the pair is SUSPENDED, call resume()", e));
      throw e;
    } finally {
      if (workersLeft.decrementAndGet() == 0) {
        finish(failure);
      }
    }
  }

  private synchronized void fail(VolumeIOException e) {
    if (failure == null) {
      failure = e;
    }
  }

  private void finish(VolumeIOException error) {
    pair.jobFinished(this, error);
    if (error != null) {
      completion.completeExceptionally(error);
    } else if (cancelledBecause != null) {
      completion.completeExceptionally(new CancellationException(
          kind + " request " + id + " of pair '" + pair.id() + "' was abandoned: "
              + cancelledBecause));
    } else {
      completion.complete(progress());
    }
  }

  /** Stops the job at its next track; its future then completes with a CancellationException. */
  void cancel(String why) {
    if (cancelledBecause == null) {
      cancelledBecause = why;
    }
  }

  boolean wasCancelled() {
    return cancelledBecause != null;
  }

  boolean drainsMirror() {
    return drainsMirror;
  }

  @Override
  public long id() {
    return id;
  }

  @Override
  public String pairId() {
    return pair.id();
  }

  @Override
  public RequestKind kind() {
    return kind;
  }

  @Override
  public ExtentSet region() {
    return region;
  }

  @Override
  public CopyProgress progress() {
    return new CopyProgress(tracksToCopy, done.get(), copied.get(), bytes.get());
  }

  @Override
  public CompletableFuture<CopyProgress> completion() {
    return completion;
  }

  @Override
  public CopyProgress await(Duration timeout) {
    try {
      return completion.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      throw new PairKitException(kind + " request " + id + " of pair '" + pair.id()
          + "' is not done after " + timeout + " (" + progress() + "); it goes on in the "
          + "background: wait longer or check the copy rate limit");
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof RuntimeException re) {
        throw re;
      }
      throw new PairKitException(cause.toString(), cause);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new PairKitException("interrupted while waiting for request " + id, e);
    }
  }

  @Override
  public String toString() {
    return kind + " #" + id + " of '" + pair.id() + "' " + region + ": " + progress();
  }
}
