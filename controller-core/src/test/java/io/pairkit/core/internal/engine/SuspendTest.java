package io.pairkit.core.internal.engine;

import static io.pairkit.core.internal.engine.Rig.WAIT;
import static io.pairkit.core.internal.engine.Rig.random;
import static io.pairkit.core.internal.engine.Rig.readAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.Extent;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.ExtentSplitPair;
import io.pairkit.api.HostVolume;
import io.pairkit.api.MirrorMode;
import io.pairkit.api.PairController;
import io.pairkit.api.PairOptions;
import io.pairkit.api.PairState;
import io.pairkit.api.TrackState;
import io.pairkit.api.VolumePair;
import io.pairkit.api.error.PairStateException;
import io.pairkit.api.spi.VolumeSpec;
import io.pairkit.testkit.MemoryVolume;
import io.pairkit.core.PairKit;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Suspension by request ({@code pairsplit -E}): from its instant nothing reaches the secondary (a
 * synchronous mirror included, running initial copies and resyncs stop), host writes to the
 * primary go on and are recorded pending, and resume copies exactly those; it survives a restart;
 * states where it means nothing are refused with the way out.
 */
@Timeout(60)
class SuspendTest {
  private static final int TS = 4096;
  private static final int SIZE = 64 * TS;

  @TempDir
  Path dir;

  @Test
  void nothingReachesTheSecondaryWhileSuspended_andResumeCopiesWhatChanged() throws Exception {
    for (MirrorMode mode : List.of(MirrorMode.SYNCHRONOUS, MirrorMode.ASYNCHRONOUS)) {
      try (Rig rig = new Rig(PairKit.builder().trackSize(TS), false)) {
        MemoryVolume rawS = new MemoryVolume("s", SIZE);
        HostVolume p = rig.volume("p", SIZE, TS);
        HostVolume s = rig.attach(rawS);
        Rig.fill(p, 1);
        VolumePair pair = rig.pk.createVolumePair("vp", p, s,
            PairOptions.defaults().withMirrorMode(mode));
        pair.initialCopy().await(WAIT);
        pair.mirrorDrained().get(30, TimeUnit.SECONDS);
        byte[] before = readAll(rawS);
        pair.suspend();
        assertEquals(PairState.SUSPENDED, pair.state(), mode.toString());
        assertTrue(pair.mirrorStatus().reason().contains("suspended by request"),
            pair.mirrorStatus().toString());
        p.write(3L * TS + 100, random(2, 2 * TS)); // tracks 3-5
        p.write(40L * TS, random(3, TS)); // track 40
        assertArrayEquals(before, readAll(rawS), mode + ": the secondary did not move");
        assertEquals(4, pair.stats().pendingTracks(), mode + ": the writes are recorded");
        assertEquals(TrackState.PENDING, pair.trackStates(Extent.of(0, SIZE)).state(40));
        PairStateException refused = assertThrows(PairStateException.class, pair::split);
        assertTrue(refused.getMessage().contains("suspended by request")
            && refused.getMessage().contains("resume()"), refused.getMessage());
        long copied = pair.resume().await(WAIT).tracksCopied();
        assertEquals(4, copied, mode + ": resume copies what changed, and only that");
        pair.mirrorDrained().get(30, TimeUnit.SECONDS);
        assertEquals(PairState.FORMED, pair.state());
        assertArrayEquals(readAll(p), readAll(rawS), mode.toString());
        if (mode == MirrorMode.SYNCHRONOUS) {
          assertEquals(MirrorMode.SYNCHRONOUS, pair.mirrorStatus().effective(),
              "synchronous again after the resume");
        }
      }
    }
  }

  @Test
  void aSuspensionStopsTheInitialCopy_andResumeFinishesIt() throws Exception {
    try (Rig rig = new Rig(PairKit.builder().trackSize(TS), false)) {
      MemoryVolume rawS = new MemoryVolume("s", SIZE);
      HostVolume p = rig.volume("p", SIZE, TS);
      HostVolume s = rig.attach(rawS);
      Rig.fill(p, 4);
      rig.pk.pauseBackgroundCopies(); // the initial copy cannot finish before the suspension
      VolumePair pair = rig.pk.createVolumePair("vp", p, s);
      assertEquals(PairState.FORMING, pair.state());
      pair.suspend();
      rig.pk.resumeBackgroundCopies();
      CancellationException stopped = assertThrows(CancellationException.class,
          () -> pair.initialCopy().completion().get(30, TimeUnit.SECONDS));
      assertTrue(stopped.getMessage().contains("suspended by request"), stopped.getMessage());
      assertEquals(PairState.SUSPENDED, pair.state());
      assertArrayEquals(new byte[SIZE], readAll(rawS), "nothing was copied");
      assertEquals(64, pair.stats().pendingTracks());
      assertEquals(64, pair.resume().await(WAIT).tracksCopied());
      assertEquals(PairState.FORMED, pair.state(), "the resume finished the initial copy");
      assertArrayEquals(readAll(p), readAll(rawS));
    }
  }

  @Test
  void statesWhereSuspendMeansNothingAreRefusedWithTheWayOut() throws Exception {
    try (Rig rig = new Rig(PairKit.builder().trackSize(TS), false)) {
      HostVolume p = rig.volume("p", SIZE, TS);
      HostVolume s = rig.volume("s", SIZE, TS);
      VolumePair pair = rig.pk.createVolumePair("vp", p, s);
      pair.initialCopy().await(WAIT);
      pair.split().await(WAIT);
      PairStateException split = assertThrows(PairStateException.class, pair::suspend);
      assertTrue(split.getMessage().contains("is SPLIT and cannot be suspended")
          && split.getMessage().contains("resync"), split.getMessage());
      assertEquals(PairState.SPLIT, pair.state(), "a refused suspension changes nothing");
      pair.resync().await(WAIT);
      pair.suspend();
      PairStateException twice = assertThrows(PairStateException.class, pair::suspend);
      assertTrue(twice.getMessage().contains("suspended already"), twice.getMessage());
      pair.delete(); // a suspended pair can be deleted
      assertEquals(PairState.DELETED, pair.state());
    }
  }

  @Test
  void anExtentSplitPairKeepsItsFrozenImageWhileItsMirrorIsSuspended() throws Exception {
    try (Rig rig = new Rig(PairKit.builder().trackSize(TS).mirrorMode(MirrorMode.SYNCHRONOUS),
        false)) {
      MemoryVolume rawS = new MemoryVolume("s", SIZE);
      HostVolume p = rig.volume("p", SIZE, TS);
      HostVolume s = rig.attach(rawS);
      Rig.fill(p, 5);
      ExtentSplitPair pair = rig.pk.createExtentSplitPair("xs", p, s);
      pair.initialCopy().await(WAIT);
      pair.extentSplit(ExtentSet.of(8L * TS, 12L * TS)).await(WAIT);
      byte[] image = readAll(rawS);
      pair.suspend();
      p.write(0, random(6, SIZE)); // every track: frozen ones copied first, mirrored ones pending
      byte[] onS = readAll(rawS);
      assertArrayEquals(image, onS, "frozen tracks hold the split image; mirrored ones did not "
          + "move");
      pair.resume().await(WAIT);
      pair.mirrorDrained().get(30, TimeUnit.SECONDS);
      byte[] after = readAll(rawS);
      byte[] primary = readAll(p);
      for (int b = 0; b < SIZE; b++) {
        boolean frozen = b >= 8 * TS && b < 12 * TS;
        assertEquals(frozen ? image[b] : primary[b], after[b], "byte " + b);
      }
      assertEquals(PairState.EXTENT_SPLIT, pair.state());
    }
  }

  /**
   * Real writer threads while the pair is suspended: once {@code suspend()} returns, the
   * secondary never changes again until the resume, and the resume makes it equal.
   */
  @Test
  void concurrentWritersDoNotReachTheSecondaryAfterSuspendReturns() throws Exception {
    try (Rig rig = new Rig(PairKit.builder().trackSize(TS).mirrorMode(MirrorMode.SYNCHRONOUS),
        false)) {
      MemoryVolume rawS = new MemoryVolume("s", SIZE);
      HostVolume p = rig.volume("p", SIZE, TS);
      HostVolume s = rig.attach(rawS);
      VolumePair pair = rig.pk.createVolumePair("vp", p, s);
      pair.initialCopy().await(WAIT);
      int writers = 4;
      CountDownLatch started = new CountDownLatch(writers);
      CountDownLatch suspended = new CountDownLatch(1);
      AtomicReference<Throwable> failure = new AtomicReference<>();
      List<Thread> threads = new ArrayList<>();
      for (int w = 0; w < writers; w++) {
        int id = w;
        Thread t = new Thread(() -> {
          Random r = new Random(id);
          try {
            for (int i = 0; i < 400; i++) {
              if (i == 50) {
                started.countDown();
              }
              if (i == 200) {
                suspended.await(); // half the writes certainly come after the suspension
              }
              byte[] data = new byte[512 + r.nextInt(2 * TS)];
              r.nextBytes(data);
              p.write(r.nextInt(SIZE - data.length), data);
            }
          } catch (Throwable e) {
            failure.compareAndSet(null, e);
          }
        });
        threads.add(t);
        t.start();
      }
      started.await();
      pair.suspend();
      byte[] atSuspend = readAll(rawS);
      suspended.countDown();
      for (Thread t : threads) {
        t.join();
      }
      if (failure.get() != null) {
        throw new AssertionError("a writer failed", failure.get());
      }
      assertArrayEquals(atSuspend, readAll(rawS), "no write or copy reached the secondary");
      pair.resume().await(WAIT);
      pair.mirrorDrained().get(30, TimeUnit.SECONDS);
      assertArrayEquals(readAll(p), readAll(rawS));
    }
  }

  @Test
  void aSuspensionSurvivesARestart_andResumeThenCopiesWhatChanged() throws Exception {
    PairKit.Builder builder = PairKit.builder().trackSize(TS).metadataDirectory(dir.resolve("m"));
    try (PairController pk = builder.build()) {
      HostVolume p = pk.openVolume(spec("p", "create"));
      HostVolume s = pk.openVolume(spec("s", "create"));
      p.write(0, random(7, SIZE));
      VolumePair pair = pk.createVolumePair("vp", p, s);
      pair.initialCopy().await(WAIT);
      pair.mirrorDrained().get(30, TimeUnit.SECONDS);
      pair.suspend();
      p.write(5L * TS, random(8, TS));
    }
    try (PairController pk = builder.build()) {
      VolumePair pair = (VolumePair) pk.pair("vp");
      assertEquals(PairState.SUSPENDED, pair.state());
      PairStateException e = assertThrows(PairStateException.class, pair::split);
      assertTrue(e.getMessage().contains("suspended by request"), e.getMessage());
      HostVolume p = pk.volume("p");
      p.write(9L * TS, random(9, TS));
      assertTrue(pair.stats().pendingTracks() >= 2, "both writes pending: " + pair.stats());
      pair.resume().await(WAIT);
      pair.mirrorDrained().get(30, TimeUnit.SECONDS);
      assertEquals(PairState.FORMED, pair.state());
      assertArrayEquals(p.read(0, SIZE), pk.volume("s").read(0, SIZE));
    }
    try (PairController pk = builder.build()) {
      assertEquals(PairState.FORMED, pk.pair("vp").state(), "the resume was recorded");
    }
  }

  private VolumeSpec spec(String name, String mode) {
    return VolumeSpec.builder(name, "file").property("path", dir.resolve(name + ".img").toString())
        .property("size", SIZE).property("mode", mode).build();
  }
}
