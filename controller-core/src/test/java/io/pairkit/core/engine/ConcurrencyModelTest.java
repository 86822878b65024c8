package io.pairkit.core.engine;

import io.pairkit.core.PairKit;

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
import io.pairkit.api.Pair;
import io.pairkit.api.PairState;
import io.pairkit.api.PairStrategy;
import io.pairkit.api.TrackState;
import io.pairkit.api.TrackStates;
import io.pairkit.api.VolumePair;
import io.pairkit.api.error.SecondaryWriteRefusedException;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.testing.MemoryVolume;
import io.pairkit.backend.file.FileVolume;
import io.pairkit.core.cache.TrackCacheConfig;
import java.nio.file.Files;
import java.nio.file.Path;
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
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.roaringbitmap.longlong.Roaring64Bitmap;

/**
 * Model-based concurrency test. Host threads write random ranges (partial tracks, track
 * boundaries, multi-track) to the primary, and to split areas of the secondary, while the main
 * thread issues random valid requests. A reference model records the primary's image at every
 * request instant (from the instant observer, under the engine's barrier) and the expected image
 * of every frozen track. Checked: I1 at every instant; I2 after every request and at random
 * moments while copies run; I3 at the end; I4 bounds on every completed request.
 *
 * <p>A failure message starts with the seed; rerun one with {@code -Dpairkit.seed=N}.
 */
@Timeout(120)
class ConcurrencyModelTest {
  private static final int TS = 4096;
  private static final int TRACKS = 96;
  private static final int SIZE = TRACKS * TS;
  private static final byte SENTINEL = (byte) 0x5A;

  static Stream<Arguments> runs() {
    String one = System.getProperty("pairkit.seed");
    List<Long> seeds = one != null ? List.of(Long.parseLong(one)) : List.of(1L, 2L, 3L, 4L);
    List<Arguments> out = new ArrayList<>();
    for (PairStrategy strategy : PairStrategy.values()) {
      for (long seed : seeds) {
        out.add(Arguments.of(strategy, seed, "memory", 30));
      }
      out.add(Arguments.of(strategy, 100L, "file", 30));
      out.add(Arguments.of(strategy, 200L, "memory+cache", 30));
      out.add(Arguments.of(strategy, 300L, "file+cache", 30));
    }
    return out.stream();
  }

  static Stream<Arguments> soak() {
    List<Arguments> out = new ArrayList<>();
    for (PairStrategy strategy : PairStrategy.values()) {
      for (long seed = 1000; seed < 1040; seed++) {
        String backend = switch ((int) (seed % 4)) {
          case 0 -> "file";
          case 1 -> "memory+cache";
          case 2 -> "file+cache";
          default -> "memory";
        };
        out.add(Arguments.of(strategy, seed, backend, 120));
      }
    }
    return out.stream();
  }

  @ParameterizedTest(name = "{0} seed={1} {2}")
  @MethodSource("runs")
  void randomRequestsUnderConcurrentWritesKeepInvariants(PairStrategy strategy, long seed,
      String backend, int requests) throws Exception {
    runWithSeed(strategy, seed, backend, requests);
  }

  @Tag("slow")
  @ParameterizedTest(name = "soak {0} seed={1} {2}")
  @MethodSource("soak")
  @Timeout(600)
  void soak(PairStrategy strategy, long seed, String backend, int requests) throws Exception {
    runWithSeed(strategy, seed, backend, requests);
  }

  private void runWithSeed(PairStrategy strategy, long seed, String backend, int requests)
      throws Exception {
    Path dir = backend.startsWith("file") ? Files.createTempDirectory("pairkit-model") : null;
    try (Run run = new Run(strategy, seed, dir, requests, backend.endsWith("+cache"))) {
      run.execute();
    } catch (AssertionError | Exception e) {
      throw new AssertionError("seed=" + seed + " strategy=" + strategy + " backend=" + backend
          + " (rerun: -Dpairkit.seed=" + seed + "): " + e.getMessage(), e);
    } finally {
      if (dir != null) {
        try (Stream<Path> files = Files.list(dir)) {
          for (Path f : files.toList()) {
            Files.deleteIfExists(f);
          }
        }
        Files.deleteIfExists(dir);
      }
    }
  }

  /** One seeded run. */
  private static final class Run implements AutoCloseable {
    private final PairStrategy strategy;
    private final long seed;
    private final Random random;
    private final int requests;
    /** The volumes as the engine sees them (through the cache when there is one). */
    private final Volume rawP;
    private final Volume rawS;
    /** The volumes themselves (beneath the cache, if any). */
    private final Volume backendP;
    private final Volume backendS;
    private final boolean cached;
    private final Rig rig;
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
    private final java.util.concurrent.locks.ReentrantReadWriteLock secondaryWriteVsRequest =
        new java.util.concurrent.locks.ReentrantReadWriteLock();
    private final List<Throwable> writerErrors = new CopyOnWriteArrayList<>();

    Run(PairStrategy strategy, long seed, Path dir, int requests, boolean cache)
        throws Exception {
      this.strategy = strategy;
      this.seed = seed;
      this.random = new Random(seed);
      this.requests = requests;
      Volume backendP;
      Volume backendS;
      if (dir == null) {
        backendP = new MemoryVolume("p", SIZE);
        backendS = new MemoryVolume("s", SIZE);
      } else {
        backendP = FileVolume.open("p", dir.resolve("p.img"), SIZE,
            FileVolume.OpenMode.CREATE);
        backendS = FileVolume.open("s", dir.resolve("s.img"), SIZE,
            FileVolume.OpenMode.CREATE);
      }
      byte[] sentinel = new byte[SIZE];
      Arrays.fill(sentinel, SENTINEL);
      backendS.write(0, java.nio.ByteBuffer.wrap(sentinel));
      backendP.write(0, java.nio.ByteBuffer.wrap(Rig.random(seed, SIZE)));
      PairKit.Builder builder = PairKit.builder().trackSize(TS).copyThreads(2).maxTracksInFlight(2);
      if (cache) {
        // 16 slots for 2 x 96 tracks: constant eviction and destage under the engine.
        builder.trackCache(TrackCacheConfig.defaults().withCapacity(16 * TS));
      }
      this.rig = new Rig(builder, (pr, id) -> atInstant(pr, id));
      this.p = rig.attach(backendP);
      this.s = rig.attach(backendS);
      this.rawP = rig.controller.backendOf("p");
      this.rawS = rig.controller.backendOf("s");
      this.backendP = backendP;
      this.backendS = backendS;
      this.cached = cache;
      this.scope = strategy == PairStrategy.EXTENT_PAIR
          ? ExtentSet.of(Extent.of(5 * TS + 100, 20 * TS - 7), Extent.of(40 * TS, 41 * TS + 1),
              Extent.of(70 * TS + 9, 90 * TS))
          : ExtentSet.of(0, SIZE);
    }

    /** Runs under the barrier: snapshot, I1, and the model's reset of the region. */
    private void atInstant(AbstractPair pr, long requestId) {
      TrackStates bits = pr.trackStates(Extent.of(0, SIZE)); // bits first, then images
      byte[] pImage = Rig.readAll(rawP);
      byte[] sImage = Rig.readAll(rawS);
      imageAtInstant.put(requestId, pImage);
      for (Extent tr : scope.trackRanges(TS)) {
        for (long t = tr.start(); t < tr.end(); t++) {
          TrackState st = bits.state(t);
          boolean different = st == TrackState.PENDING || st == TrackState.SPLIT_PENDING
              || st == TrackState.SPLIT_CHANGED;
          if (!different && !inScopeBytesEqual(pImage, sImage, t)) {
            violations.add("I1: track " + t + " differs but is neither pending nor changed");
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
        case VOLUME_PAIR -> rig.pk.createVolumePair("model", p, s);
        case EXTENT_PAIR -> rig.pk.createExtentPair("model", p, s, scope);
        case EXTENT_SPLIT_PAIR -> rig.pk.createExtentSplitPair("model", p, s);
      };
      List<Thread> writers = new ArrayList<>();
      for (int w = 0; w < 3; w++) {
        long writerSeed = seed * 31 + w;
        writers.add(start(() -> primaryWriter(new Random(writerSeed))));
      }
      writers.add(start(() -> secondaryWriter(new Random(seed * 37))));
      try {
        await(pair.initialCopy());
        for (int i = 0; i < requests && violations.isEmpty(); i++) {
          issueRandomRequest();
          checkPointInTime("while copies run");
        }
        for (CopyRequest r : pair.activeRequests()) {
          await(r);
        }
        checkPointInTime("after the last request");
      } finally {
        stop.set(true);
        for (Thread t : writers) {
          t.join();
        }
      }
      if (!writerErrors.isEmpty()) {
        throw new AssertionError("a host writer failed", writerErrors.get(0));
      }
      assertTrue(violations.isEmpty(), violations.toString());
      converge();
    }

    private Thread start(Runnable body) {
      Thread t = new Thread(() -> {
        try {
          body.run();
        } catch (Throwable e) {
          writerErrors.add(e);
        }
      }, "host-writer");
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
        p.write(offset, data);
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
          s.write(offset, data);
        } catch (SecondaryWriteRefusedException joinedMeanwhile) {
          // The extent was joined after we looked: a correct refusal.
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
        CopyRequest split = pair instanceof VolumePair vp ? issue(allTracks(), vp::split)
            : issue(allTracks(), ((ExtentPair) pair)::split);
        freeze(split, allTracks());
        maybeAwait(split);
      } else if (state == PairState.SPLIT) {
        if (pair instanceof VolumePair vp && random.nextInt(3) != 0) {
          ExtentSet e = randomExtent();
          CopyRequest update = issue(tracksOf(e), () -> vp.extentUpdate(e));
          freeze(update, tracksOf(e));
          maybeAwait(update);
        } else {
          CopyRequest resync = pair instanceof VolumePair vp ? issue(allTracks(), vp::resync)
              : issue(allTracks(), ((ExtentPair) pair)::resync);
          unfreeze(allTracks());
          maybeAwait(resync);
        }
      }
    }

    private void extentSplitRequest() {
      ExtentSplitPair xp = (ExtentSplitPair) pair;
      ExtentSet split = xp.splitExtents();
      if (!split.isEmpty() && random.nextBoolean()) {
        Extent chosen = split.extents().get(random.nextInt(split.extents().size()));
        ExtentSet e = ExtentSet.of(chosen);
        CopyRequest join = issue(tracksOf(e), () -> xp.extentJoin(e));
        unfreeze(tracksOf(e));
        maybeAwait(join);
      } else {
        ExtentSet e = randomExtent();
        if (!e.intersection(split).isEmpty()) {
          return;
        }
        CopyRequest req = issue(tracksOf(e), () -> xp.extentSplit(e));
        freeze(req, tracksOf(e));
        maybeAwait(req);
      }
    }

    private CopyRequest issue(Roaring64Bitmap region, java.util.function.Supplier<CopyRequest> r) {
      instantRegion = region;
      secondaryWriteVsRequest.writeLock().lock();
      try {
        return r.get();
      } finally {
        secondaryWriteVsRequest.writeLock().unlock();
      }
    }

    private void freeze(CopyRequest request, Roaring64Bitmap tracks) {
      byte[] image = imageAtInstant.get(request.id());
      tracks.forEach(t -> expected.put(t, Arrays.copyOfRange(image, (int) (t * TS),
          (int) Math.min((t + 1) * TS, SIZE))));
      frozenForWriters = pair.splitExtents();
    }

    private void unfreeze(Roaring64Bitmap tracks) {
      tracks.forEach(t -> expected.remove(t));
      frozenForWriters = pair.splitExtents();
    }

    private void maybeAwait(CopyRequest request) {
      checkPointInTime("right after " + request.kind());
      if (random.nextBoolean()) {
        await(request);
      }
    }

    private void await(CopyRequest r) {
      CopyProgress done = r.await(Duration.ofSeconds(60));
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
        for (Extent in : scope.intersection(ExtentSet.of(t * TS, (t + 1) * TS)).extents()) {
          int from = (int) (in.start() - t * TS);
          int to = (int) (in.end() - t * TS);
          if (!Arrays.equals(e.getValue(), from, to, got, from, to)) {
            fail("I2 " + when + ": frozen track " + t + " does not read as its point-in-time "
                + "image (state " + pair.state() + ")");
          }
        }
      }
    }

    /** I3: with writes stopped, a full resync/join converges the secondary to the primary. */
    private void converge() throws Exception {
      pair.activeRequests().forEach(this::await);
      if (pair instanceof ExtentSplitPair xp) {
        if (!xp.splitExtents().isEmpty()) {
          await(xp.extentJoin(xp.splitExtents()));
        }
      } else if (pair.state() == PairState.SPLIT) {
        await(pair instanceof VolumePair vp ? vp.resync() : ((ExtentPair) pair).resync());
      }
      pair.mirrorDrained().get();
      assertEquals(PairState.FORMED, pair.state());
      assertEquals(0, pair.stats().pendingTracks());
      rig.pk.flush(); // with a cache: the images below are then also what the backends hold
      byte[] pImage = Rig.readAll(rawP);
      byte[] sImage = Rig.readAll(rawS);
      for (long t = 0; t < TRACKS; t++) {
        assertTrue(inScopeBytesEqual(pImage, sImage, t), "I3: track " + t + " did not converge");
      }
      if (cached) {
        // After flush the backends themselves must hold the converged images.
        assertTrue(Arrays.equals(pImage, Rig.readAll(backendP)), "P not destaged");
        assertTrue(Arrays.equals(sImage, Rig.readAll(backendS)), "S not destaged");
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
  }
}
