package io.pairkit.core.internal.engine;

import static io.pairkit.core.internal.engine.Rig.WAIT;
import static io.pairkit.core.internal.engine.Rig.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.CopyRequest;
import io.pairkit.api.Extent;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.ExtentSplitPair;
import io.pairkit.api.HostVolume;
import io.pairkit.api.MirrorMode;
import io.pairkit.api.PairOptions;
import io.pairkit.api.PairController;
import io.pairkit.api.PairState;
import io.pairkit.api.RecoveryReport;
import io.pairkit.api.TrackState;
import io.pairkit.api.VolumePair;
import io.pairkit.api.error.MetadataException;
import io.pairkit.api.error.VolumeConfigException;
import io.pairkit.api.spi.VolumeSpec;
import io.pairkit.testkit.MemoryVolume;
import io.pairkit.core.PairKit;
import io.pairkit.core.config.ControllerConfig;
import io.pairkit.core.registry.VolumeProviders;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Durable pairs on file volumes: a controller built again on the same metadata directory gets
 * every pair back, in its state, with its bits and running requests, and copies only what may
 * differ; one controller per directory; a swapped image is refused by name.
 */
@Timeout(60)
class DurablePairsTest {
  private static final int TS = 4096;
  private static final long SIZE = 256L * TS;

  @TempDir
  Path dir;

  private PairKit.Builder builder() {
    return PairKit.builder().trackSize(TS).metadataDirectory(dir.resolve("meta"));
  }

  private VolumeSpec spec(String name, String mode) {
    return VolumeSpec.builder(name, "file").property("path", dir.resolve(name + ".img").toString())
        .property("size", SIZE).property("mode", mode).build();
  }

  @Test
  void aCleanCloseAndReopenGivesEveryPairBackWithNothingToRedo() throws Exception {
    byte[] splitImage;
    try (PairController pk = builder().build()) {
      HostVolume p = pk.openVolume(spec("p", "create"));
      HostVolume s = pk.openVolume(spec("s", "create"));
      p.write(0, random(1, (int) SIZE));
      VolumePair pair = pk.createVolumePair("nightly", p, s);
      pair.initialCopy().await(WAIT);
      pair.split().await(WAIT);
      splitImage = s.read(0, (int) SIZE);
      p.write(10L * TS, random(2, 3 * TS)); // three changed tracks after the split
      assertEquals(3, pair.stats().changedTracks());
    }
    try (PairController pk = builder().build()) {
      RecoveryReport report = pk.recoveryReport();
      assertTrue(report.cleanStop(), report.toString());
      assertEquals(0, report.pendingTracks(), report.toString());
      VolumePair pair = (VolumePair) pk.pair("nightly");
      assertEquals(PairState.SPLIT, pair.state());
      assertEquals(3, pair.stats().changedTracks());
      assertEquals(0, pair.stats().pendingTracks());
      assertEquals(TrackState.SPLIT_CHANGED, pair.trackStates(Extent.of(0, SIZE)).state(11));
      assertArrayEquals(splitImage, pk.volume("s").read(0, (int) SIZE));
      // The pair works on: an update copies exactly the changed tracks of its extent.
      assertEquals(2, pair.extentUpdate(ExtentSet.of(10L * TS, 12L * TS)).await(WAIT)
          .tracksCopied());
      pair.resync().await(WAIT);
      pair.mirrorDrained().get();
      assertArrayEquals(pk.volume("p").read(0, (int) SIZE), pk.volume("s").read(0, (int) SIZE));
    }
  }

  @Test
  void aRequestStoppedByCloseRunsAgainAfterTheReopen() throws Exception {
    try (PairController pk = builder().build()) {
      HostVolume p = pk.openVolume(spec("p", "create"));
      HostVolume s = pk.openVolume(spec("s", "create"));
      p.write(0, random(3, (int) SIZE));
      ExtentSplitPair pair = pk.createExtentSplitPair("x", p, s,
          PairOptions.defaults().withMirrorMode(MirrorMode.ASYNCHRONOUS)); // writes stay pending
      pair.initialCopy().await(WAIT);
      pk.pauseBackgroundCopies();
      p.write(0, random(4, 64 * TS));
      CopyRequest split = pair.extentSplit(ExtentSet.of(0, 64L * TS));
      assertEquals(64, split.progress().tracksToCopy());
    }
    try (PairController pk = builder().build()) {
      ExtentSplitPair pair = (ExtentSplitPair) pk.pair("x");
      RecoveryReport report = pk.recoveryReport();
      assertEquals(1, report.pairs().get(0).restartedRequests(), report.toString());
      assertEquals(64, report.pendingTracks(), "the split's tracks, exactly: " + report);
      for (CopyRequest r : pair.activeRequests()) { // it may be done already
        r.await(WAIT);
      }
      assertEquals(PairState.EXTENT_SPLIT, pair.state());
      assertArrayEquals(pk.volume("p").read(0, 64 * TS), pk.volume("s").read(0, 64 * TS));
    }
  }

  /**
   * The bytes an extent split leaves mirrored in its boundary tracks are written through by host
   * writes, not recorded: a crash between the primary's write and the secondary's would leave
   * them stale, so a restart copies them again from the primary (here the secondary's image is
   * made stale while the controller is down), and never the split bytes.
   */
  @Test
  void aRestartCopiesTheMirroredBytesOfSplitTracksAgain() throws Exception {
    ExtentSet file = ExtentSet.of(8L * TS + 1000, 10L * TS + 100);
    byte[] splitBytes;
    try (PairController pk = builder().build()) {
      HostVolume p = pk.openVolume(spec("p", "create"));
      HostVolume s = pk.openVolume(spec("s", "create"));
      p.write(0, random(11, (int) SIZE));
      ExtentSplitPair pair = pk.createExtentSplitPair("x", p, s);
      pair.initialCopy().await(WAIT);
      pair.extentSplit(file).await(WAIT);
      p.write(8L * TS, random(12, 1000)); // before the extent in track 8: written through
      p.write(8L * TS + 1000, random(13, 500)); // inside: the copy keeps the split's bytes
      splitBytes = s.read(8L * TS + 1000, 500);
    }
    try (java.nio.channels.FileChannel img = java.nio.channels.FileChannel.open(
        dir.resolve("s.img"), java.nio.file.StandardOpenOption.WRITE)) {
      img.write(java.nio.ByteBuffer.wrap(new byte[1000]), 8L * TS); // lost write-through
      img.write(java.nio.ByteBuffer.wrap(new byte[200]), 10L * TS + 100); // and in track 10
    }
    try (PairController pk = builder().build()) {
      ExtentSplitPair pair = (ExtentSplitPair) pk.pair("x");
      assertEquals(PairState.EXTENT_SPLIT, pair.state());
      assertEquals(file, pair.splitExtents());
      HostVolume p = pk.volume("p");
      HostVolume s = pk.volume("s");
      assertArrayEquals(p.read(8L * TS, 1000), s.read(8L * TS, 1000), "refreshed at start");
      assertArrayEquals(p.read(10L * TS + 100, 200), s.read(10L * TS + 100, 200));
      assertArrayEquals(splitBytes, s.read(8L * TS + 1000, 500), "split bytes untouched");
    }
  }

  @Test
  void aSecondControllerOnTheDirectoryIsRefusedNamingTheHolder() {
    try (PairController pk = builder().build()) {
      MetadataException e = assertThrows(MetadataException.class, () -> builder().build());
      assertTrue(e.getMessage().contains("process " + ProcessHandle.current().pid()),
          e.getMessage());
    }
    builder().build().close(); // released at close
  }

  @Test
  void aSwappedImageIsRefusedByName() throws Exception {
    try (PairController pk = builder().build()) {
      HostVolume p = pk.openVolume(spec("p", "create"));
      HostVolume s = pk.openVolume(spec("s", "create"));
      pk.createVolumePair("vp", p, s).initialCopy().await(WAIT);
    }
    Files.delete(dir.resolve("s.img"));
    Files.write(dir.resolve("s.img"), new byte[(int) SIZE]);
    MetadataException e = assertThrows(MetadataException.class, () -> builder().build());
    assertTrue(e.getMessage().contains("'s'") && e.getMessage().contains("'vp'")
        && e.getMessage().contains("not the image"), e.getMessage());
  }

  @Test
  void anAttachedVolumeCannotJoinADurablePair() {
    try (PairController pk = builder().build()) {
      HostVolume p = pk.attachVolume(new MemoryVolume("p", SIZE));
      HostVolume s = pk.openVolume(spec("s", "create"));
      VolumeConfigException e = assertThrows(VolumeConfigException.class,
          () -> pk.createVolumePair("vp", p, s));
      assertTrue(e.getMessage().contains("openVolume(spec)"), e.getMessage());
      assertEquals(0, pk.pairs().size());
    }
  }

  @Test
  void aCleanCloseEmptiesTheLockSoTheNextOpenReportsNoTakeover() throws Exception {
    Logger log = Logger.getLogger("io.pairkit.core");
    List<String> messages = new CopyOnWriteArrayList<>();
    Handler handler = new Handler() {
      @Override
      public void publish(LogRecord r) {
        messages.add(String.valueOf(r.getMessage()));
      }

      @Override
      public void flush() {
      }

      @Override
      public void close() {
      }
    };
    log.addHandler(handler);
    try {
      builder().build().close();
      assertEquals("", Files.readString(dir.resolve("meta").resolve("LOCK")),
          "a clean close leaves no holder in the LOCK file");
      builder().build().close();
      assertTrue(messages.stream().noneMatch(m -> m.contains("taking over")), messages.toString());
    } finally {
      log.removeHandler(handler);
    }
  }

  private static DefaultPairController durableOver(RecordingStorage storage,
      Map<String, MemoryVolume> volumes) {
    ControllerConfig config = PairKit.builder().trackSize(TS)
        .lazyClearDelay(Duration.ofHours(1)).config();
    return DefaultPairController.withStorage(config, VolumeProviders.of(
        new MemoryProvider(volumes)), Engine.InstantHook.NONE, storage);
  }

  @Test
  void aControllerThatDiedBeforeItsFirstPairIsReportedAsACrash() {
    RecordingStorage storage = new RecordingStorage(null);
    DefaultPairController died = durableOver(storage, Map.of());
    try {
      assertTrue(died.recoveryReport().cleanStop(), "a fresh directory has nothing to recover");
      // It is never closed: the next controller finds what a crash leaves.
      DefaultPairController next = durableOver(storage, Map.of());
      assertFalse(next.recoveryReport().cleanStop(), next.recoveryReport().toString());
      next.close();
      DefaultPairController after = durableOver(storage, Map.of());
      assertTrue(after.recoveryReport().cleanStop(), after.recoveryReport().toString());
      after.close();
    } finally {
      died.close();
    }
  }

  @Test
  void splitTracksCopiedBeforeTheirClearWasRecordedAreCopiedAgainAfterACrash() throws Exception {
    int tracks = 16;
    Map<String, MemoryVolume> volumes = Map.of("p", new MemoryVolume("p", tracks * TS),
        "s", new MemoryVolume("s", tracks * TS));
    RecordingStorage storage = new RecordingStorage(null);
    DefaultPairController died = durableOver(storage, volumes);
    try {
      HostVolume p = died.openVolume(VolumeSpec.builder("p", "mem").build());
      HostVolume s = died.openVolume(VolumeSpec.builder("s", "mem").build());
      p.write(0, random(5, tracks * TS));
      VolumePair pair = died.createVolumePair("vp", p, s,
          PairOptions.defaults().withMirrorMode(MirrorMode.ASYNCHRONOUS));
      pair.initialCopy().await(WAIT);
      died.pauseBackgroundCopies();
      p.write(3L * TS, random(6, 5 * TS)); // tracks 3-7 pending when the split freezes them
      CopyRequest split = pair.split();
      died.resumeBackgroundCopies();
      split.await(WAIT); // its copies are made, their clears wait for a lazy round (1 hour)
      died.engineStore().sync(); // and its end is recorded (as a later write's sync would)
      byte[] splitImage = s.read(0, tracks * TS);
      // The process dies here: the next controller recovers from what the storage holds.
      try (DefaultPairController next = durableOver(storage, volumes)) {
        VolumePair back = (VolumePair) next.pair("vp");
        RecoveryReport report = next.recoveryReport();
        assertFalse(report.cleanStop());
        assertTrue(report.pairs().get(0).reason().contains("5 split tracks"), report.toString());
        for (CopyRequest r : back.activeRequests()) {
          r.await(WAIT);
        }
        assertEquals(PairState.SPLIT, back.state());
        assertEquals(0, back.stats().pendingTracks(), "no track waits for a copy nothing makes: "
            + back.trackStates(Extent.of(0, tracks * TS)));
        assertArrayEquals(splitImage, next.volume("s").read(0, tracks * TS));
        back.delete(); // allowed: the split image is complete
      }
    } finally {
      died.close();
    }
  }
}
