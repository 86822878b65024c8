package io.pairkit.core.internal.engine;

import io.pairkit.api.Pair;
import io.pairkit.api.PairListener;
import io.pairkit.api.PairState;
import io.pairkit.api.RequestKind;
import io.pairkit.api.error.VolumeIOException;
import io.pairkit.core.internal.engine.copy.CopyJob;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * A pair's life cycle: the facts its state is derived from (requests running, initial copy done,
 * suspended by which failure, deleted, closed with its controller) and the listeners told of state
 * changes. The state is never stored, only derived, so it always agrees with the bitmaps.
 *
 * <p>Threading: thread-safe; its monitor is held briefly and never across I/O or a call into the
 * mirror or the scheduler.
 */
final class PairLifecycle {
  /** What a strategy derives its state from. */
  record Facts(boolean nothingFrozen, boolean initialCopyDone, List<CopyJob> activeJobs) {
    boolean running(RequestKind kind) {
      for (CopyJob j : activeJobs) {
        if (j.kind() == kind) {
          return true;
        }
      }
      return false;
    }
  }

  /** The reason metadata records for a suspension by request (not a backend failure). */
  static final String BY_REQUEST = "suspended by request";

  private final List<CopyJob> activeJobs = new ArrayList<>();
  private int jobsDrainingMirror;
  private boolean initialCopyDone;
  /** Why the pair is suspended (a backend failure, or a suspension by request), or null. */
  private RuntimeException suspendedBy;
  private boolean suspendedByRequest;
  private boolean deleted;
  /** The state when the controller closed, kept so a closed pair does not look deleted. */
  private PairState closedAs;

  private final CopyOnWriteArrayList<PairListener> listeners = new CopyOnWriteArrayList<>();
  private final Object publishLock = new Object();
  private PairState lastPublished = PairState.FORMING;

  synchronized PairState state(Function<Facts, PairState> strategy,
      BooleanSupplier nothingFrozen) {
    if (closedAs != null) {
      return closedAs;
    }
    if (deleted) {
      return PairState.DELETED;
    }
    if (suspendedBy != null) {
      return PairState.SUSPENDED;
    }
    return strategy.apply(new Facts(nothingFrozen.getAsBoolean(), initialCopyDone, List.copyOf(activeJobs)));
  }

  /** The facts of a pair restored from durable metadata. */
  synchronized void restore(boolean initialCopyDone, RuntimeException suspendedBy,
      boolean byRequest) {
    this.initialCopyDone = initialCopyDone;
    this.suspendedBy = suspendedBy;
    this.suspendedByRequest = suspendedBy != null && byRequest;
  }

  /** Suspends the pair by request ({@code why} says so to callers), unless it is gone. */
  synchronized void suspendByRequest(RuntimeException why) {
    if (!deleted && closedAs == null) {
      suspendedBy = why;
      suspendedByRequest = true;
    }
  }

  synchronized boolean suspendedByRequest() {
    return suspendedBy != null && suspendedByRequest;
  }

  synchronized void add(CopyJob job) {
    activeJobs.add(job);
    if (job.drainsMirror()) {
      jobsDrainingMirror++;
    }
  }

  /** Records a job's end; a failure suspends the pair. */
  synchronized void finished(CopyJob job, VolumeIOException failure) {
    if (!activeJobs.remove(job)) {
      return;
    }
    if (job.drainsMirror()) {
      jobsDrainingMirror--;
    }
    // A resume drains everything that was pending, including what the initial copy left.
    boolean completesInitialCopy =
        job.kind() == RequestKind.CREATE || job.kind() == RequestKind.RESUME;
    if (completesInitialCopy && failure == null && !job.wasCancelled()) {
      initialCopyDone = true;
    }
    suspend(failure);
  }

  /** Suspends the pair for {@code failure} (null: nothing), unless it is gone or suspended. */
  synchronized void suspend(VolumeIOException failure) {
    if (failure != null && suspendedBy == null && !deleted && closedAs == null) {
      suspendedBy = failure;
    }
  }

  /** Leaves SUSPENDED (resume's instant). */
  synchronized void clearSuspension() {
    suspendedBy = null;
    suspendedByRequest = false;
  }

  synchronized RuntimeException suspendedBy() {
    return suspendedBy;
  }

  /** The mirror may copy: live, not suspended, and no running request drains mirrored tracks. */
  synchronized boolean mayMirror() {
    return !deleted && closedAs == null && suspendedBy == null && jobsDrainingMirror == 0;
  }

  /** Whether the initial copy (or a resume after it) completed. */
  synchronized boolean initialCopyDone() {
    return initialCopyDone;
  }

  synchronized boolean gone() {
    return deleted || closedAs != null;
  }

  /** Marks the pair deleted; returns the jobs to cancel. */
  synchronized List<CopyJob> markDeleted() {
    deleted = true;
    return List.copyOf(activeJobs);
  }

  /** Marks the pair closed with its controller, keeping {@code state}; returns jobs to cancel. */
  synchronized List<CopyJob> markClosed(PairState state) {
    closedAs = state;
    return List.copyOf(activeJobs);
  }

  synchronized boolean closed() {
    return closedAs != null;
  }

  synchronized List<CopyJob> activeJobs() {
    return List.copyOf(activeJobs);
  }

  void addListener(PairListener l) {
    listeners.add(l);
  }

  void removeListener(PairListener l) {
    listeners.remove(l);
  }

  /** Tells listeners, on the event thread, if the state changed since they were last told. */
  void publish(Pair pair, Supplier<PairState> state, Engine engine) {
    synchronized (publishLock) {
      PairState now = state.get();
      PairState before = lastPublished;
      if (now != before) {
        lastPublished = now;
        engine.notifyListeners(() -> {
          for (PairListener l : listeners) {
            engine.tell(l, pair, before, now);
          }
          for (PairListener l : engine.listeners) {
            engine.tell(l, pair, before, now);
          }
        });
      }
    }
  }
}
