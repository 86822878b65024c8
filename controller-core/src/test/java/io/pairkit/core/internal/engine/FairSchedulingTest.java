package io.pairkit.core.internal.engine;

import static io.pairkit.core.internal.engine.Rig.WAIT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.CopyProgress;
import io.pairkit.api.CopyRequest;
import io.pairkit.api.Extent;
import io.pairkit.api.ExtentPair;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.ExtentSplitPair;
import io.pairkit.api.HostVolume;
import io.pairkit.api.Pair;
import io.pairkit.api.VolumePair;
import io.pairkit.core.PairKit;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Liveness: no request waits behind the mirror. A host writer puts 4 KiB at random into mirrored
 * tracks every 0.5 ms, far more than the paced mirror can copy, so the mirrors always have work;
 * a request that needs one track copied must still finish in about one copy run, in every
 * strategy, with one copy thread, and with three pairs on one primary.
 *
 * <p>Each test first builds its pairs with nothing to copy, then pauses background copies, makes
 * exactly the request's track pending, issues the request, starts the writer and resumes: so the
 * request's work is known (one track) and the mirrors' backlog is as large as the writer makes it.
 */
@Timeout(120)
class FairSchedulingTest {
  private static final int TS = 64 * 1024;
  private static final long SIZE = 64L << 20; // 1024 tracks
  private static final long RATE = 4L << 20; // 4 MiB/s: a 1 MiB run takes 0.25 s
  /** Generous for a loaded 2-core CI machine; starved requests waited indefinitely. */
  private static final Duration DEADLINE = Duration.ofSeconds(5);

  @Test
  void extentSplitPair_oneCopyThread_extentSplitFinishesUnderSteadyMirrorLoad() throws Exception {
    try (Rig rig = rig(1)) {
      HostVolume p = rig.volume("p", SIZE, TS);
      HostVolume s = rig.volume("s", SIZE, TS);
      ExtentSplitPair pair = rig.pk.createExtentSplitPair("x", p, s);
      pair.initialCopy().await(WAIT);
      Extent target = Extent.of(10L * TS, 11L * TS);
      assertFinishesInTime(rig, p, pair, target, ExtentSet.of(20L * TS, SIZE),
          () -> pair.extentSplit(ExtentSet.of(target)));
    }
  }

  @Test
  void volumePair_oneCopyThread_extentUpdateFinishesUnderSteadyMirrorLoad() throws Exception {
    try (Rig rig = rig(1)) {
      HostVolume p = rig.volume("p", SIZE, TS);
      VolumePair pair = rig.pk.createVolumePair("v", p, rig.volume("s", SIZE, TS));
      VolumePair load = rig.pk.createVolumePair("load", p, rig.volume("l", SIZE, TS));
      pair.initialCopy().await(WAIT);
      load.initialCopy().await(WAIT);
      pair.split().await(WAIT);
      Extent target = Extent.of(10L * TS, 11L * TS);
      assertFinishesInTime(rig, p, load, target, ExtentSet.of(20L * TS, SIZE),
          () -> pair.extentUpdate(ExtentSet.of(target)));
    }
  }

  @Test
  void extentPair_oneCopyThread_splitFinishesUnderSteadyMirrorLoad() throws Exception {
    try (Rig rig = rig(1)) {
      HostVolume p = rig.volume("p", SIZE, TS);
      Extent target = Extent.of(10L * TS, 11L * TS);
      ExtentPair pair = rig.pk.createExtentPair("e", p, rig.volume("s", SIZE, TS),
          ExtentSet.of(target));
      VolumePair load = rig.pk.createVolumePair("load", p, rig.volume("l", SIZE, TS));
      pair.initialCopy().await(WAIT);
      load.initialCopy().await(WAIT);
      assertFinishesInTime(rig, p, load, target, ExtentSet.of(20L * TS, SIZE), pair::split);
    }
  }

  /** The acceptance run's second case: A split, B and C mirroring, default copy threads. */
  @Test
  void threePairsOnOnePrimary_extentUpdateOfTheSplitOneFinishesUnderMirrorLoad()
      throws Exception {
    try (Rig rig = rig(PairKit.builder().config().copyThreads())) {
      HostVolume p = rig.volume("p", SIZE, TS);
      VolumePair a = rig.pk.createVolumePair("A", p, rig.volume("sa", SIZE, TS));
      VolumePair b = rig.pk.createVolumePair("B", p, rig.volume("sb", SIZE, TS));
      VolumePair c = rig.pk.createVolumePair("C", p, rig.volume("sc", SIZE, TS));
      for (Pair pair : List.of(a, b, c)) {
        pair.initialCopy().await(WAIT);
      }
      a.split().await(WAIT);
      Extent target = Extent.of(10L * TS, 11L * TS);
      assertFinishesInTime(rig, p, b, target, ExtentSet.of(20L * TS, SIZE),
          () -> a.extentUpdate(ExtentSet.of(target)));
      assertTrue(c.stats().mirrorBacklogTracks() > 0, "C's mirror backlog is reported too");
    }
  }

  /** A request for a whole-volume resync still drains its (large) work at the paced rate. */
  @Test
  void twoRequestsOfDifferentPairsShareTheWorkersRoundRobin() throws Exception {
    try (Rig rig = rig(1)) {
      HostVolume p = rig.volume("p", SIZE, TS);
      ExtentSplitPair x = rig.pk.createExtentSplitPair("x", p, rig.volume("sx", SIZE, TS));
      ExtentSplitPair y = rig.pk.createExtentSplitPair("y", p, rig.volume("sy", SIZE, TS));
      x.initialCopy().await(WAIT);
      y.initialCopy().await(WAIT);
      rig.pk.pauseBackgroundCopies();
      p.write(0, Rig.random(1, (int) (256L * TS))); // 16 MiB pending for both: 4 s each
      p.write(500L * TS, Rig.random(2, TS));
      CopyRequest big = x.extentSplit(ExtentSet.of(0, 256L * TS));
      CopyRequest small = y.extentSplit(ExtentSet.of(500L * TS, 501L * TS));
      long start = System.nanoTime();
      rig.pk.resumeBackgroundCopies();
      small.await(DEADLINE);
      double smallSeconds = (System.nanoTime() - start) / 1e9;
      assertTrue(!big.completion().isDone(), "the big request is still running: " + big);
      assertTrue(smallSeconds < 2, "a one-track request queued after a 16 MiB one waited "
          + smallSeconds + " s");
      x.forceDelete();
    }
  }

  private static Rig rig(int copyThreads) {
    return new Rig(PairKit.builder().trackSize(TS).copyThreads(copyThreads)
        .copyBytesPerSecond(RATE), false);
  }

  /**
   * Makes {@code target} pending with copies paused, issues the request, then keeps the mirror of
   * {@code loaded} busy by writing into {@code writeArea} while the request runs; the request
   * must copy its one track within the deadline.
   */
  private static void assertFinishesInTime(Rig rig, HostVolume p, Pair loaded, Extent target,
      ExtentSet writeArea, Supplier<CopyRequest> request) throws Exception {
    rig.pk.pauseBackgroundCopies();
    p.write(target.start(), Rig.random(7, (int) target.length()));
    CopyRequest r = request.get();
    assertEquals(1, r.progress().tracksToCopy(), "the request has exactly one track to copy");
    AtomicBoolean stop = new AtomicBoolean();
    AtomicLong writes = new AtomicLong();
    List<Throwable> errors = new ArrayList<>();
    Thread writer = new Thread(() -> {
      Random random = new Random(11);
      byte[] block = new byte[4096];
      Extent area = writeArea.extents().get(0);
      long blocks = area.length() / block.length;
      try {
        while (!stop.get()) {
          random.nextBytes(block);
          p.write(area.start() + (random.nextLong() & Long.MAX_VALUE) % blocks * block.length,
              block);
          writes.incrementAndGet();
          LockSupport.parkNanos(500_000); // the workload's pace, not a synchronisation
        }
      } catch (Throwable e) {
        synchronized (errors) {
          errors.add(e);
        }
      }
    }, "host-writer");
    writer.start();
    try {
      while (writes.get() < 200) {
        Thread.onSpinWait(); // a backlog far beyond what the paced mirror copies in a run
      }
      long start = System.nanoTime();
      rig.pk.resumeBackgroundCopies();
      CopyProgress done = r.await(DEADLINE);
      double seconds = (System.nanoTime() - start) / 1e9;
      assertEquals(1, done.tracksDone());
      assertTrue(loaded.stats().mirrorBacklogTracks() > 0,
          "the mirror had a backlog the whole time (so the test had load): " + loaded.stats());
      assertTrue(seconds < DEADLINE.toSeconds(), r + " took " + seconds + " s under load");
    } finally {
      stop.set(true);
      writer.join();
    }
    synchronized (errors) {
      assertTrue(errors.isEmpty(), () -> "host writer failed: " + errors);
    }
  }
}
