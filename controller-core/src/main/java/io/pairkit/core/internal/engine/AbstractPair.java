package io.pairkit.core.internal.engine;

import io.pairkit.api.CopyRequest;
import io.pairkit.api.Extent;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.HostVolume;
import io.pairkit.api.MirrorMode;
import io.pairkit.api.MirrorStatus;
import io.pairkit.api.Pair;
import io.pairkit.api.PairListener;
import io.pairkit.api.PairOptions;
import io.pairkit.api.PairState;
import io.pairkit.api.PairStats;
import io.pairkit.api.PairStrategy;
import io.pairkit.api.RequestKind;
import io.pairkit.api.TrackStates;
import io.pairkit.api.error.ExtentOutOfRangeException;
import io.pairkit.api.error.InvalidArgumentException;
import io.pairkit.api.error.InvalidExtentException;
import io.pairkit.api.error.PairStateException;
import io.pairkit.api.error.SecondaryWriteRefusedException;
import io.pairkit.api.error.UnsupportedRequestException;
import io.pairkit.api.error.VolumeIOException;
import io.pairkit.core.internal.engine.bitmap.BitmapJournal;
import io.pairkit.core.internal.engine.bitmap.TrackBitmaps;
import io.pairkit.core.internal.engine.copy.CopyCounters;
import io.pairkit.core.internal.engine.copy.CopyJob;
import io.pairkit.core.internal.engine.copy.Mirror;
import io.pairkit.core.internal.engine.copy.PairCopier;
import io.pairkit.core.internal.engine.copy.Restore;
import io.pairkit.core.internal.engine.hostio.PrimaryWriteRule;
import io.pairkit.core.internal.engine.hostio.SecondaryIo;
import io.pairkit.core.internal.engine.hostio.SyncMirror;
import io.pairkit.core.internal.engine.intent.WriteIntent;
import io.pairkit.core.internal.engine.track.TrackGeometry;
import io.pairkit.core.internal.metadata.RequestInfo;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.roaringbitmap.longlong.Roaring64Bitmap;

/**
 * One pair: the thin facade over the collaborators of docs/DESIGN.md section 4 — its
 * {@link TrackBitmaps}, {@link PairCopier}, {@link PrimaryWriteRule}, {@link SecondaryIo},
 * {@link Mirror}, {@link RequestAdmission} and {@link PairLifecycle}. The strategies subclass it
 * to say which requests they offer and how their state is derived.
 *
 * <p>Over 500 lines: the pair's wiring (fresh, or restored from metadata with its requests
 * restarted) and its state-changing entry points (requests, resume, restore, suspend, delete)
 * all set the same fields (the running restore, the initial copy, the life cycle) under the
 * pair's barriers, so they stay together; each mechanism is a class of its own (the ones above,
 * {@link ExactExtents}, {@link LazyRound}, {@link PairRecovery}).
 */
abstract class AbstractPair implements Pair {
  final Engine engine;
  private final String id;
  final ManagedVolume primary;
  final ManagedVolume secondary;
  private final ExtentSet scope;
  final TrackGeometry geometry;
  final TrackBitmaps bitmaps;
  /** The pair's write-intent regions in memory (used with durable metadata). */
  final WriteIntent intent;
  /** The pair's mirror mode, and the synchronous mirror's state. */
  final SyncMirror syncMirror;
  final PairCopier copier;
  /** The bytes exact extents cover within tracks they touch in part. */
  final ExactExtents exact;
  private final PrimaryWriteRule writeRule;
  private final SecondaryIo secondaryIo;
  private final Mirror mirror;
  final PairLifecycle lifecycle = new PairLifecycle();
  final RequestAdmission admission;
  private volatile CopyJob initialCopy;
  /** Whether the pair was created with an initial copy ({@code PairOptions.initialCopy}). */
  private volatile boolean createdWithCopy = true;
  /** Split tracks a restored pair copies again with a request of its own (see constructor). */
  private long recoveredSplitTracks;

  /**
   * What a pair restored from durable metadata resumes with: its bits (what dirty write-intent
   * regions imply included) and the tracks of those regions.
   */
  record Restored(Roaring64Bitmap pending, Roaring64Bitmap changed, Roaring64Bitmap frozen,
      Roaring64Bitmap dirty, boolean initialCopyDone, String suspendedBecause,
      List<RequestInfo> requests, Roaring64Bitmap restoring, ExtentSet splitBytes) {
  }

  /** The running restore, or null; set and cleared with both barriers held (or at restart). */
  volatile Restore restore;
  /** The restore's request: its id and extents survive a failure, so resume() finishes it. */
  private volatile RequestInfo restoreRequest;

  /**
   * Creates the pair, with all of {@code scope} pending and its initial copy to run, or as
   * {@code restored} from durable metadata (then its unfinished requests run again). The caller
   * holds both barriers.
   */
  AbstractPair(Engine engine, String id, ManagedVolume primary, ManagedVolume secondary,
      ExtentSet scope, boolean wholeVolume, Restored restored) {
    this.engine = engine;
    this.id = id;
    this.primary = primary;
    this.secondary = secondary;
    this.scope = scope;
    this.geometry = primary.geometry;
    Roaring64Bitmap scopeTracks = geometry.tracksOf(scope);
    this.intent = new WriteIntent(geometry.trackCount(),
        Math.max(1, engine.config.writeIntentRegionSize() / geometry.trackSize()));
    BitmapJournal journal = engine.journalFor(id, intent);
    this.bitmaps = restored == null
        ? new TrackBitmaps(scopeTracks, wholeVolume, journal, geometry.trackSize())
        : new TrackBitmaps(scopeTracks, wholeVolume, journal, geometry.trackSize(),
            restored.pending(), restored.changed(), restored.frozen());
    if (restored != null) {
      markDurablyDirty(restored.dirty());
    }
    this.copier = new PairCopier(primary.backend(), secondary.backend(), geometry, scope,
        wholeVolume, bitmaps, primary.trackLocks, engine.pacer);
    this.exact = new ExactExtents(geometry, bitmaps, copier, engine.store != null);
    this.syncMirror = new SyncMirror(id, secondary.name(), secondary.capabilities(),
        engine.config.mirrorMode(), MirrorMode.AUTOMATIC);
    this.writeRule = new PrimaryWriteRule(copier,
        splitTracksKeepMirroredBytes() ? this::writtenThroughOfSplit : null);
    this.secondaryIo = new SecondaryIo(copier, primary.trackLocks, this::refuseSecondaryWrite,
        t -> {
          Restore r = restore;
          return r != null && r.holds(t);
        }, splitTracksKeepMirroredBytes() ? this::mirroredBytesOfSplit : null);
    this.mirror = new Mirror(copier, new Mirror.Owner() {
      @Override
      public boolean mayMirror() {
        return lifecycle.mayMirror();
      }

      @Override
      public void mirrorFailed(VolumeIOException e) {
        suspend(e);
      }

      @Override
      public void caughtUp() {
        syncMirror.caughtUp();
      }
    }, engine.scheduler);
    this.admission = new RequestAdmission(this);
    if (restored == null) {
      bitmaps.pendScope();
      this.initialCopy = admission.newJob(RequestKind.CREATE, scope, bitmaps.scope(), true);
      return;
    }
    CopyJob create = null;
    Roaring64Bitmap covered = new Roaring64Bitmap();
    boolean suspendedByRequest = PairLifecycle.BY_REQUEST.equals(restored.suspendedBecause());
    for (RequestInfo r : restored.requests()) {
      RequestKind kind = RequestKind.valueOf(r.kind());
      if (kind == RequestKind.RESTORE) {
        restoreRequest = r;
        restore = newRestore(r.region(), Roaring64Bitmap.and(restored.restoring(),
            bitmaps.frozenSnapshot()));
        primary.restoresRunning.incrementAndGet();
        if (restored.suspendedBecause() == null) {
          admission.restoreJob(r.id(), r.region(), restore);
        }
        continue;
      }
      if (suspendedByRequest && r.drainsMirror()) {
        // Abandoned by the suspension, whose end was not recorded before the crash.
        engine.store.done(id, r.id(), false);
        continue;
      }
      CopyJob job = admission.restartJob(r.id(), kind, r.region(), r.drainsMirror());
      covered.or(job.tracks());
      if (kind == RequestKind.CREATE) {
        create = job;
      }
    }
    // Split tracks still pending that no restarted request copies (their copy was made, but its
    // clear was not recorded before the crash, and the split's end was): the mirror never
    // copies split tracks, so without a job of their own they would wait for good.
    Roaring64Bitmap orphans = bitmaps.frozenPendingOutside(covered);
    if (!orphans.isEmpty()) {
      admission.recoveryCopy(splitKind(), splitTracks(), orphans);
    }
    this.recoveredSplitTracks = orphans.getLongCardinality();
    // A pair whose initial copy finished before the restart answers a done, empty request.
    this.initialCopy = create != null ? create : admission.finishedJob(RequestKind.CREATE, scope);
    if (suspendedByRequest) {
      lifecycle.restore(restored.initialCopyDone(), new PairStateException(id,
          PairState.SUSPENDED, "pair '" + id + "' was suspended by request before the "
              + "controller restarted; resume() it to copy what changed meanwhile"), true);
      syncMirror.hold(true);
      copier.hold(true);
    } else {
      lifecycle.restore(restored.initialCopyDone(), restored.suspendedBecause() == null ? null
          : new VolumeIOException("pair '" + id + "' was suspended before the controller "
              + "restarted: " + restored.suspendedBecause() + "; fix the backend and call "
              + "resume()"), false);
    }
  }

  /**
   * Creation without an initial copy ({@code paircreate -nocopy}): nothing is pending and the
   * initial copy counts as done. Before {@link #start()}, with both barriers held.
   */
  void skipInitialCopy() {
    bitmaps.unpendScope();
    lifecycle.finished(initialCopy, null);
    initialCopy = admission.finishedJob(RequestKind.CREATE, scope);
  }

  /** Starts the mirror and the copies of running requests; called once the pair is registered. */
  void start() {
    mirror.start();
    for (CopyJob job : lifecycle.activeJobs()) {
      job.start(engine.scheduler);
    }
    if (engine.store != null) {
      engine.durablePairs.add(this);
    }
  }

  /** Regions wholly inside {@code dirty} are durably dirty: writes there wait for nothing. */
  private void markDurablyDirty(Roaring64Bitmap dirty) {
    if (dirty.isEmpty()) {
      return;
    }
    for (long r = 0; r < intent.regionCount(); r++) {
      long first = intent.firstTrack(r);
      long end = Math.min(intent.endTrack(r), geometry.trackCount());
      if (TrackBitmaps.count(dirty, first, end) == end - first) {
        intent.markDurablyDirty(r);
      }
    }
  }

  /** One settle at a time: {@link #settle()}'s snapshot, flush and release go together. */
  private final Object settleLock = new Object();

  /**
   * Makes the copies made and the synchronous mirror writes that landed so far durable, with one
   * flush of the primary (a copy may have read data the primary had not made durable) and of the
   * secondary; the engine then no longer counts them as copies that may be lost. Does nothing
   * (no flush) when there were none. Used by the lazy rounds and before a split.
   *
   * @throws VolumeIOException if a flush fails; those copies and writes then stay unsettled
   */
  void settle() {
    synchronized (settleLock) {
      long epoch = intent.nextEpoch();
      boolean copies;
      synchronized (bitmaps) {
        copies = bitmaps.beginSettle();
      }
      if (copies || intent.anyUnsettled()) {
        try {
          copier.primary().flush(); // the copies' source is durable ...
          copier.secondary().flush(); // ... and so are the copies and the mirrored writes
        } catch (RuntimeException e) {
          synchronized (bitmaps) {
            bitmaps.settleFailed();
          }
          throw e;
        }
      }
      synchronized (bitmaps) {
        bitmaps.settled();
      }
      intent.settled(epoch);
    }
  }

  /**
   * One lazy round of a durable pair (rules 2 and 5 of docs/RELIABILITY.md), run by the engine
   * every {@code lazyClearDelay}; see {@link LazyRound}.
   */
  void lazyRound() {
    if (!lifecycle.gone()) {
      new LazyRound(this).run();
    }
  }

  /** The request kind that freezes tracks in this strategy (split or extent split). */
  abstract RequestKind splitKind();

  /**
   * For a pair restored from metadata: split tracks that were still recorded pending with no
   * request left to copy them, copied again by a request started at the restart.
   */
  long recoveredSplitTracks() {
    return recoveredSplitTracks;
  }

  PrimaryWriteRule writeRule() {
    return writeRule;
  }

  SecondaryIo secondaryIo() {
    return secondaryIo;
  }

  Mirror mirror() {
    return mirror;
  }

  // ---------------------------------------------------------------- identity and observation

  @Override
  public String id() {
    return id;
  }

  @Override
  public HostVolume primary() {
    return primary;
  }

  @Override
  public HostVolume secondary() {
    return secondary;
  }

  @Override
  public ExtentSet scope() {
    return scope;
  }

  @Override
  public int trackSize() {
    return geometry.trackSize();
  }

  @Override
  public ExtentSet splitExtents() {
    return splitTracks();
  }

  /** The split tracks as byte extents. */
  final ExtentSet splitTracks() {
    List<Extent> out = new ArrayList<>();
    for (long[] run : bitmaps.frozenRuns()) {
      out.add(geometry.extentOf(run[0], run[1]));
    }
    return ExtentSet.of(out);
  }

  @Override
  public TrackStates trackStates(Extent range) {
    if (range.end() > geometry.volumeSize()) {
      throw new ExtentOutOfRangeException("pair '" + id + "': range " + range + " reaches past "
          + "the end of volume '" + primary.name() + "' (" + geometry.volumeSize()
          + " bytes); ask within [0, " + geometry.volumeSize() + ")");
    }
    long first = geometry.trackOf(range.start());
    long end = geometry.endTrack(range.start(), range.length());
    if (end - first > MAX_TRACK_STATES) {
      throw new ExtentOutOfRangeException("pair '" + id + "': range " + range + " touches "
          + (end - first) + " tracks, more than " + MAX_TRACK_STATES + " per call; ask in "
          + "smaller ranges");
    }
    return new TrackStates(first, geometry.trackSize(), bitmaps.states(first, end));
  }

  @Override
  public PairStats stats() {
    CopyCounters c = copier.counters();
    synchronized (bitmaps) {
      return new PairStats(c.job(), c.mirror(), c.copyOnWrite(), c.secondaryBase(),
          bitmaps.pendingCount(), bitmaps.changedCount(), bitmaps.frozenCount(),
          bitmaps.mirrorBacklog(), c.skipped());
    }
  }

  @Override
  public CopyRequest initialCopy() {
    return initialCopy;
  }

  @Override
  public List<CopyRequest> activeRequests() {
    return List.copyOf(lifecycle.activeJobs());
  }

  @Override
  public PairState state() {
    return lifecycle.state(this::deriveState, bitmaps::nothingFrozen);
  }

  /** The strategy's state for these facts (not deleted, suspended or closed). */
  abstract PairState deriveState(PairLifecycle.Facts facts);

  @Override
  public void addListener(PairListener listener) {
    if (listener == null) {
      throw new InvalidArgumentException("pair '" + id + "': addListener needs a listener, got "
          + "null");
    }
    lifecycle.addListener(listener);
  }

  @Override
  public void removeListener(PairListener listener) {
    lifecycle.removeListener(listener);
  }

  /** Tells listeners if the state changed; never called under an engine lock. */
  void publishState() {
    lifecycle.publish(this, this::state, engine);
  }

  @Override
  public CompletableFuture<Void> mirrorDrained() {
    return mirror.drained();
  }

  @Override
  public MirrorStatus mirrorStatus() {
    return syncMirror.status();
  }

  @Override
  public void setMirrorMode(MirrorMode mode) {
    if (mode == null) {
      throw new InvalidArgumentException("pair '" + id + "': setMirrorMode needs a mode (one of "
          + java.util.Arrays.toString(MirrorMode.values()) + "), got null");
    }
    long ticket = 0;
    synchronized (lifecycle) {
      checkChangeable("its mirror mode");
      if (engine.store != null) {
        ticket = engine.store.options(id, PairOptionsCodec.toMap(options().withMirrorMode(mode)));
      }
      syncMirror.set(mode);
    }
    if (ticket > 0) {
      engine.store.awaitDurable(ticket);
    }
    mirror.wake(); // an asynchronous pair's backlog, or a synchronous one's, goes on copying
  }

  @Override
  public PairOptions options() {
    return PairOptions.defaults().withMirrorMode(syncMirror.configured())
        .withCopyPace(copier.pace.bytesPerSecond()).withInitialCopy(createdWithCopy);
  }

  /** Applies creation or recorded options; before the pair starts. */
  void applyOptions(PairOptions options) {
    syncMirror.set(options.mirrorMode());
    copier.pace.set(options.copyPace());
    createdWithCopy = options.initialCopy();
  }

  @Override
  public void setCopyPace(long bytesPerSecond) {
    if (bytesPerSecond < 0) {
      throw new InvalidArgumentException("pair '" + id + "': copy pace " + bytesPerSecond
          + " bytes per second; give 0 for no cap of its own or a positive rate");
    }
    long ticket = 0;
    synchronized (lifecycle) {
      checkChangeable("its copy pace");
      if (engine.store != null) {
        ticket = engine.store.options(id,
            PairOptionsCodec.toMap(options().withCopyPace(bytesPerSecond)));
      }
      copier.pace.set(bytesPerSecond);
    }
    if (ticket > 0) {
      engine.store.awaitDurable(ticket);
    }
    mirror.wake(); // copies held back by the old pace may go now
  }

  @Override
  public void suspend() {
    admission.suspend();
    publishState();
    mirror.completeDrainWaitersIfIdle(lifecycle.suspendedBy());
  }

  /** Refuses a settings change on a closed controller or a deleted pair; holds lifecycle. */
  private void checkChangeable(String what) {
    if (lifecycle.closed()) {
      throw new io.pairkit.api.error.AlreadyClosedException("pair '" + id + "' belongs to a "
          + "closed controller; open a new controller to change " + what);
    }
    if (lifecycle.gone()) {
      throw new PairStateException(id, PairState.DELETED, "pair '" + id + "' was deleted: "
          + what + " cannot change; create a new pair");
    }
  }

  /**
   * A flush of the secondary, which mirrors synchronously, failed: its recent synchronous writes
   * may not be durable there, so the mirrored tracks of their regions become pending and the
   * pair goes asynchronous until the mirror has copied them.
   */
  void secondaryFlushFailed(RuntimeException e) {
    for (long r : intent.unsettledRegions()) {
      bitmaps.markMirrorPending(intent.firstTrack(r),
          Math.min(intent.endTrack(r), geometry.trackCount()));
    }
    syncMirror.failed("a flush", e);
    mirror.kick();
  }

  // ---------------------------------------------------------------- requests

  @Override
  public CopyRequest resume() {
    CopyJob[] restart = new CopyJob[1];
    boolean[] applied = new boolean[1];
    CopyRequest r;
    try {
      r = admission.request(RequestKind.RESUME, scope, true, state -> {
        if (state != PairState.SUSPENDED) {
          throw wrongState(RequestKind.RESUME, state, "resume() is only for a SUSPENDED pair");
        }
        return () -> {
          applied[0] = true;
          lifecycle.clearSuspension();
          syncMirror.hold(false);
          copier.hold(false);
          Restore unfinished = restore;
          if (unfinished != null && !restoreRunning()) { // a failure stopped it: it goes on
            restart[0] = admission.restoreJob(restoreRequest.id(), restoreRequest.region(),
                unfinished);
          }
          return bitmaps.scope();
        };
      });
    } finally {
      // Started even when recording the resume failed after its instant: it took effect in
      // memory, and a restore job left unstarted would hold the pair RESTORING for good.
      if (restart[0] != null) {
        restart[0].start(engine.scheduler);
        publishState();
      }
      if (applied[0]) {
        afterResume();
      }
    }
    return r;
  }

  private boolean restoreRunning() {
    for (CopyJob j : lifecycle.activeJobs()) {
      if (j.kind() == RequestKind.RESTORE) {
        return true;
      }
    }
    return false;
  }

  // ---------------------------------------------------------------- restore

  /**
   * A restore of {@code region} (null, or the scope: everything split), as every strategy plans
   * it: allowed when the pair is split with no request copying; restores the split tracks of the
   * region that changed on either side.
   */
  RequestAdmission.Planned planRestore(ExtentSet region, PairState... allowed) {
    boolean all = region == null || region.equals(scope);
    ExtentSet extents = all ? scope : region;
    Roaring64Bitmap asked = all ? null : regionTracks(RequestKind.RESTORE, region);
    return new RequestAdmission.Planned(RequestKind.RESTORE, extents, false, state -> {
      if (!java.util.Arrays.asList(allowed).contains(state)) {
        throw wrongState(RequestKind.RESTORE, state, switch (state) {
          case FORMING, FORMED -> "a restore copies a split image back; split the pair "
              + "first (a mirrored secondary holds what the primary holds)";
          case RESTORING -> "a restore is running; wait for its completion()";
          default -> "wait for the running request's completion(), then restore";
        });
      }
      Roaring64Bitmap tracks;
      if (all) {
        tracks = bitmaps.frozenSnapshot();
      } else {
        Roaring64Bitmap inScope = Roaring64Bitmap.and(asked, bitmaps.scope());
        if (inScope.isEmpty()) {
          throw new InvalidExtentException("pair '" + id + "': restore extents " + region
              + " lie outside the pair's extents " + scope + "; give extents within them");
        }
        Roaring64Bitmap notFrozen = bitmaps.notFrozen(inScope);
        if (!notFrozen.isEmpty()) {
          throw new InvalidExtentException("pair '" + id + "': restore extents " + region
              + " touch " + notFrozen.getLongCardinality() + " tracks that are not split (from "
              + "byte " + geometry.start(notFrozen.first()) + "; split now: " + splitExtents()
              + "): their secondary mirrors the primary, so there is nothing to restore from; "
              + "give extents within the split ones");
        }
        tracks = inScope;
      }
      for (CopyJob j : lifecycle.activeJobs()) {
        throw wrongState(RequestKind.RESTORE, state, j.kind() + " request " + j.id()
            + " is still copying; wait for its completion(), then restore");
      }
      if (primary.secondaryOf != null) {
        throw wrongState(RequestKind.RESTORE, state, "its primary '" + primary.name() + "' is "
            + "the secondary of pair '" + primary.secondaryOf.id() + "' (a cascade), which a "
            + "restore into it would bypass; restore the upper pair instead, or delete pair '"
            + primary.secondaryOf.id() + "' first");
      }
      for (AbstractPair other : primary.primaryOf) {
        if (other != this && other.restore != null) {
          throw wrongState(RequestKind.RESTORE, state, "pair '" + other.id() + "' is restoring "
              + "the same primary '" + primary.name() + "'; wait for its completion()");
        }
      }
      return () -> {
        Roaring64Bitmap differing = bitmaps.changedAmong(tracks);
        restore = newRestore(extents, differing);
        primary.restoresRunning.incrementAndGet();
        return differing;
      };
    });
  }

  private Restore newRestore(ExtentSet extents, Roaring64Bitmap tracks) {
    Restore.Recorder recorder = engine.store == null ? null : new Restore.Recorder() {
      @Override
      public long restored(Roaring64Bitmap done, Roaring64Bitmap equal) {
        return engine.store.restored(id, done, equal);
      }

      @Override
      public void awaitDurable(long ticket) {
        engine.store.awaitDurable(ticket);
      }
    };
    return new Restore(copier, extents, tracks, recorder, new Restore.OtherPairs() {
      @Override
      public void beforeWrite(long offset, long length) {
        primary.restoreWrites(offset, length);
      }

      @Override
      public void afterWrite(long offset, long length) {
        primary.restoreWritten(offset, length);
      }
    });
  }

  /** Remembers the restore's request, so a failure's resume can finish it. */
  void restoreStarted(RequestInfo request) {
    restoreRequest = request;
  }

  /** The restore's job ended: done, or stopped by a failure or close (then it stays). */
  private void restoreEnded(CopyJob job, VolumeIOException failure) {
    Restore r = restore;
    if (r == null || failure != null || job.wasCancelled()) {
      return;
    }
    r.recordAll();
    if (r.finished()) {
      restore = null;
      restoreRequest = null;
      primary.restoresRunning.decrementAndGet();
    }
  }

  @Override
  public CopyRequest request(RequestKind kind, ExtentSet region) {
    if (kind == null) {
      throw new InvalidArgumentException("pair '" + id + "': request needs a kind (one of "
          + java.util.Arrays.toString(RequestKind.values()) + "), got null");
    }
    return kind == RequestKind.RESUME ? resume() : dispatch(kind, region);
  }

  /** The strategy's handling of {@link #request(RequestKind, ExtentSet)}. */
  final CopyRequest dispatch(RequestKind kind, ExtentSet region) {
    return admission.request(plan(kind, region));
  }

  /**
   * A request of {@code kind} on {@code region} as the strategy defines it, not yet admitted.
   *
   * @throws UnsupportedRequestException if the strategy does not offer it
   * @throws InvalidExtentException if a kind that needs a region got a bad one
   */
  abstract RequestAdmission.Planned plan(RequestKind kind, ExtentSet region);

  /** Refuses a request kind this strategy does not offer. */
  UnsupportedRequestException unsupported(RequestKind kind, String instead) {
    return new UnsupportedRequestException("pair '" + id + "' is a " + strategy() + ", which "
        + "does not offer " + kind + "; " + instead);
  }

  PairStateException wrongState(RequestKind kind, PairState state, String wayOut) {
    return new PairStateException(id, state, "pair '" + id + "' (" + strategy() + ") is "
        + state + " and cannot accept " + kind + "; " + wayOut);
  }

  /** Checks a request's region against the volume; returns its tracks. */
  Roaring64Bitmap regionTracks(RequestKind kind, ExtentSet region) {
    if (region == null || region.isEmpty()) {
      throw new InvalidExtentException("pair '" + id + "': " + kind
          + " needs at least one extent; give ExtentSet.of(start, end)");
    }
    if (region.end() > geometry.volumeSize()) {
      throw new ExtentOutOfRangeException("pair '" + id + "': " + kind + " extent "
          + region.extents().get(region.extents().size() - 1) + " reaches past the end of volume '"
          + primary.name() + "' (" + geometry.volumeSize() + " bytes); keep extents within [0, "
          + geometry.volumeSize() + ")");
    }
    return geometry.tracksOf(region);
  }

  /**
   * Whether a split track may keep some of its bytes mirrored (an extent split pair: the bytes
   * of a boundary track outside its split extents). Constant per strategy; the constructor asks.
   */
  boolean splitTracksKeepMirroredBytes() {
    return false;
  }

  /**
   * The bytes of split track {@code t} that stay mirrored, or null if it is split whole.
   * Only strategies whose {@link #splitTracksKeepMirroredBytes()} is true override it.
   */
  com.google.common.collect.RangeSet<Long> mirroredBytesOfSplit(long t) {
    return null;
  }

  /**
   * {@link #mirroredBytesOfSplit} while the pair mirrors: a suspended pair holds every byte
   * back from its secondary, and its resume refreshes them.
   */
  private com.google.common.collect.RangeSet<Long> writtenThroughOfSplit(long t) {
    com.google.common.collect.RangeSet<Long> mirrored = mirroredBytesOfSplit(t);
    return mirrored == null || lifecycle.suspendedBy() != null || lifecycle.gone() ? null
        : mirrored;
  }

  /** After a resume's instant: what the mirror of split tracks missed while suspended. */
  void afterResume() {
  }

  private RuntimeException refuseSecondaryWrite(long t) {
    Restore running = restore;
    if (!bitmaps.isMirrored(t) && (running == null || !running.holds(t))) {
      return new SecondaryWriteRefusedException("volume '" + secondary.name()
          + "' is the secondary of pair '" + id + "' (" + state() + "): in split track " + t
          + " only the split extents' bytes are the copy's own (" + splitExtents()
          .intersection(ExtentSet.of(geometry.start(t), geometry.stop(t))) + "); the rest "
          + "stays mirrored from the primary and would be overwritten. Write inside the split "
          + "extents, or to the primary '" + primary.name() + "'");
    }
    if (running != null && !bitmaps.isMirrored(t)) {
      return new SecondaryWriteRefusedException("volume '" + secondary.name()
          + "' is the secondary of pair '" + id + "', which is RESTORING its primary '"
          + primary.name() + "' from it, and track " + t + " (bytes " + geometry.start(t)
          + "..) is not restored yet: the write would change what the restore copies. Wait "
          + "for the restore's completion(), then write");
    }
    return new SecondaryWriteRefusedException("volume '" + secondary.name()
        + "' is the secondary of pair '" + id + "' (" + state() + ") and track " + t
        + " (bytes " + geometry.start(t) + "..) is mirrored, not split: the write would be "
        + "overwritten by the next copy. Split the pair (or extent-split that area) before "
        + "writing to the secondary, or write to the primary '" + primary.name() + "'");
  }

  // ---------------------------------------------------------------- life cycle

  /** A job ended: record it, wake the mirror, tell listeners. */
  void jobFinished(CopyJob job, VolumeIOException failure) {
    boolean restoring = job.kind() == RequestKind.RESTORE;
    try {
      if (restoring) {
        restoreEnded(job, failure);
      }
      // A failed restore stays recorded: resume() finishes it, after a restart too.
      if (engine.store != null && !lifecycle.closed() && !(restoring && restore != null)) {
        // Not when closing: a copy stopped by close runs again after the reopen.
        engine.store.done(id, job.id(), failure == null && !job.wasCancelled());
        if (failure != null) {
          engine.store.suspend(id, failure.getMessage());
        }
      }
    } catch (RuntimeException e) {
      // Its end could not be recorded (the metadata failed): the job ends all the same and the
      // pair is suspended, instead of showing the request running for good; resume() redoes
      // what is left, a restore included.
      if (failure == null) {
        failure = new VolumeIOException("pair '" + id + "': the end of its " + job.kind()
            + " request could not be recorded (" + e.getMessage() + "); the pair is SUSPENDED: "
            + "make the metadata writable again, then resume()", e);
      }
    }
    lifecycle.finished(job, failure);
    publishState();
    mirror.wake();
    mirror.completeDrainWaitersIfIdle(lifecycle.suspendedBy());
  }

  private void suspend(VolumeIOException e) {
    if (engine.store != null && !lifecycle.gone()) {
      engine.store.suspend(id, e.getMessage());
    }
    lifecycle.suspend(e);
    publishState();
    mirror.completeDrainWaitersIfIdle(lifecycle.suspendedBy());
  }

  @Override
  public void delete() {
    admission.delete(false);
  }

  @Override
  public void forceDelete() {
    admission.delete(true);
  }

  /** Set by the controller to forget the pair. */
  volatile Runnable onDelete = () -> { };

  /** Stops background work without deleting (controller close); the state stays readable. */
  void stopForClose() {
    List<CopyJob> jobs = lifecycle.markClosed(state());
    copier.stop();
    mirror.end();
    for (CopyJob j : jobs) {
      j.cancel("the controller was closed");
    }
  }

  @Override
  public abstract PairStrategy strategy();

  @Override
  public String toString() {
    return "pair '" + id + "' (" + strategy() + ", " + primary.name() + " -> "
        + secondary.name() + ", " + state() + ")";
  }
}
