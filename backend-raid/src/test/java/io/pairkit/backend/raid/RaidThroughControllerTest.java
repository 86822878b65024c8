package io.pairkit.backend.raid;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pairkit.api.HostVolume;
import io.pairkit.api.PairController;
import io.pairkit.api.PairState;
import io.pairkit.api.VolumePair;
import io.pairkit.api.spi.VolumeSpec;
import io.pairkit.core.PairKit;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A product's view: a controller finds the {@code raid} provider by its type name, opens a RAID-5
 * primary over image files and a file secondary, and a durable pair survives a restart with a
 * member of the primary lost meanwhile.
 */
@Timeout(120)
class RaidThroughControllerTest {
  private static final long SIZE = 16L << 20;

  @TempDir
  Path dir;

  @Test
  void durablePairOnARaidPrimary_survivesARestartWithAMemberLost() throws Exception {
    VolumeSpec raid = RaidTesting.fileSpec(dir, "prod", RaidLevel.RAID5, 3, 64 << 10, SIZE,
        "create", Map.of());
    VolumeSpec copy = VolumeSpec.builder("copy", "file")
        .property("path", dir.resolve("copy.img").toString()).property("size", SIZE)
        .property("mode", "create").build();
    Path meta = dir.resolve("meta");
    byte[] image = new byte[(int) SIZE];
    new Random(5).nextBytes(image);
    try (PairController pk = PairKit.builder().metadataDirectory(meta).build()) {
      HostVolume p = pk.openVolume(raid);
      HostVolume s = pk.openVolume(copy);
      VolumePair pair = pk.createVolumePair("nightly", p, s);
      pair.initialCopy().await(Duration.ofSeconds(60));
      p.write(0, ByteBuffer.wrap(image.clone()));
      pair.split().await(Duration.ofSeconds(60));
      pk.flush();
    }
    Files.delete(dir.resolve("prod-m1.img"));
    try (PairController pk = PairKit.builder().metadataDirectory(meta).build()) {
      VolumePair pair = (VolumePair) pk.pair("nightly");
      assertEquals(PairState.SPLIT, pair.state());
      byte[] back = new byte[(int) SIZE];
      pair.primary().read(0, ByteBuffer.wrap(back));
      assertArrayEquals(image, back, "the degraded primary reads its data");
      pair.secondary().read(0, ByteBuffer.wrap(back));
      assertArrayEquals(image, back, "the split copy holds the split-time image");
    }
  }
}
