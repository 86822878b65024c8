package io.pairkit.core.internal.engine.copy;

import io.pairkit.api.error.VolumeIOException;
import io.pairkit.core.internal.engine.bitmap.Bits;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.roaringbitmap.longlong.Roaring64Bitmap;

/**
 * A pair's asynchronous mirror: copies mirrored tracks that host writes made pending, one run at a
 * time on the {@link CopyScheduler} (which serves request jobs first), resuming after the last run
 * so a long backlog makes steady progress. It rests while the pair may not mirror (suspended,
 * or a request that drains mirrored tracks itself is running) and ends when the pair stops.
 *
 * <p>Threading: thread-safe.
 */
public final class Mirror implements CopyScheduler.Source {

  /** What the mirror asks of its pair. */
  public interface Owner {
    /** False while the pair is suspended or a request drains its mirrored tracks. */
    boolean mayMirror();

    /** A mirror copy failed: the pair suspends. */
    void mirrorFailed(VolumeIOException e);

    /** The mirror has no backlog and no copy in flight. */
    void caughtUp();
  }

  private final PairCopier copier;
  private final Owner owner;
  private final CopyScheduler scheduler;
  // Guarded by this.
  private final Roaring64Bitmap inFlightTracks = new Roaring64Bitmap();
  private int inFlight;
  private long cursor;
  private boolean ended;
  private final List<CompletableFuture<Void>> drainWaiters = new ArrayList<>();

  public Mirror(PairCopier copier, Owner owner, CopyScheduler scheduler) {
    this.copier = copier;
    this.owner = owner;
    this.scheduler = scheduler;
  }

  /** Registers with the scheduler; call once, when the pair starts. */
  public void start() {
    scheduler.submitMirror(this);
  }

  /** Host writes made tracks pending: wake an idle worker (cheap when none is idle). */
  public void kick() {
    scheduler.signalOne();
  }

  /** The pair may mirror again (a draining request ended, a resume): wake the workers. */
  public void wake() {
    scheduler.signal();
  }

  /**
   * Mirror runs in flight at most: the mirror is background work behind host writes, made of
   * small scattered runs that gain little from depth, and every run in flight is a thread
   * competing with the host for CPU (on a small machine, eight of them starved the host).
   */
  static final int MAX_IN_FLIGHT = 2;

  @Override
  public synchronized Runnable poll() {
    if (ended || inFlight >= Math.min(MAX_IN_FLIGHT, copier.concurrency())
        || !owner.mayMirror()) {
      return null;
    }
    long[] run = copier.bitmaps.nextMirrorRun(cursor, copier.runTracks(), inFlightTracks);
    if (run == null && cursor > 0) {
      run = copier.bitmaps.nextMirrorRun(0, copier.runTracks(), inFlightTracks);
    }
    if (run == null) {
      return null;
    }
    long wakeAt = copier.pace.tryStart(copier.runBytes());
    if (wakeAt != 0) {
      scheduler.wakeAt(wakeAt);
      return null;
    }
    long first = run[0];
    long end = run[1];
    cursor = end;
    inFlight++;
    Bits.addRange(inFlightTracks, first, end);
    return () -> copy(first, end);
  }

  private void copy(long first, long end) {
    try {
      if (copier.copyRun(first, end, true).stopped()) {
        end();
      }
    } catch (VolumeIOException e) {
      owner.mirrorFailed(e);
    } catch (RuntimeException e) {
      owner.mirrorFailed(new VolumeIOException("a mirror copy failed unexpectedly (" + e
          + "); the pair is SUSPENDED, call resume()", e));
    } finally {
      boolean idle;
      synchronized (this) {
        inFlight--;
        Bits.removeRange(inFlightTracks, first, end);
        idle = inFlight == 0 && copier.bitmaps.noMirrorBacklog();
      }
      completeDrainWaitersIfIdle(null);
      if (idle) {
        owner.caughtUp();
      }
    }
  }

  @Override
  public synchronized boolean exhausted() {
    return ended;
  }

  /** Mirrored tracks not yet copied. */
  public long backlog() {
    return copier.bitmaps.mirrorBacklog();
  }

  /**
   * Completes when no mirrored track needs a copy and no mirror copy is in flight; exceptionally
   * if the pair suspends first.
   */
  public CompletableFuture<Void> drained() {
    CompletableFuture<Void> f = new CompletableFuture<>();
    synchronized (this) {
      drainWaiters.add(f);
    }
    completeDrainWaitersIfIdle(null);
    kick();
    return f;
  }

  /**
   * Completes waiting {@link #drained()} futures if the mirror is idle, or with {@code failure}
   * (or when it ended) whatever the backlog.
   */
  public void completeDrainWaitersIfIdle(RuntimeException failure) {
    List<CompletableFuture<Void>> done;
    synchronized (this) {
      boolean idle = inFlight == 0 && copier.bitmaps.noMirrorBacklog();
      if (!idle && failure == null && !ended) {
        return;
      }
      done = new ArrayList<>(drainWaiters);
      drainWaiters.clear();
    }
    for (CompletableFuture<Void> f : done) {
      if (failure != null) {
        f.completeExceptionally(failure);
      } else {
        f.complete(null);
      }
    }
  }

  /** Stops for good (pair deleted or controller closed); waiting futures complete. */
  public void end() {
    synchronized (this) {
      ended = true;
    }
    completeDrainWaitersIfIdle(null);
    scheduler.signal();
  }
}
