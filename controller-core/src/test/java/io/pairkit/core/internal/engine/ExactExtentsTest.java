package io.pairkit.core.internal.engine;

import static io.pairkit.core.internal.engine.Rig.WAIT;
import static io.pairkit.core.internal.engine.Rig.random;
import static io.pairkit.core.internal.engine.Rig.readAll;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pairkit.api.CopyProgress;
import io.pairkit.api.Extent;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.ExtentSplitPair;
import io.pairkit.api.HostVolume;
import io.pairkit.api.PairController;
import io.pairkit.api.PairState;
import io.pairkit.api.TrackState;
import io.pairkit.api.TrackStates;
import io.pairkit.api.VolumePair;
import io.pairkit.api.spi.VolumeSpec;
import io.pairkit.core.PairKit;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Exact extents: a request never changes a byte of the secondary outside the extents it names.
 * Where an extent covers a track only in part, only the covered bytes are copied and the track
 * stays marked changed for the rest (extent update, extent join; restore in {@code RestoreTest},
 * the pair-semantics suite with random byte extents).
 */
@Timeout(60)
class ExactExtentsTest {
  private static final int TS = 4096;
  private static final int SIZE = 32 * TS;

  @TempDir
  Path dir;

  @Test
  void aJoinOfPartOfATrackCopiesThoseBytesAndTheTrackStaysSplit() {
    try (Rig rig = new Rig(PairKit.builder().trackSize(TS), false)) {
      HostVolume p = rig.volume("p", SIZE, TS);
      HostVolume s = rig.volume("s", SIZE, TS);
      Rig.fill(p, 1);
      ExtentSplitPair pair = rig.pk.createExtentSplitPair("xp", p, s);
      pair.initialCopy().await(WAIT);
      pair.extentSplit(ExtentSet.of(2L * TS, 8L * TS)).await(WAIT);
      byte[] splitImage = readAll(s);
      p.write(0, random(2, SIZE)); // every track changes on the primary
      byte[] now = readAll(p);
      CopyProgress joined = pair.extentJoin(ExtentSet.of(2L * TS + 100, 5L * TS)).await(WAIT);
      pair.mirrorDrained().join();
      byte[] copy = readAll(s);
      Rig.assertRange(splitImage, copy, 2L * TS, 2L * TS + 100, "track 2 before the extent");
      Rig.assertRange(now, copy, 2L * TS + 100, 5L * TS, "the joined bytes");
      Rig.assertRange(splitImage, copy, 5L * TS, 8L * TS, "still split");
      Rig.assertRange(now, copy, 8L * TS, SIZE, "mirrored");
      TrackStates states = pair.trackStates(Extent.of(0, SIZE));
      assertEquals(TrackState.SPLIT_CHANGED, states.state(2), "stays split, still differs");
      assertEquals(TrackState.IN_SYNC, states.state(3));
      assertEquals(ExtentSet.of(java.util.List.of(Extent.of(2L * TS, 2L * TS + 100),
          Extent.of(5L * TS, 8L * TS))), pair.splitExtents(), "exactly the bytes still split");
      assertEquals(PairState.EXTENT_SPLIT, pair.state());
      assertEquals(3, joined.tracksCopied(), "tracks 3 and 4, and track 2 in part");
      assertEquals(3L * TS - 100, joined.bytesCopied());
    }
  }

  @Test
  void aPartialUpdateSurvivesARestart_withTheTrackStillChanged() {
    PairKit.Builder builder = PairKit.builder().trackSize(TS).metadataDirectory(dir.resolve("m"));
    byte[] expected;
    try (PairController pk = builder.build()) {
      HostVolume p = pk.openVolume(spec("p"));
      HostVolume s = pk.openVolume(spec("s"));
      p.write(0, random(3, SIZE));
      VolumePair pair = pk.createVolumePair("vp", p, s);
      pair.initialCopy().await(WAIT);
      pair.split().await(WAIT);
      expected = readAll(s);
      p.write(0, random(4, SIZE));
      pair.extentUpdate(ExtentSet.of(TS + 512, TS + 1024)).await(WAIT);
      System.arraycopy(readAll(p), TS + 512, expected, TS + 512, 512);
    }
    try (PairController pk = builder.build()) {
      VolumePair pair = (VolumePair) pk.pair("vp");
      Rig.assertRange(expected, readAll(pk.volume("s")), 0, SIZE, "the copy after the restart");
      assertEquals(TrackState.SPLIT_CHANGED, pair.trackStates(Extent.of(0, SIZE)).state(1));
      assertEquals(SIZE / TS, pair.resync().await(WAIT).tracksCopied(), "all still differ");
    }
  }

  private VolumeSpec spec(String name) {
    return VolumeSpec.builder(name, "file").property("path", dir.resolve(name + ".img").toString())
        .property("size", SIZE).property("mode", "create").build();
  }
}
