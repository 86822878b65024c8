package io.pairkit.core.internal.engine;

import static io.pairkit.core.internal.engine.Rig.WAIT;
import static io.pairkit.core.internal.engine.Rig.random;
import static io.pairkit.core.internal.engine.Rig.readAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.ConsistencyGroup;
import io.pairkit.api.CopyProgress;
import io.pairkit.api.CopyRequest;
import io.pairkit.api.Extent;
import io.pairkit.api.ExtentPair;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.ExtentSplitPair;
import io.pairkit.api.HostVolume;
import io.pairkit.api.PairController;
import io.pairkit.api.PairOptions;
import io.pairkit.api.PairState;
import io.pairkit.api.TrackState;
import io.pairkit.api.VolumePair;
import io.pairkit.api.error.InvalidExtentException;
import io.pairkit.api.error.PairStateException;
import io.pairkit.api.error.SecondaryWriteRefusedException;
import io.pairkit.api.spi.VolumeSpec;
import io.pairkit.core.PairKit;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Restore (reverse resync): the primary gets the secondary's split image back, whole or per
 * extent, copying only the tracks that differ and only the bytes the extents cover; the primary
 * stays online (reads see the restored data, writes win); the pair is split again afterwards; it
 * survives a restart; the states where it means nothing are refused with the way out.
 */
@Timeout(120)
class RestoreTest {
  private static final int TS = 4096;
  private static final int TRACKS = 64;
  private static final int SIZE = TRACKS * TS;

  @TempDir
  Path dir;

  @Test
  void restoreCopiesOnlyTheTracksThatDiffer_andLeavesThePairSplit() {
    try (Rig rig = new Rig(PairKit.builder().trackSize(TS), false)) {
      VolumePair pair = splitPair(rig);
      HostVolume p = pair.primary();
      HostVolume s = pair.secondary();
      byte[] splitImage = readAll(p);
      p.write(3L * TS, random(2, TS)); // damage on the primary: tracks 3, 10 and 11
      p.write(10L * TS + 100, random(3, TS));
      s.write(20L * TS, random(4, 512)); // and a write to the copy, which the restore brings
      byte[] expected = splitImage.clone();
      System.arraycopy(random(4, 512), 0, expected, 20 * TS, 512);

      CopyRequest restore = pair.restore();
      assertEquals(io.pairkit.api.RequestKind.RESTORE, restore.kind());
      CopyProgress done = restore.await(WAIT);
      assertEquals(4, done.tracksCopied(), "tracks 3, 10, 11 and 20 differ, and only they");
      assertEquals(4L * TS, done.bytesCopied());
      assertArrayEquals(expected, readAll(p), "the primary holds the secondary's image");
      assertArrayEquals(expected, readAll(s));
      assertEquals(PairState.SPLIT, pair.state(), "split again once restored");
      assertEquals(0, pair.stats().changedTracks(), "both sides equal: nothing changed");

      p.write(30L * TS, random(5, TS)); // after the restore, a resync copies only this
      assertEquals(1, pair.resync().await(WAIT).tracksCopied());
      assertArrayEquals(readAll(p), readAll(s));
    }
  }

  @Test
  void aOneGibPairWithOnePercentChangedRestoresAtMostThreePercentOfItsBytes() {
    long gib = 1L << 30;
    int track = 64 << 10;
    try (PairController pk = PairKit.builder().trackSize(track).build()) {
      HostVolume p = pk.openVolume(VolumeSpec.builder("p", "file").property("path",
          dir.resolve("p.img").toString()).property("size", gib).property("mode", "create")
          .build());
      HostVolume s = pk.openVolume(VolumeSpec.builder("s", "file").property("path",
          dir.resolve("s.img").toString()).property("size", gib).property("mode", "create")
          .build());
      for (long at = 0; at < gib; at += 16L << 20) { // some data, thin elsewhere
        p.write(at, random(at, 1 << 20));
      }
      VolumePair pair = pk.createVolumePair("vp", p, s);
      pair.initialCopy().await(WAIT);
      pair.split().await(WAIT);
      Random rnd = new Random(3);
      long tracks = gib / track;
      java.util.Set<Long> hit = new java.util.HashSet<>();
      while (hit.size() < tracks / 100) { // 1% of the tracks, by 4 KiB writes
        long t = rnd.nextLong(tracks);
        hit.add(t);
        p.write(t * track + rnd.nextInt(track / 4096) * 4096L, random(t, 4096));
      }
      CopyProgress done = pair.restore().await(WAIT);
      assertEquals(hit.size(), done.tracksCopied(), "exactly the changed tracks");
      assertTrue(done.bytesCopied() <= gib * 3 / 100, done.bytesCopied() + " bytes copied");
      assertEquals(0, pair.stats().changedTracks());
    }
  }

  @Test
  void perExtentRestoreCopiesOnlyTheCoveredBytes_andTheTrackStaysChangedForTheRest() {
    try (Rig rig = new Rig(PairKit.builder().trackSize(TS), false)) {
      VolumePair pair = splitPair(rig);
      HostVolume p = pair.primary();
      HostVolume s = pair.secondary();
      p.write(5L * TS, random(2, TS)); // "the database file" at bytes 1024..3072 of track 5
      p.write(12L * TS, random(3, 2 * TS)); // and all of tracks 12 and 13
      p.write(40L * TS, random(6, TS)); // another file, newer content that must stay
      byte[] before = readAll(p);
      byte[] copy = readAll(s);

      ExtentSet file = ExtentSet.of(List.of(Extent.of(5L * TS + 1024, 5L * TS + 3072),
          Extent.of(12L * TS, 14L * TS)));
      CopyProgress done = pair.restore(file).await(WAIT);
      assertEquals(3, done.tracksCopied());
      assertEquals(2048 + 2L * TS, done.bytesCopied(), "only the covered bytes");
      byte[] now = readAll(p);
      byte[] expected = before.clone();
      System.arraycopy(copy, 5 * TS + 1024, expected, 5 * TS + 1024, 2048);
      System.arraycopy(copy, 12 * TS, expected, 12 * TS, 2 * TS);
      assertArrayEquals(expected, now, "the file's bytes restored, every other byte kept");
      assertEquals(TrackState.SPLIT_CHANGED,
          pair.trackStates(Extent.of(0, SIZE)).state(5), "the rest of track 5 still differs");
      assertEquals(TrackState.SPLIT, pair.trackStates(Extent.of(0, SIZE)).state(12));
      assertEquals(TrackState.SPLIT_CHANGED, pair.trackStates(Extent.of(0, SIZE)).state(40));
      assertEquals(2, pair.stats().changedTracks());
    }
  }

  @Test
  void thePrimaryStaysOnline_readsSeeTheRestoredData_writesWin_theCopyIsHeld()
      throws Exception {
    try (Rig rig = new Rig(PairKit.builder().trackSize(TS), false)) {
      VolumePair pair = splitPair(rig);
      HostVolume p = pair.primary();
      HostVolume s = pair.secondary();
      byte[] splitImage = readAll(s);
      for (int t = 0; t < TRACKS; t++) {
        p.write((long) t * TS, random(100 + t, TS)); // every track damaged
      }
      rig.controller.pauseBackgroundCopies(); // the background copy waits: host I/O meets it
      CopyRequest restore = pair.restore();
      assertEquals(PairState.RESTORING, pair.state());

      // Reads of parts not yet restored already see the restored data.
      assertArrayEquals(Rig.slice(splitImage, 50L * TS, 52L * TS), p.read(50L * TS, 2 * TS));
      // The copy is not written while it is the restore's source.
      SecondaryWriteRefusedException held = assertThrows(SecondaryWriteRefusedException.class,
          () -> s.write(60L * TS, new byte[512]));
      assertTrue(held.getMessage().contains("RESTORING"), held.getMessage());
      // Other requests wait for the restore.
      PairStateException refused = assertThrows(PairStateException.class, pair::resync);
      assertTrue(refused.getMessage().contains("restore"), refused.getMessage());
      assertThrows(PairStateException.class, pair::delete);

      // Host writers on the primary meanwhile, from several threads: each write wins.
      byte[] model = splitImage.clone();
      List<Thread> writers = new ArrayList<>();
      AtomicReference<Throwable> failed = new AtomicReference<>();
      for (int w = 0; w < 3; w++) {
        int writer = w;
        Thread th = new Thread(() -> {
          try {
            Random rnd = new Random(writer);
            for (int i = 0; i < 40; i++) {
              int t = writer + 3 * rnd.nextInt(TRACKS / 3); // disjoint tracks per writer
              int off = rnd.nextInt(TS / 512) * 512;
              byte[] data = random(1000L * writer + i, 512);
              p.write((long) t * TS + off, data);
              synchronized (model) {
                System.arraycopy(data, 0, model, t * TS + off, 512);
              }
            }
          } catch (Throwable e) {
            failed.set(e);
          }
        });
        writers.add(th);
        th.start();
      }
      for (Thread th : writers) {
        th.join();
      }
      assertEquals(null, failed.get());
      rig.controller.resumeBackgroundCopies();
      restore.await(WAIT);
      assertArrayEquals(model, readAll(p), "restored data with every host write on top");
      assertEquals(PairState.SPLIT, pair.state());
      s.write(60L * TS, new byte[512]); // the copy is writable again
    }
  }

  @Test
  void otherPairsOfThePrimarySeeTheRestoreAsHostWrites() throws Exception {
    try (Rig rig = new Rig(PairKit.builder().trackSize(TS), false)) {
      HostVolume p = rig.volume("p", SIZE, TS);
      HostVolume s1 = rig.volume("s1", SIZE, TS);
      HostVolume s2 = rig.volume("s2", SIZE, TS);
      HostVolume s3 = rig.volume("s3", SIZE, TS);
      Rig.fill(p, 1);
      VolumePair backup = rig.pk.createVolumePair("backup", p, s1);
      VolumePair mirror = rig.pk.createVolumePair("mirror", p, s2);
      VolumePair snapshot = rig.pk.createVolumePair("snapshot", p, s3);
      backup.initialCopy().await(WAIT);
      mirror.initialCopy().await(WAIT);
      snapshot.initialCopy().await(WAIT);
      backup.split().await(WAIT);
      p.write(7L * TS, random(2, TS));
      snapshot.split().await(WAIT);
      byte[] snapshotImage = readAll(p);
      PairStateException busy = null;
      backup.restore().await(WAIT);
      mirror.mirrorDrained().get(30, TimeUnit.SECONDS);
      assertArrayEquals(readAll(p), readAll(s2), "the mirrored pair copied the restored track");
      assertArrayEquals(snapshotImage, readAll(s3), "the split pair kept its point in time");
      assertEquals(1, snapshot.stats().changedTracks());
      assertEquals(null, busy);
    }
  }

  @Test
  void refusalsNameTheStateAndTheWayOut() {
    try (Rig rig = new Rig(PairKit.builder().trackSize(TS), false)) {
      HostVolume p = rig.volume("p", SIZE, TS);
      HostVolume s = rig.volume("s", SIZE, TS);
      VolumePair pair = rig.pk.createVolumePair("vp", p, s);
      pair.initialCopy().await(WAIT);
      PairStateException formed = assertThrows(PairStateException.class, pair::restore);
      assertTrue(formed.getMessage().contains("FORMED")
          && formed.getMessage().contains("split the pair first"), formed.getMessage());

      HostVolume p2 = rig.volume("p2", SIZE, TS);
      HostVolume s2 = rig.volume("s2", SIZE, TS);
      ExtentSplitPair xp = rig.pk.createExtentSplitPair("xp", p2, s2);
      xp.initialCopy().await(WAIT);
      xp.extentSplit(ExtentSet.of(8L * TS, 16L * TS)).await(WAIT);
      InvalidExtentException mirrored = assertThrows(InvalidExtentException.class,
          () -> xp.restore(ExtentSet.of(4L * TS, 12L * TS)));
      assertTrue(mirrored.getMessage().contains("not split"), mirrored.getMessage());
      p2.write(9L * TS, random(3, TS));
      p2.write(30L * TS, random(4, TS)); // mirrored: never restored
      assertEquals(1, xp.restore().await(WAIT).tracksCopied(), "only the split, changed one");
      assertEquals(PairState.EXTENT_SPLIT, xp.state());
    }
  }

  @Test
  void extentPairAndConsistencyGroupRestore() {
    try (Rig rig = new Rig(PairKit.builder().trackSize(TS), false)) {
      HostVolume p1 = rig.volume("p1", SIZE, TS);
      HostVolume s1 = rig.volume("s1", SIZE, TS);
      HostVolume p2 = rig.volume("p2", SIZE, TS);
      HostVolume s2 = rig.volume("s2", SIZE, TS);
      Rig.fill(p1, 1);
      Rig.fill(p2, 2);
      ExtentSet extents = ExtentSet.of(4L * TS + 512, 9L * TS);
      ExtentPair data = rig.pk.createExtentPair("data", p1, s1, extents);
      VolumePair log = rig.pk.createVolumePair("log", p2, s2);
      data.initialCopy().await(WAIT);
      log.initialCopy().await(WAIT);
      ConsistencyGroup group = rig.pk.createGroup("db", List.of("data", "log"));
      group.split();
      byte[] p1Split = readAll(p1);
      byte[] p2Split = readAll(p2);
      p1.write(4L * TS, random(5, 2 * TS)); // inside and outside the extent pair's bytes
      p2.write(0, random(6, TS));
      for (CopyRequest r : group.restore(Map.of())) {
        r.await(WAIT);
      }
      byte[] expected = p1Split.clone();
      System.arraycopy(random(5, 512), 0, expected, 4 * TS, 512); // outside the extents: kept
      assertArrayEquals(expected, readAll(p1));
      assertArrayEquals(p2Split, readAll(p2));
      assertEquals(PairState.SPLIT, data.state());
      assertEquals(PairState.SPLIT, log.state());
    }
  }

  @Test
  void aRestoreStoppedByCloseGoesOnAfterTheRestart_andHostWritesAfterItStay() throws Exception {
    PairKit.Builder builder = PairKit.builder().trackSize(TS).metadataDirectory(dir.resolve("m"));
    byte[] splitImage;
    byte[] late = random(77, TS);
    try (PairController pk = builder.build()) {
      HostVolume p = pk.openVolume(spec("p", "create"));
      HostVolume s = pk.openVolume(spec("s", "create"));
      p.write(0, random(7, SIZE));
      VolumePair pair = pk.createVolumePair("vp", p, s);
      pair.initialCopy().await(WAIT);
      pair.split().await(WAIT);
      splitImage = readAll(s);
      p.write(0, random(8, SIZE)); // all damaged
      ((DefaultPairController) pk).pauseBackgroundCopies();
      pair.restore();
      p.write(33L * TS, late); // restored first, then this write wins: recorded so
      assertEquals(PairState.RESTORING, pair.state());
      byte[] onDisk = java.nio.file.Files.readAllBytes(dir.resolve("p.img"));
      assertTrue(!java.util.Arrays.equals(splitImage, 0, TS, onDisk, 0, TS),
          "track 0 not restored yet (a host read would restore it first)");
    }
    try (PairController pk = builder.build()) {
      VolumePair pair = (VolumePair) pk.pair("vp");
      assertTrue(pair.state() == PairState.RESTORING || pair.state() == PairState.SPLIT,
          pair.state().toString());
      for (CopyRequest r : pair.activeRequests()) {
        r.await(WAIT);
      }
      assertEquals(PairState.SPLIT, pair.state());
      byte[] expected = splitImage.clone();
      System.arraycopy(late, 0, expected, 33 * TS, TS);
      assertArrayEquals(expected, readAll(pk.volume("p")), "restored, and the late write kept");
      assertEquals(1, pair.stats().changedTracks(), "only the late write differs");
    }
    try (PairController pk = builder.build()) {
      assertEquals(PairState.SPLIT, pk.pair("vp").state(), "the restore's end was recorded");
      assertEquals(1, pk.pair("vp").stats().changedTracks());
    }
  }

  /** A split volume pair "vp" of "p" (filled) to "s". */
  private static VolumePair splitPair(Rig rig) {
    HostVolume p = rig.volume("p", SIZE, TS);
    Rig.fill(p, 1);
    VolumePair pair = rig.pk.createVolumePair("vp", p, rig.volume("s", SIZE, TS));
    pair.initialCopy().await(WAIT);
    pair.split().await(WAIT);
    return pair;
  }

  private VolumeSpec spec(String name, String mode) {
    return VolumeSpec.builder(name, "file").property("path", dir.resolve(name + ".img").toString())
        .property("size", SIZE).property("mode", mode).build();
  }
}
