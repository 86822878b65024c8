package io.pairkit.core.engine;

import com.google.common.collect.ImmutableRangeSet;
import com.google.common.collect.Range;
import com.google.common.collect.RangeSet;
import com.google.common.collect.TreeRangeSet;
import io.pairkit.api.CopyRequest;
import io.pairkit.api.Extent;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.HostVolume;
import io.pairkit.api.Pair;
import io.pairkit.api.PairListener;
import io.pairkit.api.PairState;
import io.pairkit.api.PairStats;
import io.pairkit.api.PairStrategy;
import io.pairkit.api.RequestKind;
import io.pairkit.api.error.ExtentOutOfRangeException;
import io.pairkit.api.error.InvalidExtentException;
import io.pairkit.api.error.PairStateException;
import io.pairkit.api.error.SecondaryWriteRefusedException;
import io.pairkit.api.error.UnsupportedRequestException;
import io.pairkit.api.error.VolumeIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.roaringbitmap.longlong.PeekableLongIterator;
import org.roaringbitmap.longlong.Roaring64Bitmap;

/**
 * One pair: the model of DESIGN.md section 4, shared by the three strategies.
 *
 * <p>Per track {@code t} of the scope: {@code pending[t]} — the secondary does not hold what it
 * should (a mirrored track: the primary's current data; a frozen track: the primary's data at the
 * freeze instant, which the primary still holds because any overwrite copies it first);
 * {@code changed[t]} — a frozen track written on either side since its freeze; {@code frozen[t]}
 * — the track is split. A frozen track is never both pending and changed.
 *
 * <p>Bitmaps are guarded by {@link #model}; every change of a track's bits that depends on its data
 * happens under that track's lock (the primary's), and no I/O happens under {@link #model}.
 */
public abstract class PairModel implements Pair {
  private static final int MIRROR_BATCH = 1024;

  final Engine engine;
  private final String id;
  final ManagedVolume primary;
  final ManagedVolume secondary;
  private final ExtentSet scope;
  private final ImmutableRangeSet<Long> scopeBytes;
  final int trackSize;
  private final long volumeSize;
  private final boolean wholeVolume;

  /** Monitor for the bitmaps and the job list; held briefly, never across I/O. */
  final Object model = new Object();
  private final Roaring64Bitmap scopeTracks = new Roaring64Bitmap();
  private final Roaring64Bitmap pending = new Roaring64Bitmap();
  private final Roaring64Bitmap changed = new Roaring64Bitmap();
  private final Roaring64Bitmap frozen = new Roaring64Bitmap();
  private final RangeSet<Long> frozenRanges = TreeRangeSet.create();
  private final List<CopyJob> activeJobs = new ArrayList<>();
  private int activeMirrorJobs;
  private boolean initialCopyDone;
  private VolumeIOException suspendedBy;
  private volatile boolean deleted;
  private final CopyJob initialCopy;

  /** Background copies hold it shared per track; delete holds it exclusive to wait them out. */
  private final ReentrantReadWriteLock copyGate = new ReentrantReadWriteLock();
  private final AtomicBoolean mirrorScheduled = new AtomicBoolean();
  private final List<CompletableFuture<Void>> drainWaiters = new ArrayList<>();

  private final AtomicLong jobCopies = new AtomicLong();
  private final AtomicLong mirrorCopies = new AtomicLong();
  private final AtomicLong cowCopies = new AtomicLong();
  private final AtomicLong secondaryBaseCopies = new AtomicLong();

  private final CopyOnWriteArrayList<PairListener> listeners = new CopyOnWriteArrayList<>();
  private final Object stateLock = new Object();
  private PairState lastPublished;

  /** Creates the pair with all of {@code scope} pending; the caller holds both barriers. */
  PairModel(Engine engine, String id, ManagedVolume primary, ManagedVolume secondary,
      ExtentSet scope, boolean wholeVolume) {
    this.engine = engine;
    this.id = id;
    this.primary = primary;
    this.secondary = secondary;
    this.scope = scope;
    this.trackSize = primary.trackSize();
    this.volumeSize = primary.size();
    this.wholeVolume = wholeVolume;
    RangeSet<Long> bytes = TreeRangeSet.create();
    for (Extent e : scope.extents()) {
      bytes.add(Range.closedOpen(e.start(), e.end()));
    }
    this.scopeBytes = ImmutableRangeSet.copyOf(bytes);
    for (Extent tr : scope.trackRanges(trackSize)) {
      scopeTracks.addRange(tr.start(), tr.end());
    }
    scopeTracks.runOptimize();
    synchronized (model) {
      pending.or(scopeTracks);
      this.initialCopy = newJob(RequestKind.CREATE, scope, scopeTracks, true);
      this.lastPublished = PairState.FORMING;
    }
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
  public ExtentSet splitExtents() {
    List<Extent> out = new ArrayList<>();
    synchronized (model) {
      for (Range<Long> r : frozenRanges.asRanges()) {
        out.add(Extent.of(r.lowerEndpoint() * trackSize,
            Math.min(r.upperEndpoint() * trackSize, volumeSize)));
      }
    }
    return ExtentSet.of(out);
  }

  @Override
  public PairStats stats() {
    synchronized (model) {
      return new PairStats(jobCopies.get(), mirrorCopies.get(), cowCopies.get(),
          secondaryBaseCopies.get(), pending.getLongCardinality(), changed.getLongCardinality(),
          frozen.getLongCardinality());
    }
  }

  /**
   * Copies of the pair's bitmaps (track numbers), taken atomically. For tools and tests, e.g.
   * changed-block tracking or checking invariants.
   */
  public DifferenceMaps differenceMaps() {
    synchronized (model) {
      return new DifferenceMaps(pending.clone(), changed.clone(), frozen.clone());
    }
  }

  /**
   * A pair's bitmaps at one moment.
   *
   * @param pending tracks the secondary does not yet hold
   * @param changed frozen tracks written since their freeze
   * @param frozen  tracks currently split
   */
  public record DifferenceMaps(Roaring64Bitmap pending, Roaring64Bitmap changed,
      Roaring64Bitmap frozen) {
  }

  @Override
  public CopyRequest initialCopy() {
    return initialCopy;
  }

  @Override
  public List<CopyRequest> activeRequests() {
    synchronized (model) {
      return List.copyOf(activeJobs);
    }
  }

  @Override
  public PairState state() {
    synchronized (model) {
      return stateLocked();
    }
  }

  private PairState stateLocked() {
    if (deleted) {
      return PairState.DELETED;
    }
    if (suspendedBy != null) {
      return PairState.SUSPENDED;
    }
    return deriveState(new Facts(frozen.isEmpty(), initialCopyDone, activeJobs));
  }

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

  /** The strategy's state for these facts (not deleted, not suspended). */
  abstract PairState deriveState(Facts facts);

  @Override
  public void addListener(PairListener listener) {
    listeners.add(listener);
  }

  @Override
  public void removeListener(PairListener listener) {
    listeners.remove(listener);
  }

  /** Tells listeners if the state changed since last told; never called under a lock. */
  void publishState() {
    synchronized (stateLock) {
      PairState now = state();
      PairState before = lastPublished;
      if (now != before) {
        lastPublished = now;
        engine.notifyListeners(() -> {
          for (PairListener l : listeners) {
            l.stateChanged(this, before, now);
          }
        });
      }
    }
  }

  // ---------------------------------------------------------------- host I/O: primary

  /**
   * The write rule for host writes to the primary over tracks {@code [first, end)}; the caller
   * holds those tracks' locks and writes the data afterwards. For each track in scope: if it is
   * frozen and not yet copied, copy it first (copy-on-write) so the secondary keeps the
   * point-in-time image; then mark it changed (frozen) or pending (mirrored). The bit is set
   * before the data reaches the backend, so no difference can be lost.
   *
   * @return whether mirrored tracks became pending (the mirror should run)
   */
  boolean beforePrimaryWrite(long first, long end) {
    boolean mirrored = false;
    for (long t = first; t < end; t++) {
      synchronized (model) {
        if (!wholeVolume && !scopeTracks.contains(t)) {
          continue;
        }
        boolean isFrozen = frozen.contains(t);
        if (!isFrozen || !pending.contains(t)) { // the common case: just record the difference
          if (isFrozen) {
            changed.addLong(t);
          } else {
            pending.addLong(t);
            mirrored = true;
          }
          continue;
        }
      }
      // Frozen and not yet copied: copy-on-write, outside the monitor (the track lock is held).
      copyTrack(t);
      cowCopies.incrementAndGet();
      synchronized (model) {
        pending.removeLong(t);
        changed.addLong(t);
      }
    }
    return mirrored;
  }

  // ---------------------------------------------------------------- host I/O: secondary

  /**
   * A host read of the secondary; the caller holds the secondary's barrier shared. Bytes of frozen
   * tracks not yet copied come from the primary, which still holds their point-in-time data.
   */
  void readSecondary(long offset, ByteBuffer dst) {
    int length = dst.remaining();
    int base = dst.position();
    long stop = offset + length;
    long first = offset / trackSize;
    long end = (stop - 1) / trackSize + 1;
    List<Lock> locks = primary.lockTracks(first, end);
    try {
      // Ranges to read from the primary: in-scope bytes of frozen tracks not yet copied.
      RangeSet<Long> fromPrimary = TreeRangeSet.create();
      synchronized (model) {
        for (long t = first; t < end; t++) {
          if (frozen.contains(t) && pending.contains(t)) {
            Range<Long> track = Range.closedOpen(Math.max(offset, t * trackSize),
                Math.min(stop, (t + 1) * trackSize));
            fromPrimary.addAll(scopeBytes.subRangeSet(track));
          }
        }
      }
      long pos = offset;
      for (Range<Long> r : fromPrimary.asRanges()) {
        readInto(secondary, pos, r.lowerEndpoint(), offset, base, dst);
        readInto(primary, r.lowerEndpoint(), r.upperEndpoint(), offset, base, dst);
        pos = r.upperEndpoint();
      }
      readInto(secondary, pos, stop, offset, base, dst);
    } finally {
      ManagedVolume.unlock(locks);
    }
    dst.limit(base + length).position(base + length);
  }

  /** Reads volume bytes {@code [from, to)} into their place in {@code dst}. */
  private static void readInto(ManagedVolume source, long from, long to, long offset, int base,
      ByteBuffer dst) {
    if (to <= from) {
      return;
    }
    ByteBuffer slice = dst.duplicate();
    slice.limit(base + (int) (to - offset)).position(base + (int) (from - offset));
    source.rawRead(from, slice);
  }

  /**
   * A host write to the secondary; the caller holds the secondary's barrier shared. Refused if it
   * touches a mirrored track of the scope. On frozen tracks the secondary first gets its
   * point-in-time base (so a partial write lands on the right data), then the track is marked
   * changed so the next update or join copies it back.
   */
  void writeSecondary(long offset, ByteBuffer src) {
    int length = src.remaining();
    long first = offset / trackSize;
    long end = (offset + length - 1) / trackSize + 1;
    List<Lock> locks = primary.lockTracks(first, end);
    try {
      synchronized (model) {
        for (long t = first; t < end; t++) {
          if (scopeTracks.contains(t) && !frozen.contains(t)) {
            throw new SecondaryWriteRefusedException("volume '" + secondary.name()
                + "' is the secondary of pair '" + id + "' (" + stateLocked() + ") and track " + t
                + " (bytes " + t * trackSize + "..) is mirrored, not split: the write would be "
                + "overwritten by the next copy. Split the pair (or extent-split that area) "
                + "before writing to the secondary, or write to the primary '" + primary.name()
                + "'");
          }
        }
      }
      for (long t = first; t < end; t++) {
        boolean needBase;
        synchronized (model) {
          if (!scopeTracks.contains(t)) {
            continue;
          }
          needBase = pending.contains(t);
        }
        long trackStart = t * trackSize;
        long trackStop = Math.min(trackStart + trackSize, volumeSize);
        boolean coversTrack = offset <= trackStart && offset + length >= trackStop;
        if (needBase && !coversTrack) {
          copyTrack(t);
          secondaryBaseCopies.incrementAndGet();
        }
        synchronized (model) {
          pending.removeLong(t);
          changed.addLong(t);
        }
      }
      secondary.rawWrite(offset, src);
    } finally {
      ManagedVolume.unlock(locks);
    }
  }

  // ---------------------------------------------------------------- copying

  /** Copies track {@code t}'s in-scope bytes from primary to secondary; caller holds t's lock. */
  long copyTrack(long t) {
    long trackStart = t * trackSize;
    long trackStop = Math.min(trackStart + trackSize, volumeSize);
    ByteBuffer buf = engine.copyBuffer(trackSize);
    if (wholeVolume) {
      copyRange(trackStart, trackStop, buf);
      return trackStop - trackStart;
    }
    long bytes = 0;
    for (Range<Long> r : scopeBytes.subRangeSet(Range.closedOpen(trackStart, trackStop))
        .asRanges()) {
      copyRange(r.lowerEndpoint(), r.upperEndpoint(), buf);
      bytes += r.upperEndpoint() - r.lowerEndpoint();
    }
    return bytes;
  }

  private void copyRange(long start, long stop, ByteBuffer buf) {
    buf.clear().limit((int) (stop - start));
    primary.rawRead(start, buf);
    buf.flip();
    secondary.rawWrite(start, buf);
  }

  /**
   * Background copy of one track if it is still pending (and, for the mirror, still mirrored).
   *
   * @return bytes copied, or -1 if the track needed no copy, or -2 if the pair is gone
   */
  long copyIfPending(long t, boolean mirrorOnly) {
    engine.beginBackgroundCopy(trackSize);
    copyGate.readLock().lock();
    try {
      if (deleted) {
        return -2;
      }
      Lock lock = primary.trackLock(t);
      lock.lock();
      try {
        synchronized (model) {
          if (!pending.contains(t) || (mirrorOnly && frozen.contains(t))) {
            return -1;
          }
        }
        long bytes = copyTrack(t);
        synchronized (model) {
          pending.removeLong(t);
        }
        (mirrorOnly ? mirrorCopies : jobCopies).incrementAndGet();
        return bytes;
      } finally {
        lock.unlock();
      }
    } finally {
      copyGate.readLock().unlock();
      engine.endBackgroundCopy();
    }
  }

  /** Starts the asynchronous mirror if mirrored tracks are pending and no request drains them. */
  void kickMirror() {
    synchronized (model) {
      if (deleted || suspendedBy != null || activeMirrorJobs > 0) {
        return;
      }
    }
    if (mirrorScheduled.compareAndSet(false, true)) {
      try {
        engine.copyExecutor.execute(this::mirrorLoop);
      } catch (java.util.concurrent.RejectedExecutionException closing) {
        mirrorScheduled.set(false);
      }
    }
  }

  private void mirrorLoop() {
    long cursor = 0; // resume after the last batch, so a long mirror makes steady progress
    try {
      while (true) {
        long[] batch = new long[MIRROR_BATCH];
        int n;
        synchronized (model) {
          if (deleted || suspendedBy != null || activeMirrorJobs > 0) {
            return;
          }
          n = mirroredPendingLocked(cursor, batch);
          if (n == 0 && cursor > 0) {
            n = mirroredPendingLocked(0, batch);
          }
        }
        if (n == 0) {
          return;
        }
        cursor = batch[n - 1] + 1;
        for (int i = 0; i < n; i++) {
          if (copyIfPending(batch[i], true) == -2) {
            return;
          }
        }
      }
    } catch (VolumeIOException e) {
      suspend(e);
    } finally {
      mirrorScheduled.set(false);
      if (mirrorHasWork()) {
        kickMirror();
      }
      completeDrainWaitersIfIdle();
    }
  }

  /**
   * Fills {@code batch} with pending tracks from {@code from} on that are not frozen; jumps over
   * whole frozen ranges, so a large split extent still draining costs a lookup, not a scan.
   */
  private int mirroredPendingLocked(long from, long[] batch) {
    int n = 0;
    PeekableLongIterator it = pending.getLongIteratorFrom(from);
    while (it.hasNext() && n < batch.length) {
      long t = it.peekNext();
      if (frozen.contains(t)) {
        Range<Long> frozenRange = frozenRanges.rangeContaining(t);
        it.advanceIfNeeded(frozenRange != null ? frozenRange.upperEndpoint() : t + 1);
        continue;
      }
      batch[n++] = it.next();
    }
    return n;
  }

  private boolean mirrorHasWork() {
    synchronized (model) {
      return mirrorPendingLocked() > 0;
    }
  }

  private long mirrorPendingLocked() {
    return pending.getLongCardinality() - Roaring64Bitmap.andCardinality(pending, frozen);
  }

  @Override
  public CompletableFuture<Void> mirrorDrained() {
    CompletableFuture<Void> f = new CompletableFuture<>();
    synchronized (drainWaiters) {
      drainWaiters.add(f);
    }
    completeDrainWaitersIfIdle();
    kickMirror();
    return f;
  }

  private void completeDrainWaitersIfIdle() {
    List<CompletableFuture<Void>> done;
    VolumeIOException failure;
    synchronized (model) {
      failure = suspendedBy;
      boolean idle = activeMirrorJobs == 0 && mirrorPendingLocked() == 0;
      if (!idle && failure == null && !deleted) {
        return;
      }
    }
    synchronized (drainWaiters) {
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

  // ---------------------------------------------------------------- requests

  /** Refuses a request kind this strategy does not offer. */
  UnsupportedRequestException unsupported(RequestKind kind, String instead) {
    return new UnsupportedRequestException("pair '" + id + "' is a " + strategy() + ", which "
        + "does not offer " + kind + "; " + instead);
  }

  PairStateException wrongState(RequestKind kind, PairState state, String wayOut) {
    return new PairStateException(id, state.name(), "pair '" + id + "' (" + strategy() + ") is "
        + state + " and cannot accept " + kind + "; " + wayOut);
  }

  /** Checks a request's region against the volume; returns its tracks. */
  Roaring64Bitmap regionTracks(RequestKind kind, ExtentSet region) {
    if (region == null || region.isEmpty()) {
      throw new InvalidExtentException("pair '" + id + "': " + kind
          + " needs at least one extent; give ExtentSet.of(start, end)");
    }
    if (region.end() > volumeSize) {
      throw new ExtentOutOfRangeException("pair '" + id + "': " + kind + " extent "
          + region.extents().get(region.extents().size() - 1) + " reaches past the end of volume '"
          + primary.name() + "' (" + volumeSize + " bytes); keep extents within [0, "
          + volumeSize + ")");
    }
    Roaring64Bitmap tracks = new Roaring64Bitmap();
    for (Extent tr : region.trackRanges(trackSize)) {
      tracks.addRange(tr.start(), tr.end());
    }
    return tracks;
  }

  /** What a request does at its instant, run with both barriers held and the model locked. */
  @FunctionalInterface
  interface Instant {
    /** Checks admission (throwing leaves everything unchanged), applies the change, returns the
     * tracks its job must drain. */
    Roaring64Bitmap apply(PairState state);
  }

  /**
   * Runs a request: at its instant (both volumes' writes held off) checks and applies it, then
   * starts its background copy.
   */
  CopyJob request(RequestKind kind, ExtentSet region, boolean drainsMirror, Instant instant) {
    CopyJob job;
    lockBarriers();
    try {
      synchronized (model) {
        PairState state = stateLocked();
        if (state == PairState.DELETED) {
          throw wrongState(kind, state, "the pair was deleted; create a new pair");
        }
        if (state == PairState.SUSPENDED && kind != RequestKind.RESUME) {
          throw wrongState(kind, state, "a background copy failed (" + suspendedBy.getMessage()
              + "); fix the backend, then call resume()");
        }
        Roaring64Bitmap toCopy = instant.apply(state);
        job = newJob(kind, region, toCopy, drainsMirror);
      }
      if (engine.instantObserver != null) {
        engine.instantObserver.atInstant(this, kind, job.id());
      }
    } finally {
      unlockBarriers();
    }
    publishState(); // before the job starts, so listeners see e.g. SPLITTING even for tiny jobs
    start(job);
    return job;
  }

  private void lockBarriers() {
    primary.barrier.writeLock().lock();
    secondary.barrier.writeLock().lock();
  }

  private void unlockBarriers() {
    secondary.barrier.writeLock().unlock();
    primary.barrier.writeLock().unlock();
  }

  private CopyJob newJob(RequestKind kind, ExtentSet region, Roaring64Bitmap regionTracks,
      boolean drainsMirror) {
    Roaring64Bitmap toCopy = Roaring64Bitmap.and(pending, regionTracks);
    CopyJob job = new CopyJob(engine.requestIds.incrementAndGet(), this, kind, region, toCopy,
        drainsMirror);
    activeJobs.add(job);
    if (drainsMirror) {
      activeMirrorJobs++;
    }
    return job;
  }

  /** Starts the job's copy; called once the instant's locks are released. */
  void start(CopyJob job) {
    job.startOn(engine.copyExecutor);
  }

  // Model changes of the requests (DESIGN.md section 4 table), called inside Instant.apply.

  /** split: frozen += region. */
  Roaring64Bitmap freeze(Roaring64Bitmap tracks) {
    frozen.or(tracks);
    addRanges(tracks, true);
    return tracks;
  }

  /** update: pending += changed in region; changed -= region. */
  Roaring64Bitmap update(Roaring64Bitmap tracks) {
    Roaring64Bitmap delta = Roaring64Bitmap.and(changed, tracks);
    pending.or(delta);
    changed.andNot(tracks);
    return tracks;
  }

  /** join: frozen -= region; pending += changed in region; changed -= region. */
  Roaring64Bitmap join(Roaring64Bitmap tracks) {
    update(tracks);
    frozen.andNot(tracks);
    addRanges(tracks, false);
    return tracks;
  }

  Roaring64Bitmap scopeTracksLocked() {
    return scopeTracks;
  }

  Roaring64Bitmap frozenLocked() {
    return frozen;
  }

  private void addRanges(Roaring64Bitmap tracks, boolean add) {
    PeekableLongIterator it = tracks.getLongIterator();
    while (it.hasNext()) {
      long start = it.next();
      long end = start + 1;
      while (it.hasNext() && it.peekNext() == end) {
        it.next();
        end++;
      }
      if (add) {
        frozenRanges.add(Range.closedOpen(start, end));
      } else {
        frozenRanges.remove(Range.closedOpen(start, end));
      }
    }
  }

  /** True if any frozen track of the pair still needs its point-in-time copy. */
  boolean frozenCopyIncompleteLocked() {
    return Roaring64Bitmap.intersects(pending, frozen);
  }

  @Override
  public CopyRequest resume() {
    return request(RequestKind.RESUME, scope, true, state -> {
      if (state != PairState.SUSPENDED) {
        throw wrongState(RequestKind.RESUME, state, "resume() is only for a SUSPENDED pair");
      }
      suspendedBy = null;
      return scopeTracks;
    });
  }

  @Override
  public CopyRequest request(RequestKind kind, ExtentSet region) {
    return switch (kind) {
      case RESUME -> resume();
      default -> dispatch(kind, region);
    };
  }

  /** The strategy's handling of {@link #request(RequestKind, ExtentSet)}. */
  abstract CopyRequest dispatch(RequestKind kind, ExtentSet region);

  // ---------------------------------------------------------------- job life cycle

  void jobFinished(CopyJob job, VolumeIOException failure) {
    synchronized (model) {
      activeJobs.remove(job);
      if (job.drainsMirror()) {
        activeMirrorJobs--;
      }
      // A resume drains everything that was pending, including what the initial copy left.
      boolean completesInitialCopy =
          job.kind() == RequestKind.CREATE || job.kind() == RequestKind.RESUME;
      if (completesInitialCopy && failure == null && !job.wasCancelled()) {
        initialCopyDone = true;
      }
      if (failure != null && suspendedBy == null && !deleted) {
        suspendedBy = failure;
      }
    }
    publishState();
    kickMirror();
    completeDrainWaitersIfIdle();
  }

  private void suspend(VolumeIOException e) {
    synchronized (model) {
      if (suspendedBy == null && !deleted) {
        suspendedBy = e;
      }
    }
    publishState();
  }

  // ---------------------------------------------------------------- delete

  @Override
  public void delete() {
    delete(false);
  }

  @Override
  public void forceDelete() {
    delete(true);
  }

  private void delete(boolean force) {
    List<CopyJob> jobs;
    lockBarriers();
    try {
      synchronized (model) {
        if (deleted) {
          return;
        }
        if (!force && frozenCopyIncompleteLocked()) {
          PairState state = stateLocked();
          throw new PairStateException(id, state.name(), "pair '" + id + "' is " + state
              + " and cannot be deleted yet: " + Roaring64Bitmap.andCardinality(pending, frozen)
              + " split tracks are still being copied, and the secondary would keep a "
              + "half-copied image; wait for the split request's completion() or call "
              + "forceDelete()");
        }
        deleted = true;
        jobs = List.copyOf(activeJobs);
      }
      // Wait out copies in flight, so none lands on the secondary after delete returns.
      copyGate.writeLock().lock();
      copyGate.writeLock().unlock();
      primary.primaryOf.remove(this);
      secondary.secondaryOf = null;
    } finally {
      unlockBarriers();
    }
    for (CopyJob j : jobs) {
      j.cancel("pair '" + id + "' was deleted");
    }
    onDelete.run();
    publishState();
    completeDrainWaitersIfIdle();
  }

  /** Set by the controller to forget the pair. */
  volatile Runnable onDelete = () -> { };

  /** Stops background work without deleting (controller close). */
  void stopForClose() {
    List<CopyJob> jobs;
    synchronized (model) {
      deleted = true;
      jobs = List.copyOf(activeJobs);
    }
    copyGate.writeLock().lock();
    copyGate.writeLock().unlock();
    for (CopyJob j : jobs) {
      j.cancel("the controller was closed");
    }
    completeDrainWaitersIfIdle();
  }

  /** Strategy name for messages. */
  @Override
  public abstract PairStrategy strategy();

  @Override
  public String toString() {
    return "pair '" + id + "' (" + strategy() + ", " + primary.name() + " -> "
        + secondary.name() + ", " + state() + ")";
  }
}
