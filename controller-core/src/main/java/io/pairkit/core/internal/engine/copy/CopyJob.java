package io.pairkit.core.internal.engine.copy;

import io.pairkit.api.CopyProgress;
import io.pairkit.api.CopyRequest;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.RequestKind;
import io.pairkit.api.error.PairKitException;
import io.pairkit.api.error.VolumeIOException;
import io.pairkit.core.internal.engine.bitmap.TrackBitmaps;
import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.roaringbitmap.longlong.PeekableLongIterator;
import org.roaringbitmap.longlong.Roaring64Bitmap;

/**
 * A request's background copy: drains the tracks that were pending in its region at the request
 * instant, in ascending runs of consecutive tracks (one I/O each, up to the volumes' preferred
 * size), keeping up to the volumes' concurrency of runs in flight on the {@link CopyScheduler}. On
 * a thin primary a run over a hole grows to the whole hole (up to 64 GiB), so a sparse volume
 * copies in the time of its data. A track already copied by someone else (copy-on-write, another
 * request) counts as done without a copy. Tracks that become pending after the instant are not its
 * business: the mirror, or a later request, copies them.
 *
 * <p>Threading: thread-safe.
 */
public final class CopyJob implements CopyRequest, CopyScheduler.Source {
  private static final long MAX_HOLE_BYTES = 64L << 30;
  private static final int MAX_HOLE_TRACKS = 1 << 20;

  /** Told when a job ends, once, before its future completes. */
  @FunctionalInterface
  public interface Owner {
    void jobFinished(CopyJob job, VolumeIOException failure);
  }

  /** Copies one run of a job's tracks: the pair's forward copy, or a restore's reverse one. */
  @FunctionalInterface
  public interface Runner {
    PairCopier.RunResult run(long first, long end);
  }

  private final long id;
  private final String pairId;
  private final Runner runner;
  private final boolean growsOverHoles;
  private final RequestKind kind;
  private final ExtentSet region;
  private final boolean drainsMirror;
  private final PairCopier copier;
  private final Owner owner;
  private long tracksToCopy; // guarded by this after construction
  private final CompletableFuture<CopyProgress> completion = new CompletableFuture<>();

  // Guarded by this.
  private final PeekableLongIterator remaining;
  private final Roaring64Bitmap toCopy;
  private int inFlight;
  private boolean finished;
  private long done;
  private long copied;
  private long bytes;
  private String cancelledBecause;
  /** Where the job runs (set by {@link #start}); guarded by this. */
  private CopyScheduler scheduler;
  private VolumeIOException failure;

  /**
   * @param toCopy       the tracks to drain (the job keeps it; do not modify)
   * @param drainsMirror whether the job copies mirrored tracks too, so the mirror rests meanwhile
   */
  public CopyJob(long id, String pairId, RequestKind kind, ExtentSet region,
      Roaring64Bitmap toCopy, boolean drainsMirror, PairCopier copier, Owner owner) {
    this(id, pairId, kind, region, toCopy, drainsMirror, copier, owner,
        (first, end) -> copier.copyRun(first, end, false), true);
  }

  /**
   * A job whose runs {@code runner} copies (a restore's); only a forward copy grows its runs
   * over the primary's holes ({@code growsOverHoles}).
   */
  public CopyJob(long id, String pairId, RequestKind kind, ExtentSet region,
      Roaring64Bitmap toCopy, boolean drainsMirror, PairCopier copier, Owner owner,
      Runner runner, boolean growsOverHoles) {
    this.runner = runner;
    this.growsOverHoles = growsOverHoles;
    this.id = id;
    this.pairId = pairId;
    this.kind = kind;
    this.region = region;
    this.drainsMirror = drainsMirror;
    this.copier = copier;
    this.owner = owner;
    this.tracksToCopy = toCopy.getLongCardinality();
    this.remaining = toCopy.getLongIterator();
    this.toCopy = toCopy;
  }

  /**
   * Counts what the request copied itself at its instant ({@code {tracks, bytes}}, or null):
   * the covered bytes of tracks its extents cover only in part. Before {@link #start}.
   */
  public synchronized void copiedAtInstant(long[] tracksAndBytes) {
    if (tracksAndBytes != null) {
      tracksToCopy += tracksAndBytes[0];
      done += tracksAndBytes[0];
      copied += tracksAndBytes[0];
      bytes += tracksAndBytes[1];
    }
  }

  /** Hands the job to {@code scheduler}; a job with nothing to copy completes at once. */
  public void start(CopyScheduler scheduler) {
    long toDo;
    synchronized (this) {
      this.scheduler = scheduler;
      toDo = tracksToCopy - done;
    }
    if (toDo == 0) {
      finishIfIdle();
    } else {
      scheduler.submitRequest(this);
    }
  }

  @Override
  public synchronized Runnable poll() {
    if (exhausted() || inFlight >= copier.concurrency()) {
      return null;
    }
    long wakeAt = copier.pace.tryStart(copier.runBytes());
    if (wakeAt != 0) {
      scheduler.wakeAt(wakeAt);
      return null;
    }
    long first = remaining.next();
    long end = first + 1;
    while (end - first < copier.runTracks() && remaining.hasNext()
        && remaining.peekNext() == end) {
      remaining.next();
      end++;
    }
    inFlight++;
    long a = first;
    long b = end;
    boolean mayGrow = growsOverHoles && copier.skipsHoles() && remaining.hasNext() && remaining.peekNext() == end;
    return () -> copy(a, b, mayGrow);
  }

  /**
   * Grows a run that lies in a hole of the primary to the hole's end, over the consecutive tracks
   * still to hand out. Runs on the worker, not under the scheduler: the allocation query is I/O.
   */
  private long extendOverHole(long first, long end) {
    long holeEnd = copier.holeEnd(copier.geometry.start(first), MAX_HOLE_BYTES);
    if (holeEnd < copier.geometry.stop(end - 1)) {
      return end;
    }
    synchronized (this) {
      if (!remaining.hasNext() || remaining.peekNext() != end) {
        return end; // another run took the tracks after this one
      }
      long candidate = holeEnd >= copier.geometry.volumeSize() ? copier.geometry.trackCount()
          : holeEnd / copier.geometry.trackSize();
      candidate = Math.min(candidate, first + MAX_HOLE_TRACKS);
      if (candidate > end && TrackBitmaps.count(toCopy, end, candidate) == candidate - end) {
        remaining.advanceIfNeeded(candidate); // skip the whole hole at once, not track by track
        return candidate;
      }
      while (end - first < MAX_HOLE_TRACKS && remaining.hasNext()
          && remaining.peekNext() == end && copier.geometry.stop(end) <= holeEnd) {
        remaining.next();
        end++;
      }
    }
    return end;
  }

  @Override
  public synchronized boolean exhausted() {
    return finished || failure != null || cancelledBecause != null || !remaining.hasNext();
  }

  private void copy(long first, long planned, boolean mayGrow) {
    try {
      long end = mayGrow ? extendOverHole(first, planned) : planned;
      PairCopier.RunResult r = runner.run(first, end);
      synchronized (this) {
        if (r.stopped()) {
          cancel("pair '" + pairId + "' is gone");
        } else {
          done += end - first;
          copied += r.copiedTracks();
          bytes += r.bytes();
        }
      }
    } catch (VolumeIOException e) {
      fail(new VolumeIOException("pair '" + pairId + "': " + kind + " request " + id
          + " stopped after " + progress() + ": " + e.getMessage()
          + ". The pair is SUSPENDED; tracks not copied stay pending. Fix the backend and call "
          + "resume().", e));
    } catch (RuntimeException | Error e) {
      fail(new VolumeIOException("pair '" + pairId + "': " + kind + " request " + id
          + " failed unexpectedly (" + e + "); the pair is SUSPENDED, call resume()", e));
      throw e;
    } finally {
      synchronized (this) {
        inFlight--;
      }
      finishIfIdle();
    }
  }

  private synchronized void fail(VolumeIOException e) {
    if (failure == null) {
      failure = e;
    }
  }

  /** Completes the job once no run is in flight and no run is left to start. */
  private void finishIfIdle() {
    VolumeIOException error;
    synchronized (this) {
      if (finished || inFlight > 0 || !exhausted()) {
        return;
      }
      finished = true;
      error = failure;
    }
    owner.jobFinished(this, error);
    if (error != null) {
      completion.completeExceptionally(error);
    } else if (cancelledBecause != null) {
      completion.completeExceptionally(new CancellationException(
          kind + " request " + id + " of pair '" + pairId + "' was abandoned: "
              + cancelledBecause));
    } else {
      completion.complete(progress());
    }
  }

  /** Stops the job before its next run; its future then completes with a CancellationException. */
  public void cancel(String why) {
    synchronized (this) {
      if (cancelledBecause == null && !finished) {
        cancelledBecause = why;
      }
    }
    finishIfIdle();
  }

  /** The tracks this job drains (a copy; those already done included). */
  public synchronized Roaring64Bitmap tracks() {
    return toCopy.clone();
  }

  public synchronized boolean wasCancelled() {
    return cancelledBecause != null;
  }

  public boolean drainsMirror() {
    return drainsMirror;
  }

  @Override
  public long id() {
    return id;
  }

  @Override
  public String pairId() {
    return pairId;
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
  public synchronized CopyProgress progress() {
    return new CopyProgress(tracksToCopy, done, copied, bytes);
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
      throw new PairKitException(kind + " request " + id + " of pair '" + pairId
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
      throw new PairKitException("interrupted while waiting for request " + id + " of pair '"
          + pairId + "'", e);
    }
  }

  @Override
  public String toString() {
    return kind + " #" + id + " of '" + pairId + "' " + region + ": " + progress();
  }
}
