package io.pairkit.core.internal.engine;

import io.pairkit.api.CopyRequest;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.PairState;
import io.pairkit.api.RequestKind;
import io.pairkit.api.error.AlreadyClosedException;
import io.pairkit.api.error.PairStateException;
import io.pairkit.core.internal.engine.bitmap.Transition;
import io.pairkit.core.internal.engine.copy.CopyJob;
import io.pairkit.core.internal.engine.track.TrackLocks;
import java.util.List;
import org.roaringbitmap.longlong.Roaring64Bitmap;

/**
 * Request instants: a request is admitted and takes effect with host writes to both volumes held
 * off (both barriers exclusive, primary first) and the pair's life cycle locked, so it is atomic
 * with respect to every host write and every state change; then its copy starts. A refused
 * request changes nothing. Delete goes through here too.
 */
final class RequestAdmission {
  private final AbstractPair pair;

  RequestAdmission(AbstractPair pair) {
    this.pair = pair;
  }

  /** What a request does at its instant. */
  @FunctionalInterface
  interface Instant {
    /**
     * Checks admission in {@code state}, changing nothing (a refusal throws), and returns the
     * change to make. Admission and change are split so that a consistency group can admit every
     * member's request before it changes any.
     */
    Change admit(PairState state);
  }

  /** The bit change of an admitted request. */
  @FunctionalInterface
  interface Change {
    /** Applies it to the bitmaps; returns the region's tracks, whose pending ones the job drains. */
    Roaring64Bitmap apply();

    /**
     * What {@link #apply} copied itself, at the instant, as {@code {tracks, bytes}} (the exact
     * part of tracks a region covers only in part); null if nothing.
     */
    default long[] copiedAtInstant() {
      return null;
    }
  }

  /**
   * A request as a strategy defines it, before admission. {@code exactTracks}: tracks the region
   * covers only in part, whose covered bytes the change copies at the instant; their track locks
   * are held across it (empty: none).
   */
  record Planned(RequestKind kind, ExtentSet region, boolean drainsMirror, Instant instant,
      Roaring64Bitmap exactTracks) {
    Planned(RequestKind kind, ExtentSet region, boolean drainsMirror, Instant instant) {
      this(kind, region, drainsMirror, instant, new Roaring64Bitmap());
    }
  }

  /** Admits a planned request at its instant, then starts its copy. */
  CopyRequest request(Planned p) {
    return request(p.kind(), p.region(), p.drainsMirror(), p.instant(), p.exactTracks());
  }

  /** Admits a request at its instant, then starts its copy. */
  CopyRequest request(RequestKind kind, ExtentSet region, boolean drainsMirror,
      Instant instant) {
    return request(kind, region, drainsMirror, instant, new Roaring64Bitmap());
  }

  private CopyRequest request(RequestKind kind, ExtentSet region, boolean drainsMirror,
      Instant instant, Roaring64Bitmap exactTracks) {
    CopyJob job;
    long ticket = 0;
    RuntimeException unrecorded = null;
    boolean freezes = kind == RequestKind.SPLIT || kind == RequestKind.EXTENT_SPLIT;
    if (freezes && pair.engine.store != null) {
      // Copies and synchronous writes made durable now do not count as maybe-lost at the
      // instant: the split then records fewer point-in-time copies as due, and the first host
      // writes after it need no exact record.
      pair.settle();
    }
    lockBarriers();
    try (TrackLocks.Held exact = pair.primary.trackLocks.lockTracks(exactTracks)) {
      beforeInstant(kind);
      synchronized (pair.lifecycle) {
        PairState state = pair.state();
        checkLive(kind, state);
        synchronized (pair.bitmaps) { // the record lands in the order of the bit changes
          Change change = instant.admit(state);
          Roaring64Bitmap tracks = change.apply();
          job = newJob(kind, region, tracks, drainsMirror);
          job.copiedAtInstant(change.copiedAtInstant());
          if (pair.engine.store != null) {
            try {
              ticket = pair.engine.store.instant(pair.id(), job.id(), kind.name(), region,
                  drainsMirror, transitionOf(kind).name(), tracks,
                  pair.bitmaps.mayNeedCopyIn(tracks));
            } catch (RuntimeException e) {
              unrecorded = e; // the metadata failed: the change took effect in memory all the same
            }
          }
        }
      }
      pair.engine.instantHook.atInstant(pair, job.id());
    } finally {
      unlockBarriers();
    }
    try {
      if (ticket > 0) {
        pair.engine.store.awaitDurable(ticket); // rule 4: a request returns once recorded
      }
    } catch (RuntimeException e) {
      unrecorded = e; // it took effect in memory all the same: its copy must run
    }
    pair.publishState(); // before the job starts, so listeners see e.g. SPLITTING even for tiny jobs
    job.start(pair.engine.scheduler);
    if (unrecorded != null) {
      throw unrecorded;
    }
    return job;
  }

  /** Refuses any request but resume on a closed, deleted or suspended pair; holds lifecycle. */
  void checkLive(RequestKind kind, PairState state) {
    if (pair.lifecycle.closed()) {
      throw new AlreadyClosedException("pair '" + pair.id() + "' belongs to a closed "
          + "controller and cannot accept " + kind + "; open a new controller");
    }
    if (state == PairState.DELETED) {
      throw pair.wrongState(kind, state, "the pair was deleted; create a new pair");
    }
    if (state == PairState.RESTORING) {
      throw pair.wrongState(kind, state, "a restore is copying the split image back to the "
          + "primary; wait for its completion()");
    }
    boolean resumesARestore = kind == RequestKind.RESUME && pair.restore != null
        && pair.bitmaps.pendingCount() == 0;
    if (kind != RequestKind.RESTORE && !resumesARestore
        && !pair.secondary.primaryOf.isEmpty()) {
      // A resume is allowed only to finish a restore a failure stopped, with nothing pending:
      // its copy would otherwise write the middle volume behind the lower pair's write rule.
      throw pair.wrongState(kind, state, "its secondary '" + pair.secondary.name() + "' is the "
          + "primary of pair '" + pair.secondary.primaryOf.get(0).id() + "' (a cascade), and "
          + kind + " would copy into it under that pair; only a restore (which reads it) and "
          + "the resume of a restore a failure stopped are allowed. Delete pair '" + pair.secondary.primaryOf.get(0).id() + "' first");
    }
    if (state == PairState.SUSPENDED && kind != RequestKind.RESUME) {
      throw pair.wrongState(kind, state, pair.lifecycle.suspendedByRequest()
          ? "it was suspended by request; resume() it first (that copies what changed "
              + "meanwhile)"
          : "a background copy failed (" + pair.lifecycle.suspendedBy().getMessage()
              + "); fix the backend, then call resume()");
    }
  }

  /** What a request kind does to the bitmaps, as its record names it. */
  static String transitionName(RequestKind kind) {
    return transitionOf(kind).name();
  }

  /**
   * What must be durable before a request of {@code kind} takes effect; called with host writes
   * held off. A freeze settles the synchronous mirror's writes (see
   * {@link #settleSynchronousWrites}); a restore flushes its source, the secondary, so that what
   * it copies back is durable there and a restore redone after a crash copies the same data.
   */
  void beforeInstant(RequestKind kind) {
    if (kind == RequestKind.SPLIT || kind == RequestKind.EXTENT_SPLIT) {
      settleSynchronousWrites();
    } else if (kind == RequestKind.RESTORE && pair.engine.store != null) {
      pair.copier.secondary().flush();
    }
  }

  /**
   * With durable metadata, makes the synchronous mirror writes not yet covered by a flush durable
   * on the secondary. A split freezes tracks those writes left in step without a pending bit; once
   * the primary is overwritten after the split, the secondary holds the only point-in-time copy
   * (rule 3's reason), so it must be durable before any such overwrite can land.
   *
   * @throws io.pairkit.api.error.VolumeIOException if the secondary's flush fails; the request
   *     then changes nothing
   */
  void settleSynchronousWrites() {
    if (pair.engine.store != null && pair.intent.anyUnsettled()) {
      pair.copier.secondary().flush(); // no settle: the marks go with the next one's P flush
    }
  }

  /** A job draining the pending tracks of {@code regionTracks}, registered as running. */
  CopyJob newJob(RequestKind kind, ExtentSet region, Roaring64Bitmap regionTracks,
      boolean drainsMirror) {
    if (kind == RequestKind.RESTORE) {
      return restoreJob(pair.engine.requestIds.incrementAndGet(), region, pair.restore);
    }
    CopyJob job = new CopyJob(pair.engine.requestIds.incrementAndGet(), pair.id(), kind, region,
        pair.bitmaps.pendingIn(regionTracks), drainsMirror, pair.copier, pair::jobFinished);
    pair.lifecycle.add(job);
    return job;
  }

  /**
   * The job of a restore (a new one, or one that runs again after a restart or a failure),
   * registered as running: copies {@code restore}'s tracks back to the primary.
   */
  CopyJob restoreJob(long id, ExtentSet region, io.pairkit.core.internal.engine.copy.Restore restore) {
    CopyJob job = new CopyJob(id, pair.id(), RequestKind.RESTORE, region, restore.tracks(),
        false, pair.copier, pair::jobFinished, restore::run, false);
    pair.restoreStarted(new io.pairkit.core.internal.metadata.RequestInfo(id, RequestKind.RESTORE.name(),
        region, false));
    pair.lifecycle.add(job);
    return job;
  }

  /** What a request kind does to the bitmaps at its instant, by name. */
  private static Transition transitionOf(RequestKind kind) {
    return switch (kind) {
      case CREATE -> Transition.PEND;
      case SPLIT, EXTENT_SPLIT -> Transition.FREEZE;
      case EXTENT_UPDATE -> Transition.UPDATE;
      case RESYNC, EXTENT_JOIN -> Transition.JOIN;
      case RESUME -> Transition.RESUME;
      case RESTORE -> Transition.RESTORE;
    };
  }

  /** A request that ran before a restart, copying what is still pending in its region. */
  CopyJob restartJob(long id, RequestKind kind, ExtentSet region, boolean drainsMirror) {
    Roaring64Bitmap tracks = kind == RequestKind.CREATE || kind == RequestKind.RESUME
        || kind == RequestKind.RESYNC ? pair.bitmaps.scope() : pair.geometry.tracksOf(region);
    CopyJob job = new CopyJob(id, pair.id(), kind, region, pair.bitmaps.pendingIn(tracks),
        drainsMirror, pair.copier, pair::jobFinished);
    pair.lifecycle.add(job);
    return job;
  }

  /**
   * A request started by recovery (not by the host) that copies {@code tracks}, split tracks no
   * restarted request covers. Not recorded: a crash before it ends finds the same tracks again.
   */
  CopyJob recoveryCopy(RequestKind kind, ExtentSet region, Roaring64Bitmap tracks) {
    CopyJob job = new CopyJob(pair.engine.requestIds.incrementAndGet(), pair.id(), kind, region,
        tracks, false, pair.copier, pair::jobFinished);
    pair.lifecycle.add(job);
    return job;
  }

  /** A request already done (the initial copy of a restored pair): nothing to copy. */
  CopyJob finishedJob(RequestKind kind, ExtentSet region) {
    CopyJob job = new CopyJob(0, pair.id(), kind, region, new Roaring64Bitmap(), false,
        pair.copier, (j, failure) -> { });
    job.start(pair.engine.scheduler);
    return job;
  }

  /** Deletes the pair: refused while a split copy is incomplete unless {@code force}. */
  void delete(boolean force) {
    List<CopyJob> jobs;
    long ticket = 0;
    lockBarriers();
    try {
      synchronized (pair.lifecycle) {
        PairState state = pair.state();
        if (pair.lifecycle.gone()) {
          return;
        }
        io.pairkit.core.internal.engine.copy.Restore restoring = pair.restore;
        if (!force && restoring != null) {
          throw new PairStateException(pair.id(), state, "pair '" + pair.id() + "' is " + state
              + " and cannot be deleted yet: a restore has copied only part of the split image "
              + "back to primary '" + pair.primary.name() + "' (" + restoring.tracks()
                  .getLongCardinality() + " of " + restoring.trackCount() + " tracks still to "
              + "restore), which would be left mixed; wait for the restore's completion() "
              + (state == PairState.SUSPENDED ? "after resume() " : "") + "or call "
              + "forceDelete()");
        }
        long incomplete = pair.bitmaps.frozenPendingCount();
        if (!force && incomplete > 0) {
          throw new PairStateException(pair.id(), state, "pair '" + pair.id() + "' is " + state
              + " and cannot be deleted yet: " + incomplete + " split tracks are still being "
              + "copied, and the secondary would keep a half-copied image; wait for the split "
              + "request's completion() or call forceDelete()");
        }
        boolean copying = !pair.lifecycle.initialCopyDone() || state == PairState.RESYNCING;
        if (!force && copying) {
          throw new PairStateException(pair.id(), state, "pair '" + pair.id() + "' is " + state
              + " and cannot be deleted yet: its secondary '" + pair.secondary.name()
              + "' does not hold a complete image (" + pair.bitmaps.pendingCount()
              + " tracks still to copy" + (state == PairState.RESYNCING ? ", the rest mixed "
                  + "with the split image" : "") + "); wait for the copy's completion(), or "
              + "call forceDelete() to leave it incomplete");
        }
        jobs = pair.lifecycle.markDeleted();
        if (pair.engine.store != null) {
          ticket = pair.engine.store.delete(pair.id());
        }
      }
      // Wait out copies in flight, so none lands on the secondary after delete returns.
      pair.copier.stop();
      if (ticket > 0) {
        // Durable before host writes may skip the pair's rule: a crash must not bring the pair
        // back with a write it never saw.
        pair.engine.store.awaitDurable(ticket);
      }
      pair.primary.primaryOf.remove(pair);
      pair.secondary.secondaryOf = null;
      if (pair.restore != null) { // forced: the primary no longer restores from the secondary
        pair.restore = null;
        pair.primary.restoresRunning.decrementAndGet();
      }
    } finally {
      unlockBarriers();
    }
    pair.engine.durablePairs.remove(pair);
    pair.mirror().end();
    for (CopyJob j : jobs) {
      j.cancel("pair '" + pair.id() + "' was deleted");
    }
    pair.onDelete.run();
    pair.publishState();
  }

  /**
   * Suspends the pair by request at an instant: from then on host writes to mirrored tracks are
   * recorded pending and go to the primary only, and background copies stop (the initial copy,
   * a resync or a resume is abandoned; {@code resume()} drains what they left). Returns once the
   * suspension is durable and no copy is still writing the secondary.
   */
  void suspend() {
    List<CopyJob> draining = new java.util.ArrayList<>();
    long ticket = 0;
    lockBarriers();
    try {
      synchronized (pair.lifecycle) {
        PairState state = pair.state();
        if (pair.lifecycle.closed()) {
          throw new AlreadyClosedException("pair '" + pair.id() + "' belongs to a closed "
              + "controller and cannot be suspended; open a new controller");
        }
        String refusal = switch (state) {
          case FORMING, FORMED, RESYNCING, EXTENT_SPLIT -> null;
          case SPLIT -> "a split pair copies nothing to the secondary; resync it first if it "
              + "should mirror, then suspend";
          case RESTORING -> "a restore is copying the split image back to the primary; wait "
              + "for its completion(), then suspend";
          case SPLITTING, EXTENT_SPLITTING, EXTENT_JOINING -> "wait for the running request's "
              + "completion(), then suspend";
          case SUSPENDED -> pair.lifecycle.suspendedByRequest() ? "it is suspended already; "
              + "resume() it to copy what changed" : "a backend failure suspended it already ("
              + pair.lifecycle.suspendedBy().getMessage() + ")";
          case DELETED -> "the pair was deleted; create a new pair";
        };
        if (refusal != null) {
          throw new PairStateException(pair.id(), state, "pair '" + pair.id() + "' ("
              + pair.strategy() + ") is " + state + " and cannot be suspended: " + refusal);
        }
        for (CopyJob j : pair.lifecycle.activeJobs()) {
          if (j.drainsMirror()) {
            draining.add(j);
          }
        }
        if (pair.engine.store != null) {
          ticket = pair.engine.store.suspend(pair.id(), PairLifecycle.BY_REQUEST);
        }
        pair.lifecycle.suspendByRequest(new PairStateException(pair.id(), PairState.SUSPENDED,
            "pair '" + pair.id() + "' was suspended by request; resume() it to copy what "
                + "changed meanwhile"));
        pair.syncMirror.hold(true);
        pair.copier.hold(true);
      }
      pair.copier.awaitRunsInFlight(); // none lands on the secondary after suspend returns
    } finally {
      unlockBarriers();
    }
    if (ticket > 0) {
      pair.engine.store.awaitDurable(ticket); // rule 4: it returns once recorded
    }
    for (CopyJob j : draining) {
      j.cancel("the pair was suspended by request; resume() copies what is left");
    }
  }

  private void lockBarriers() {
    pair.primary.barrier.writeLock().lock();
    pair.secondary.barrier.writeLock().lock();
  }

  private void unlockBarriers() {
    pair.secondary.barrier.writeLock().unlock();
    pair.primary.barrier.writeLock().unlock();
  }
}
