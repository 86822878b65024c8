package io.pairkit.core.internal.engine;

import static io.pairkit.core.internal.engine.Rig.WAIT;
import static io.pairkit.core.internal.engine.Rig.random;
import static io.pairkit.core.internal.engine.Rig.readAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.CopyProgress;
import io.pairkit.api.Extent;
import io.pairkit.api.HostVolume;
import io.pairkit.api.PairController;
import io.pairkit.api.PairOptions;
import io.pairkit.api.PairState;
import io.pairkit.api.RecoveryReport;
import io.pairkit.api.TrackState;
import io.pairkit.api.VolumePair;
import io.pairkit.api.error.InvalidArgumentException;
import io.pairkit.api.spi.VolumeSpec;
import io.pairkit.testkit.MemoryVolume;
import io.pairkit.core.PairKit;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A pair's own copy pace (it caps the pair's background copies, holds no copy worker while the
 * pair waits, changes at run time and is recorded), and creation without an initial copy
 * ({@code paircreate -nocopy}: FORMED at once, nothing copied, later writes mirrored, recorded).
 */
@Timeout(90)
class CopyPaceAndNoCopyTest {
  private static final int TS = 64 * 1024;

  @TempDir
  Path dir;

  @Test
  void aPacedPairHoldsNoCopyWorker_soAnotherPairCopiesMeanwhile() throws Exception {
    long paced = 64L << 20; // 64 MiB at 1 MiB/s: a minute, far longer than the test waits
    try (Rig rig = new Rig(PairKit.builder().trackSize(TS).copyThreads(1), false)) {
      HostVolume pa = rig.volume("pa", paced, TS);
      HostVolume sa = rig.volume("sa", paced, TS);
      Rig.fill(pa, 1);
      long t0 = System.nanoTime();
      VolumePair slow = rig.pk.createVolumePair("slow", pa, sa,
          PairOptions.defaults().withCopyPace(1 << 20));
      HostVolume pb = rig.volume("pb", 4L << 20, TS);
      HostVolume sb = rig.volume("sb", 4L << 20, TS);
      Rig.fill(pb, 2);
      VolumePair fast = rig.pk.createVolumePair("fast", pb, sb);
      fast.initialCopy().await(WAIT); // on the one copy worker the slow pair does not hold
      assertArrayEquals(readAll(pb), readAll(sb));
      CopyProgress slowSoFar = slow.initialCopy().progress();
      double seconds = (System.nanoTime() - t0) / 1e9;
      assertEquals(PairState.FORMING, slow.state());
      // At most one run ahead of its pace (a run is at most 1 MiB here).
      assertTrue(slowSoFar.bytesCopied() <= (seconds + 1) * (1 << 20) + (1 << 20),
          slowSoFar + " after " + seconds + " s");
      assertEquals(1 << 20, slow.options().copyPace());
      slow.setCopyPace(0); // no cap of its own: it finishes now
      slow.initialCopy().await(WAIT);
      assertArrayEquals(readAll(pa), readAll(sa));
    }
  }

  @Test
  void theCopyTakesAtLeastWhatItsPaceAllows() throws Exception {
    long size = 8L << 20;
    long pace = 8L << 20; // 8 MiB at 8 MiB/s: at least 7/8 s, one run being free
    try (Rig rig = new Rig(PairKit.builder().trackSize(TS), false)) {
      HostVolume p = rig.volume("p", size, TS);
      HostVolume s = rig.volume("s", size, TS);
      Rig.fill(p, 3);
      long t0 = System.nanoTime();
      VolumePair pair = rig.pk.createVolumePair("vp", p, s,
          PairOptions.defaults().withCopyPace(pace));
      pair.initialCopy().await(WAIT);
      double seconds = (System.nanoTime() - t0) / 1e9;
      assertTrue(seconds >= 0.85, "8 MiB at 8 MiB/s took " + seconds + " s");
      assertArrayEquals(readAll(p), readAll(s));
      assertThrows(InvalidArgumentException.class, () -> pair.setCopyPace(-1));
      assertThrows(InvalidArgumentException.class,
          () -> PairOptions.defaults().withCopyPace(-5));
    }
  }

  @Test
  void aPairCreatedWithoutCopyIsFormedAtOnce_andMirrorsLaterWrites() throws Exception {
    int size = 32 * TS;
    try (Rig rig = new Rig(PairKit.builder().trackSize(TS), false)) {
      MemoryVolume rawS = new MemoryVolume("s", size);
      HostVolume p = rig.volume("p", size, TS);
      HostVolume s = rig.attach(rawS);
      byte[] same = random(4, size);
      p.write(0, same);
      s.write(0, same); // the caller's assertion holds: both sides are equal
      rig.pk.pauseBackgroundCopies(); // any copy would wait: none is needed
      VolumePair pair = rig.pk.createVolumePair("vp", p, s,
          PairOptions.defaults().withInitialCopy(false));
      assertEquals(PairState.FORMED, pair.state());
      assertTrue(pair.initialCopy().isDone());
      assertEquals(0, pair.stats().pendingTracks());
      assertFalse(pair.options().initialCopy());
      rig.pk.resumeBackgroundCopies();
      p.write(5L * TS + 9, random(5, 100));
      pair.mirrorDrained().get();
      assertArrayEquals(readAll(p), readAll(rawS));
      assertEquals(TrackState.IN_SYNC, pair.trackStates(Extent.of(0, size)).state(5));
    }
  }

  @Test
  void paceAndNoCopyAreRecorded() throws Exception {
    PairKit.Builder builder = PairKit.builder().trackSize(TS).metadataDirectory(dir.resolve("m"));
    long size = 16L * TS;
    try (PairController pk = builder.build()) {
      HostVolume p = pk.openVolume(spec("p", size, "create"));
      HostVolume s = pk.openVolume(spec("s", size, "create"));
      VolumePair pair = pk.createVolumePair("vp", p, s, PairOptions.defaults()
          .withInitialCopy(false).withCopyPace(3 << 20));
      assertEquals(PairState.FORMED, pair.state());
      pair.setCopyPace(5 << 20);
    }
    try (PairController pk = builder.build()) {
      RecoveryReport report = pk.recoveryReport();
      assertEquals(0, report.pendingTracks(), "nothing to copy after the reopen: " + report);
      VolumePair pair = (VolumePair) pk.pair("vp");
      assertEquals(PairState.FORMED, pair.state());
      assertEquals(5 << 20, pair.options().copyPace());
      assertFalse(pair.options().initialCopy());
    }
  }

  private VolumeSpec spec(String name, long size, String mode) {
    return VolumeSpec.builder(name, "file").property("path", dir.resolve(name + ".img").toString())
        .property("size", size).property("mode", mode).build();
  }
}
