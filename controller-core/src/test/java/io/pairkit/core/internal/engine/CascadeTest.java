package io.pairkit.core.internal.engine;

import static io.pairkit.core.internal.engine.Rig.WAIT;
import static io.pairkit.core.internal.engine.Rig.random;
import static io.pairkit.core.internal.engine.Rig.readAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.ExtentSet;
import io.pairkit.api.HostVolume;
import io.pairkit.api.MirrorMode;
import io.pairkit.api.PairController;
import io.pairkit.api.PairOptions;
import io.pairkit.api.PairState;
import io.pairkit.api.VolumePair;
import io.pairkit.api.error.InvalidArgumentException;
import io.pairkit.api.error.PairStateException;
import io.pairkit.api.error.VolumeInUseException;
import io.pairkit.api.spi.VolumeSpec;
import io.pairkit.core.PairKit;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Cascades: the split secondary of a pair (a backup) is the primary of another (a backup of the
 * backup, or a test copy of the split image), two and three levels deep. Host writes to a middle
 * volume follow both pairs' rules: the upper pair records them changed, the lower one mirrors
 * them or keeps its own point in time. Combinations that would copy under a lower pair are
 * refused, naming the way out.
 */
@Timeout(60)
class CascadeTest {
  private static final int TS = 4096;
  private static final int SIZE = 32 * TS;

  @TempDir
  Path dir;

  @Test
  void aSplitCopyIsThePrimaryOfASecondLevel_andWritesToItFollowBothPairs() throws Exception {
    for (MirrorMode mode : List.of(MirrorMode.SYNCHRONOUS, MirrorMode.ASYNCHRONOUS)) {
      try (Rig rig = new Rig(PairKit.builder().trackSize(TS), false)) {
        HostVolume p = rig.volume("p", SIZE, TS);
        HostVolume v = rig.volume("v", SIZE, TS);
        HostVolume w = rig.volume("w", SIZE, TS);
        HostVolume x = rig.volume("x", SIZE, TS);
        Rig.fill(p, 1);
        VolumePair backup = rig.pk.createVolumePair("backup", p, v);
        backup.initialCopy().await(WAIT);
        VolumeInUseException early = assertThrows(VolumeInUseException.class,
            () -> rig.pk.createVolumePair("second", v, w));
        assertTrue(early.getMessage().contains("SPLIT"), early.getMessage());
        backup.split().await(WAIT);
        byte[] pointInTime = readAll(v);

        VolumePair second = rig.pk.createVolumePair("second", v, w,
            PairOptions.defaults().withMirrorMode(mode));
        second.initialCopy().await(WAIT);
        assertArrayEquals(pointInTime, readAll(w), mode + ": level 2 copied level 1's image");
        // A third level from level 2's split copy.
        second.split().await(WAIT);
        VolumePair third = rig.pk.createVolumePair("third", w, x);
        third.initialCopy().await(WAIT);
        assertArrayEquals(pointInTime, readAll(x));
        assertEquals(PairState.SPLIT, backup.state());

        // A test writes to the backup (level 1's copy): both pairs see it.
        byte[] data = random(2, 2 * TS);
        v.write(5L * TS, data);
        assertEquals(2, backup.stats().changedTracks(), "the upper pair records its copy changed");
        assertEquals(2, second.stats().changedTracks(), "split level 2 records its primary changed");
        assertArrayEquals(pointInTime, readAll(w), "level 2 keeps its point in time (COW)");
        // A write to level 2's copy, level 3's primary: level 2 records it, level 3 mirrors it.
        w.write(10L * TS, random(9, TS));
        assertEquals(3, second.stats().changedTracks());
        third.mirrorDrained().get(30, TimeUnit.SECONDS);
        assertArrayEquals(readAll(w), readAll(x), mode + ": level 3 mirrors level 2's copy");
        PairStateException below = assertThrows(PairStateException.class, second::resync);
        assertTrue(below.getMessage().contains("'third'"), below.getMessage());
        third.delete();
        second.resync().await(WAIT);
        second.mirrorDrained().get(30, TimeUnit.SECONDS);
        assertArrayEquals(readAll(v), readAll(w), mode + ": level 2 mirrors level 1's copy");
        v.write(20L * TS, random(3, TS)); // mirrored by level 2 now
        second.mirrorDrained().get(30, TimeUnit.SECONDS);
        assertArrayEquals(readAll(v), readAll(w));
        assertEquals(3, backup.stats().changedTracks());

        // The upper pair may not copy into a volume with a pair below it; a restore reads it.
        PairStateException refused = assertThrows(PairStateException.class, backup::resync);
        assertTrue(refused.getMessage().contains("cascade")
            && refused.getMessage().contains("'second'"), refused.getMessage());
        assertThrows(PairStateException.class,
            () -> backup.extentUpdate(ExtentSet.of(0, TS)));
        second.split().await(WAIT);
        PairStateException noRestore = assertThrows(PairStateException.class, second::restore);
        assertTrue(noRestore.getMessage().contains("cascade"), noRestore.getMessage());
        p.write(0, random(4, SIZE));
        backup.restore().await(WAIT);
        assertArrayEquals(readAll(v), readAll(p), "level 1 restored its primary from the copy");
        assertThrows(InvalidArgumentException.class,
            () -> rig.pk.createGroup("both", List.of("backup", "second")));

        // Deleting the upper pair leaves the lower ones working.
        backup.delete();
        second.resync().await(WAIT);
        v.write(0, random(5, TS));
        second.mirrorDrained().get(30, TimeUnit.SECONDS);
        assertArrayEquals(readAll(v), readAll(w));
      }
    }
  }

  @Test
  void aCascadeSurvivesARestart_andWritesThroughItStayTracked() throws Exception {
    PairKit.Builder builder = PairKit.builder().trackSize(TS).metadataDirectory(dir.resolve("m"));
    try (PairController pk = builder.build()) {
      HostVolume p = pk.openVolume(spec("p"));
      HostVolume v = pk.openVolume(spec("v"));
      HostVolume w = pk.openVolume(spec("w"));
      p.write(0, random(6, SIZE));
      VolumePair backup = pk.createVolumePair("backup", p, v);
      backup.initialCopy().await(WAIT);
      backup.split().await(WAIT);
      VolumePair second = pk.createVolumePair("second", v, w);
      second.initialCopy().await(WAIT);
      second.split().await(WAIT);
      v.write(3L * TS, random(7, TS));
    }
    try (PairController pk = builder.build()) {
      VolumePair backup = (VolumePair) pk.pair("backup");
      VolumePair second = (VolumePair) pk.pair("second");
      assertEquals(PairState.SPLIT, backup.state());
      assertEquals(PairState.SPLIT, second.state());
      assertTrue(backup.stats().changedTracks() >= 1 && second.stats().changedTracks() >= 1,
          backup.stats() + " " + second.stats());
      HostVolume v = pk.volume("v");
      Random r = new Random(8);
      for (int i = 0; i < 20; i++) {
        v.write((long) r.nextInt(SIZE / TS) * TS, random(100 + i, TS));
      }
      second.resync().await(WAIT);
      second.mirrorDrained().get(30, TimeUnit.SECONDS);
      assertArrayEquals(readAll(v), readAll(pk.volume("w")));
      assertThrows(PairStateException.class, backup::resync);
    }
  }

  @Test
  void anUpperPairsRestoreStoppedByAFailureResumesWhileTheLowerPairStands() throws Exception {
    try (Rig rig = new Rig(PairKit.builder().trackSize(TS), false)) {
      HostVolume p = rig.volume("p", SIZE, TS);
      io.pairkit.testkit.FaultyVolume rawV = new io.pairkit.testkit.FaultyVolume(
          new io.pairkit.testkit.MemoryVolume("v", SIZE));
      HostVolume v = rig.attach(rawV);
      HostVolume w = rig.volume("w", SIZE, TS);
      Rig.fill(p, 1);
      VolumePair backup = rig.pk.createVolumePair("backup", p, v);
      backup.initialCopy().await(WAIT);
      backup.split().await(WAIT);
      byte[] image = readAll(v);
      VolumePair second = rig.pk.createVolumePair("second", v, w);
      second.initialCopy().await(WAIT);
      p.write(0, random(2, SIZE));
      rawV.fail(io.pairkit.testkit.FaultyVolume.Fault.READS);
      assertThrows(java.util.concurrent.CompletionException.class,
          () -> backup.restore().completion().join());
      assertEquals(PairState.SUSPENDED, backup.state());
      rawV.heal();
      backup.resume().await(WAIT);
      for (io.pairkit.api.CopyRequest r : backup.activeRequests()) {
        r.await(WAIT);
      }
      assertEquals(PairState.SPLIT, backup.state());
      assertArrayEquals(image, readAll(p), "the restore finished with the lower pair standing");
    }
  }

  private VolumeSpec spec(String name) {
    return VolumeSpec.builder(name, "file").property("path", dir.resolve(name + ".img").toString())
        .property("size", SIZE).property("mode", "create").build();
  }
}
