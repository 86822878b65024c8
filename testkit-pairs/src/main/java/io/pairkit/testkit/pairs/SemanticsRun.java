package io.pairkit.testkit.pairs;

import static io.pairkit.testkit.pairs.AbstractPairSemanticsTest.SENTINEL;
import static io.pairkit.testkit.pairs.AbstractPairSemanticsTest.SIZE;
import static io.pairkit.testkit.pairs.AbstractPairSemanticsTest.TRACKS;
import static io.pairkit.testkit.pairs.AbstractPairSemanticsTest.TS;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.pairkit.api.CopyProgress;
import io.pairkit.api.CopyRequest;
import io.pairkit.api.Extent;
import io.pairkit.api.ExtentPair;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.ExtentSplitPair;
import io.pairkit.api.HostVolume;
import io.pairkit.api.MirrorMode;
import io.pairkit.api.Pair;
import io.pairkit.api.PairState;
import io.pairkit.api.PairStrategy;
import io.pairkit.api.TrackState;
import io.pairkit.api.TrackStates;
import io.pairkit.api.VolumePair;
import io.pairkit.api.error.SecondaryWriteRefusedException;
import io.pairkit.api.spi.Volume;
import io.pairkit.core.PairKit;
import io.pairkit.core.cache.TrackCacheConfig;
import io.pairkit.core.testing.ObservedController;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Supplier;
import org.roaringbitmap.longlong.Roaring64Bitmap;

/**
 * One seeded run of {@link AbstractPairSemanticsTest}: the pair, the host writers, the requests
 * and the reference model with its checks.
 *
 * <p>Over 500 lines: the writers, the model and the checks all read and update the same per-run
 * state (images and bits at each instant, frozen and secondary-written tracks, write counts per
 * track) under one locking discipline, which is easier to verify kept in one place than spread
 * over classes that share it.
 */
final class SemanticsRun implements AutoCloseable {
  private final PairStrategy strategy;
  private final long seed;
  private final Random random;
  private final int requests;
  private final OperationLog log;
  /** The volumes as the engine sees them (through the cache when there is one). */
  private final Volume rawP;
  private final Volume rawS;
  /** The volumes themselves (beneath the cache, if any). */
  private final Volume backendP;
  private final Volume backendS;
  private final boolean cached;
  private final ObservedController rig;
  private final HostVolume p;
  private final HostVolume s;
  private final ExtentSet scope;
  private Pair pair;

  /** Expected content of each frozen track, from the primary's image at its instant. */
  private final Map<Long, byte[]> expected = new ConcurrentHashMap<>();
  /** Tracks the host wrote on the secondary since their last instant (not checked by I2). */
  private final Set<Long> secondaryWritten = ConcurrentHashMap.newKeySet();
  private final List<String> violations = new CopyOnWriteArrayList<>();
  private final Map<Long, byte[]> imageAtInstant = new ConcurrentHashMap<>();
  private volatile Roaring64Bitmap instantRegion = new Roaring64Bitmap();
  private volatile ExtentSet frozenForWriters = ExtentSet.empty();
  private final AtomicBoolean stop = new AtomicBoolean();
  /**
   * Secondary writes hold it shared and requests exclusive, so that no secondary write marked
   * before an instant lands after the instant reset its mark.
   */
  private final ReentrantReadWriteLock secondaryWriteVsRequest = new ReentrantReadWriteLock();
  private final List<Throwable> writerErrors = new CopyOnWriteArrayList<>();
  /** Per track, host writes to the primary begun and ended (restore checks skip busy ones). */
  private final java.util.concurrent.atomic.AtomicLongArray primaryBegun =
      new java.util.concurrent.atomic.AtomicLongArray(TRACKS);
  private final java.util.concurrent.atomic.AtomicLongArray primaryEnded =
      new java.util.concurrent.atomic.AtomicLongArray(TRACKS);
  /** At each instant: the secondary's image, the bits, and the primary's write counts. */
  private final Map<Long, byte[]> secondaryAtInstant = new ConcurrentHashMap<>();
  private final Map<Long, TrackStates> bitsAtInstant = new ConcurrentHashMap<>();
  private final Map<Long, long[]> quietAtInstant = new ConcurrentHashMap<>();

  SemanticsRun(PairStrategy strategy, MirrorMode mode, long seed, Volume backendP, Volume backendS,
      int requests, boolean cache, OperationLog log) throws Exception {
    this.strategy = strategy;
    this.seed = seed;
    this.random = new Random(seed);
    this.requests = requests;
    this.log = log;
    byte[] sentinel = new byte[SIZE];
    Arrays.fill(sentinel, SENTINEL);
    backendS.write(0, ByteBuffer.wrap(sentinel));
    backendP.write(0, ByteBuffer.wrap(random(seed, SIZE)));
    PairKit.Builder builder = PairKit.builder().trackSize(TS).copyThreads(2).maxTracksInFlight(2)
        .mirrorMode(mode);
    if (cache) {
      // 16 slots for 2 x 96 tracks: constant eviction and destage under the engine.
      builder.trackCache(TrackCacheConfig.defaults().withCapacity(16 * TS));
    }
    this.rig = ObservedController.open(builder, (pr, id) -> atInstant(pr, id));
    this.p = rig.controller().attachVolume(backendP);
    this.s = rig.controller().attachVolume(backendS);
    this.rawP = rig.engineView(backendP.name());
    this.rawS = rig.engineView(backendS.name());
    this.backendP = backendP;
    this.backendS = backendS;
    this.cached = cache;
    this.scope = strategy == PairStrategy.EXTENT_PAIR
        ? ExtentSet.of(Extent.of(5 * TS + 100, 20 * TS - 7), Extent.of(40 * TS, 41 * TS + 1),
            Extent.of(70 * TS + 9, 90 * TS))
        : ExtentSet.of(0, SIZE);
  }

  /** Runs under the barrier: snapshot, I1, and the model's reset of the region. */
  private void atInstant(Pair pr, long requestId) {
    TrackStates bits = pr.trackStates(Extent.of(0, SIZE)); // bits first, then images
    byte[] pImage = readAll(rawP);
    byte[] sImage = readAll(rawS);
    imageAtInstant.put(requestId, pImage);
    secondaryAtInstant.put(requestId, sImage);
    bitsAtInstant.put(requestId, bits);
    long[] quiet = new long[TRACKS]; // begun count if no write was in flight, else -1
    for (int t = 0; t < TRACKS; t++) {
      long begun = primaryBegun.get(t);
      quiet[t] = primaryEnded.get(t) == begun ? begun : -1;
    }
    quietAtInstant.put(requestId, quiet);
    for (Extent tr : scope.trackRanges(TS)) {
      for (long t = tr.start(); t < tr.end(); t++) {
        TrackState st = bits.state(t);
        boolean different = st == TrackState.PENDING || st == TrackState.SPLIT_PENDING
            || st == TrackState.SPLIT_CHANGED;
        if (!different && !inScopeBytesEqual(pImage, sImage, t)) {
          String v = "I1 at the instant of request id=" + requestId + ": track " + t
              + " differs but is neither pending nor changed (" + st + ")";
          violations.add(v);
          log.failure(v);
        }
      }
    }
    instantRegion.forEach(t -> secondaryWritten.remove(t));
  }

  private boolean inScopeBytesEqual(byte[] a, byte[] b, long t) {
    for (Extent e : scope.intersection(ExtentSet.of(t * TS, (t + 1) * TS)).extents()) {
      if (!Arrays.equals(a, (int) e.start(), (int) e.end(), b, (int) e.start(),
          (int) e.end())) {
        return false;
      }
    }
    return true;
  }

  void execute() throws Exception {
    pair = switch (strategy) {
      case VOLUME_PAIR -> rig.controller().createVolumePair("model", p, s);
      case EXTENT_PAIR -> rig.controller().createExtentPair("model", p, s, scope);
      case EXTENT_SPLIT_PAIR -> rig.controller().createExtentSplitPair("model", p, s);
    };
    log.step("create " + strategy + " scope " + scope + " -> " + pair.state());
    List<Thread> writers = new ArrayList<>();
    for (int w = 0; w < 3; w++) {
      long writerSeed = seed * 31 + w;
      writers.add(start(() -> primaryWriter(new Random(writerSeed)), "host-writer-P" + w));
    }
    writers.add(start(() -> secondaryWriter(new Random(seed * 37)), "host-writer-S"));
    try {
      await(pair.initialCopy());
      mainLoop();
    } catch (Throwable e) {
      log.failure(String.valueOf(e.getMessage()));
      throw e;
    } finally {
      stop.set(true);
      for (Thread t : writers) {
        t.join();
      }
      log.step("host writers stopped");
    }
    if (!writerErrors.isEmpty()) {
      throw new AssertionError("a host writer failed: " + writerErrors.get(0),
          writerErrors.get(0));
    }
    assertTrue(violations.isEmpty(), violations.toString());
    converge();
  }

  /** Random requests while the host writers run; I2 checked after each. */
  private void mainLoop() {
    for (int i = 0; i < requests && violations.isEmpty(); i++) {
      issueRandomRequest();
      checkPointInTime("while copies run");
    }
    for (CopyRequest r : pair.activeRequests()) {
      await(r);
    }
    checkPointInTime("after the last request");
  }

  private Thread start(Runnable body, String name) {
    Thread t = new Thread(() -> {
      try {
        body.run();
      } catch (Throwable e) {
        log.failure(Thread.currentThread().getName() + " failed: " + e);
        writerErrors.add(e);
      }
    }, name);
    t.start();
    return t;
  }

  private void primaryWriter(Random r) {
    while (!stop.get()) {
      int length = switch (r.nextInt(4)) {
        case 0 -> 1 + r.nextInt(64); // tiny, partial track
        case 1 -> TS; // one track's worth, usually straddling a boundary
        case 2 -> TS + 1 + r.nextInt(3 * TS); // multi-track
        default -> 1 + r.nextInt(TS);
      };
      long offset = r.nextInt(SIZE - length + 1);
      byte[] data = new byte[length];
      r.nextBytes(data);
      log.hostWrite("P", offset, length);
      long first = offset / TS;
      long last = (offset + length - 1) / TS;
      for (long t = first; t <= last; t++) {
        primaryBegun.incrementAndGet((int) t);
      }
      try {
        p.write(offset, data);
      } finally {
        for (long t = first; t <= last; t++) {
          primaryEnded.incrementAndGet((int) t);
        }
      }
    }
  }

  private void secondaryWriter(Random r) {
    while (!stop.get()) {
      List<Extent> frozen = frozenForWriters.intersection(scope).extents();
      if (frozen.isEmpty()) {
        Thread.onSpinWait();
        continue;
      }
      Extent e = frozen.get(r.nextInt(frozen.size()));
      int length = (int) Math.min(e.length(), 1 + r.nextInt(2 * TS));
      long offset = e.start() + (long) r.nextInt((int) (e.length() - length + 1));
      byte[] data = new byte[length];
      r.nextBytes(data);
      secondaryWriteVsRequest.readLock().lock();
      try {
        for (long t = offset / TS; t <= (offset + length - 1) / TS; t++) {
          secondaryWritten.add(t); // before the write: the checker skips it from now on
        }
        log.hostWrite("S", offset, length);
        s.write(offset, data);
      } catch (SecondaryWriteRefusedException joinedMeanwhile) {
        // The extent was joined after we looked: a correct refusal.
        log.secondaryWriteRefused();
      } finally {
        secondaryWriteVsRequest.readLock().unlock();
      }
      Thread.yield();
    }
  }

  private void issueRandomRequest() {
    switch (strategy) {
      case VOLUME_PAIR, EXTENT_PAIR -> wholeScopeRequest();
      case EXTENT_SPLIT_PAIR -> extentSplitRequest();
    }
  }

  private void wholeScopeRequest() {
    PairState state = pair.state();
    if (state == PairState.SPLITTING || state == PairState.RESYNCING
        || state == PairState.FORMING) {
      pair.activeRequests().forEach(this::await);
      state = pair.state();
    }
    if (state == PairState.FORMED) {
      CopyRequest split = pair instanceof VolumePair vp ? issue("split", allTracks(), vp::split)
          : issue("split", allTracks(), ((ExtentPair) pair)::split);
      freeze(split, allTracks());
      maybeAwait(split);
    } else if (state == PairState.SPLIT) {
      if (random.nextInt(5) == 0) {
        restore(random.nextBoolean() ? null : randomExtent().intersection(scope));
      } else if (pair instanceof VolumePair vp && random.nextInt(3) != 0) {
        ExtentSet e = randomExtent();
        CopyRequest update = issue("extentUpdate " + e, wholeTracksOf(e),
            () -> vp.extentUpdate(e));
        refresh(update, e);
        maybeAwait(update);
      } else {
        CopyRequest resync = pair instanceof VolumePair vp
            ? issue("resync", allTracks(), vp::resync)
            : issue("resync", allTracks(), ((ExtentPair) pair)::resync);
        unfreeze(allTracks());
        maybeAwait(resync);
      }
    }
  }

  private void extentSplitRequest() {
    ExtentSplitPair xp = (ExtentSplitPair) pair;
    ExtentSet split = xp.splitExtents();
    if (!split.isEmpty() && random.nextInt(5) == 0) {
      restore(random.nextBoolean() ? null : randomExtent().intersection(split));
    } else if (!split.isEmpty() && random.nextBoolean()) {
      Extent chosen = split.extents().get(random.nextInt(split.extents().size()));
      ExtentSet e = ExtentSet.of(chosen);
      CopyRequest join = issue("extentJoin " + e, wholeTracksOf(e), () -> xp.extentJoin(e));
      refresh(join, e); // a track joined only in part stays split, its joined bytes copied
      unfreeze(wholeTracksOf(e));
      maybeAwait(join);
    } else {
      ExtentSet e = randomExtent();
      if (Roaring64Bitmap.intersects(tracksOf(e), tracksOf(split))) {
        return; // a split refuses extents touching a split track, even at different bytes
      }
      CopyRequest req = issue("extentSplit " + e, tracksOf(e), () -> xp.extentSplit(e));
      freeze(req, tracksOf(e));
      maybeAwait(req);
    }
  }

  /**
   * A restore of {@code extents} (null: all that is split) while the host writes on: once it
   * is done, every byte it covered that changed and that no host write touched since its
   * instant holds the secondary's data of the instant.
   */
  private void restore(ExtentSet extents) {
    if (extents != null && extents.isEmpty()) {
      return;
    }
    pair.activeRequests().forEach(this::await); // a restore waits for running requests
    CopyRequest r = issue("restore " + (extents == null ? "all" : extents),
        new Roaring64Bitmap(), () -> pair.restore(extents)); // S keeps its marks
    await(r);
    byte[] sAt = secondaryAtInstant.remove(r.id());
    TrackStates bits = bitsAtInstant.remove(r.id());
    long[] quiet = quietAtInstant.remove(r.id());
    ExtentSet covered = (extents == null ? scope : extents).intersection(scope);
    long checked = 0;
    for (Extent tr : covered.trackRanges(TS)) {
      for (long t = tr.start(); t < tr.end(); t++) {
        if (bits.state(t) != TrackState.SPLIT_CHANGED || quiet[(int) t] < 0) {
          continue;
        }
        byte[] now = p.read(t * TS, TS);
        if (primaryBegun.get((int) t) != quiet[(int) t]) {
          continue; // a host write since the instant wins over the restore
        }
        for (Extent in : covered.intersection(ExtentSet.of(t * TS, (t + 1) * TS)).extents()) {
          int from = (int) (in.start() - t * TS);
          int to = (int) (in.end() - t * TS);
          if (!Arrays.equals(sAt, (int) in.start(), (int) in.end(), now, from, to)) {
            fail("restore id=" + r.id() + ": track " + t + " of the primary does not hold "
                + "the secondary's data of the instant at byte " + (t * TS + from + Arrays
                    .mismatch(sAt, (int) in.start(), (int) in.end(), now, from, to)));
          }
        }
        checked++;
      }
    }
    log.step("  restore id=" + r.id() + ": " + checked + " restored tracks checked");
  }

  private CopyRequest issue(String what, Roaring64Bitmap region, Supplier<CopyRequest> r) {
    instantRegion = region;
    PairState before = pair.state();
    CopyRequest request;
    secondaryWriteVsRequest.writeLock().lock();
    try {
      request = r.get();
    } catch (RuntimeException refused) {
      log.step(what + " refused in state " + before + ": " + refused);
      throw refused;
    } finally {
      secondaryWriteVsRequest.writeLock().unlock();
    }
    log.request(request, before, pair.state());
    return request;
  }

  private void freeze(CopyRequest request, Roaring64Bitmap tracks) {
    byte[] image = imageAtInstant.get(request.id());
    tracks.forEach(t -> expected.put(t, Arrays.copyOfRange(image, (int) (t * TS),
        (int) Math.min((t + 1) * TS, SIZE))));
    frozenForWriters = pair.splitExtents();
  }

  /**
   * Exact extents: the bytes of {@code e} take the primary's image at the request's instant;
   * every other byte keeps what it had (a track covered only in part keeps its old image
   * outside {@code e}, and one the host wrote on S stays unknown).
   */
  private void refresh(CopyRequest request, ExtentSet e) {
    byte[] image = imageAtInstant.get(request.id());
    for (Extent tr : e.trackRanges(TS)) {
      for (long t = tr.start(); t < tr.end(); t++) {
        byte[] had = expected.get(t);
        if (had == null) {
          continue;
        }
        byte[] now = had.clone();
        for (Extent in : e.intersection(ExtentSet.of(t * TS, (t + 1) * TS)).extents()) {
          System.arraycopy(image, (int) in.start(), now, (int) (in.start() - t * TS),
              (int) in.length());
        }
        expected.put(t, now);
      }
    }
    frozenForWriters = pair.splitExtents();
  }

  /** The tracks {@code e} covers whole within the scope (a request's bits change there). */
  private Roaring64Bitmap wholeTracksOf(ExtentSet e) {
    Roaring64Bitmap out = new Roaring64Bitmap();
    tracksOf(e).forEach(t -> {
      ExtentSet track = scope.intersection(ExtentSet.of(t * TS, (t + 1) * TS));
      if (track.minus(e).isEmpty()) {
        out.addLong(t);
      }
    });
    return out;
  }

  private void unfreeze(Roaring64Bitmap tracks) {
    tracks.forEach(t -> expected.remove(t));
    frozenForWriters = pair.splitExtents();
  }

  private void maybeAwait(CopyRequest request) {
    checkPointInTime("right after " + request.kind() + " id=" + request.id());
    if (random.nextBoolean()) {
      await(request);
    }
  }

  private void await(CopyRequest r) {
    CopyProgress done = r.await(Duration.ofSeconds(60));
    log.step("  done " + r.kind() + " id=" + r.id() + ": copied " + done.tracksCopied() + " of "
        + done.tracksToCopy() + " to copy, state " + pair.state());
    // I4: a request copies at most the tracks that needed it in its region.
    long regionTracks = r.region().trackCount(TS);
    assertTrue(done.tracksCopied() <= done.tracksToCopy(), r + " copied more than it had to");
    assertTrue(done.tracksToCopy() <= regionTracks, r + " counted tracks outside its region");
    assertEquals(done.tracksToCopy(), done.tracksDone(), r + " finished with tracks left");
  }

  /** I2: every frozen track reads (through the secondary) as its instant's image. */
  private void checkPointInTime(String when) {
    for (Map.Entry<Long, byte[]> e : expected.entrySet()) {
      long t = e.getKey();
      byte[] got = s.read(t * TS, e.getValue().length);
      if (secondaryWritten.contains(t)) {
        continue;
      }
      ExtentSet checked = scope.intersection(ExtentSet.of(t * TS, (t + 1) * TS));
      if (pair instanceof ExtentSplitPair xp) {
        checked = checked.intersection(xp.splitExtents()); // the rest of the track mirrors
      }
      for (Extent in : checked.extents()) {
        int from = (int) (in.start() - t * TS);
        int to = (int) (in.end() - t * TS);
        if (!Arrays.equals(e.getValue(), from, to, got, from, to)) {
          fail("I2 " + when + ": frozen track " + t + " does not read as its point-in-time "
              + "image (state " + pair.state() + ", first difference at byte "
              + (t * TS + from + Arrays.mismatch(e.getValue(), from, to, got, from, to)) + ")");
        }
      }
    }
  }

  /**
   * Exact extents, with writes stopped: in a split track, the bytes outside the split extents
   * read on the secondary as on the primary (host writes went through to them).
   */
  private void checkSplitTracksMirrorTheRest(ExtentSplitPair xp) {
    ExtentSet split = xp.splitExtents();
    for (Extent tr : split.trackRanges(TS)) {
      for (long t = tr.start(); t < tr.end(); t++) {
        ExtentSet rest = scope.intersection(ExtentSet.of(t * TS, Math.min((t + 1) * TS, SIZE)))
            .minus(split);
        for (Extent r : rest.extents()) {
          byte[] onP = p.read(r.start(), (int) r.length());
          byte[] onS = s.read(r.start(), (int) r.length());
          assertArrayEquals(onP, onS, "exact extents: split track " + t + " bytes " + r
              + " outside the split extents " + split + " are not mirrored");
        }
      }
    }
  }

  /** I3: with writes stopped, a full resync/join converges the secondary to the primary. */
  private void converge() throws Exception {
    pair.activeRequests().forEach(this::await);
    if (pair instanceof ExtentSplitPair xp) {
      checkSplitTracksMirrorTheRest(xp);
      if (!xp.splitExtents().isEmpty()) {
        await(issue("converge: extentJoin", tracksOf(xp.splitExtents()),
            () -> xp.extentJoin(xp.splitExtents())));
      }
    } else if (pair.state() == PairState.SPLIT) {
      await(issue("converge: resync", allTracks(),
          () -> pair instanceof VolumePair vp ? vp.resync() : ((ExtentPair) pair).resync()));
    }
    pair.mirrorDrained().get();
    log.step("converge: mirror drained, state " + pair.state());
    assertEquals(PairState.FORMED, pair.state());
    assertEquals(0, pair.stats().pendingTracks());
    rig.controller().flush(); // with a cache: the images below are then also what the backends hold
    byte[] pImage = readAll(rawP);
    byte[] sImage = readAll(rawS);
    for (long t = 0; t < TRACKS; t++) {
      assertTrue(inScopeBytesEqual(pImage, sImage, t), "I3: track " + t + " did not converge");
    }
    if (cached) {
      // After flush the backends themselves must hold the converged images.
      assertTrue(Arrays.equals(pImage, readAll(backendP)), "P not destaged");
      assertTrue(Arrays.equals(sImage, readAll(backendS)), "S not destaged");
    }
    // An extent pair never writes the secondary outside its extents.
    for (Extent gap : ExtentSet.of(0, SIZE).minus(scope).extents()) {
      for (long b = gap.start(); b < gap.end(); b++) {
        if (sImage[(int) b] != SENTINEL) {
          fail("byte " + b + " outside the pair's extents was written");
        }
      }
    }
  }

  private Roaring64Bitmap allTracks() {
    return tracksOf(scope);
  }

  private static Roaring64Bitmap tracksOf(ExtentSet e) {
    Roaring64Bitmap b = new Roaring64Bitmap();
    for (Extent tr : e.trackRanges(TS)) {
      b.addRange(tr.start(), tr.end());
    }
    return b;
  }

  private ExtentSet randomExtent() {
    long start = random.nextInt(SIZE - 1);
    long length = 1 + random.nextInt(12 * TS);
    return ExtentSet.of(start, Math.min(SIZE, start + length));
  }

  @Override
  public void close() {
    stop.set(true);
    rig.close();
  }

  private static byte[] readAll(Volume v) {
    try {
      ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(v.size()));
      v.read(0, b);
      return b.array();
    } catch (Exception e) {
      throw new AssertionError("cannot read " + v.name(), e);
    }
  }

  private static byte[] random(long seed, int length) {
    byte[] b = new byte[length];
    new Random(seed).nextBytes(b);
    return b;
  }
}
