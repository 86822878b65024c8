package io.pairkit.core.internal.engine;

import static io.pairkit.core.internal.engine.Rig.WAIT;
import static io.pairkit.core.internal.engine.Rig.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.CopyProgress;
import io.pairkit.api.CopyRequest;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.HostVolume;
import io.pairkit.api.PairStats;
import io.pairkit.api.VolumePair;
import io.pairkit.api.error.SecondaryWriteRefusedException;
import io.pairkit.testkit.MemoryVolume;
import io.pairkit.core.PairKit;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Thin volumes: a copy skips what is unallocated on the primary and discards it on the secondary
 * instead of moving zeros; host discards count as writes for the pairs (difference bits and
 * copy-on-write alike).
 */
@Timeout(120)
class ThinCopyTest {
  private static final int TS = 64 * 1024;

  @Test
  void aSparseTebibyteCopiesOnlyItsData() throws Exception {
    long size = 1L << 40;
    try (Rig rig = new Rig(PairKit.builder().trackSize(TS), false)) {
      MemoryVolume rawP = new MemoryVolume("p", size);
      MemoryVolume rawS = new MemoryVolume("s", size);
      HostVolume p = rig.attach(rawP);
      HostVolume s = rig.attach(rawS);
      long[] at = {0, 3L << 30, 100L << 30, 512L << 30, size - (1L << 20)};
      for (int i = 0; i < at.length; i++) {
        p.write(at[i], random(i, 1 << 20)); // five pieces of 1 MiB: 80 tracks of data
      }
      long start = System.nanoTime();
      VolumePair pair = rig.pk.createVolumePair("sparse", p, s);
      CopyProgress done = pair.initialCopy().await(WAIT);
      double seconds = (System.nanoTime() - start) / 1e9;
      PairStats stats = pair.stats();
      assertEquals(80, stats.jobCopies(), "only tracks holding data are copied: " + stats);
      assertEquals(size / TS - 80, stats.skippedTracks(), stats.toString());
      assertEquals(size / TS, done.tracksDone());
      assertEquals(5L << 20, done.bytesCopied());
      for (int i = 0; i < at.length; i++) {
        assertArrayEquals(random(i, 1 << 20), s.read(at[i], 1 << 20), "piece " + i);
      }
      assertEquals(rawP.allocated(0, size), rawS.allocated(0, size),
          "the secondary holds data exactly where the primary does");
      assertTrue(seconds < 60, "a 1 TiB sparse copy took " + seconds + " s");
    }
  }

  /** Host-visible allocation: holes of a thin volume; everything while a split copy is owed. */
  @Test
  void hostAllocation_reportsHoles_andTheWholeRangeWhileASecondaryOwesCopies() throws Exception {
    long size = 64L * TS;
    try (Rig rig = new Rig(PairKit.builder().trackSize(TS), false)) {
      HostVolume p = rig.volume("p", size, TS);
      HostVolume s = rig.volume("s", size, TS);
      p.write(5L * TS, random(1, TS));
      assertEquals(ExtentSet.of(5L * TS, 6L * TS), p.allocated(0, size));
      VolumePair pair = rig.pk.createVolumePair("a", p, s);
      pair.initialCopy().await(WAIT);
      assertEquals(ExtentSet.of(5L * TS, 6L * TS), s.allocated(0, size));
      rig.pk.pauseBackgroundCopies();
      p.write(20L * TS, random(2, TS));
      var split = pair.split(); // track 20 is owed to the secondary; its reads come from P
      assertEquals(ExtentSet.of(0, size), s.allocated(0, size), "a superset while copies owed");
      assertArrayEquals(random(2, TS), s.read(20L * TS, TS));
      rig.pk.resumeBackgroundCopies();
      split.await(WAIT);
      assertEquals(ExtentSet.of(5L * TS, 6L * TS).union(ExtentSet.of(20L * TS, 21L * TS)),
          s.allocated(0, size));
      assertThrows(io.pairkit.api.error.ExtentOutOfRangeException.class,
          () -> p.allocated(size - 1, 2));
    }
  }

  @Test
  void whatIsUnallocatedOnThePrimaryIsDiscardedOnTheSecondary() throws Exception {
    long size = 64L * TS;
    try (Rig rig = new Rig(PairKit.builder().trackSize(TS), false)) {
      MemoryVolume rawS = new MemoryVolume("s", size);
      rawS.write(0, ByteBuffer.wrap(random(1, (int) size))); // stale data on the secondary
      HostVolume p = rig.volume("p", size, TS);
      HostVolume s = rig.attach(rawS);
      p.write(10L * TS + 100, random(2, 2 * TS));
      VolumePair pair = rig.pk.createVolumePair("v", p, s);
      pair.initialCopy().await(WAIT);
      assertArrayEquals(Rig.readAll(p), Rig.readAll(s));
      assertEquals(ExtentSet.of(10L * TS, 12L * TS + 4096), rawS.allocated(0, size),
          "stale blocks were freed, not overwritten with zeros");
    }
  }

  @Test
  void hostDiscardOfAPrimaryIsMirroredAndCopiedOnWriteWhenSplit() throws Exception {
    long size = 64L * TS;
    try (Rig rig = new Rig(PairKit.builder().trackSize(TS), true)) {
      HostVolume p = rig.volume("p", size, TS);
      MemoryVolume rawS = new MemoryVolume("s", size);
      HostVolume s = rig.attach(rawS);
      Rig.fill(p, 3);
      VolumePair pair = rig.pk.createVolumePair("v", p, s);
      pair.initialCopy().await(WAIT);
      // Mirrored: a discard makes tracks pending; the mirror discards them on the secondary.
      p.discard(4L * TS, 4L * TS);
      pair.mirrorDrained().get();
      assertArrayEquals(new byte[4 * TS], s.read(4L * TS, 4 * TS));
      assertEquals(ExtentSet.of(0, 4L * TS).union(ExtentSet.of(8L * TS, size)),
          rawS.allocated(0, size));
      // Split with copies paused: a discard of a frozen, not yet copied track is a write, so the
      // point-in-time data is copied first.
      rig.pk.pauseBackgroundCopies();
      p.write(20L * TS, random(4, TS));
      CopyRequest split = pair.split();
      byte[] atSplit = rig.primaryAtInstant.get(split.id());
      p.discard(20L * TS, TS);
      assertEquals(1, pair.stats().copyOnWriteCopies());
      rig.pk.resumeBackgroundCopies();
      split.await(WAIT);
      assertArrayEquals(atSplit, Rig.readAll(s));
      // Discarding split tracks of the secondary is recorded; mirrored ones are refused.
      s.discard(30L * TS, 10);
      assertEquals(2, pair.stats().changedTracks(), "the secondary's discard is a change too");
      pair.resync().await(WAIT);
      pair.mirrorDrained().get();
      assertArrayEquals(Rig.readAll(p), Rig.readAll(s));
      assertThrows(SecondaryWriteRefusedException.class, () -> s.discard(0, TS));
    }
  }
}
