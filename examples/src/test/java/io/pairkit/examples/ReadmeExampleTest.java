package io.pairkit.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.CopyProgress;
import io.pairkit.api.CopyRequest;
import io.pairkit.api.Extent;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.HostVolume;
import io.pairkit.api.PairController;
import io.pairkit.api.PairState;
import io.pairkit.api.VolumePair;
import io.pairkit.api.spi.VolumeSpec;
import io.pairkit.core.PairKit;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The README's API example, step by step, so the documentation cannot drift from the API. */
@Timeout(120)
class ReadmeExampleTest {
  @TempDir
  Path data;

  @Test
  void theReadmeExampleRunsAsWritten() throws Exception {
    Path prodImage = data.resolve("prod.img");
    try (RandomAccessFile f = new RandomAccessFile(prodImage.toFile(), "rw")) {
      f.setLength(64L << 20); // an existing 64 MiB production image
    }
    List<String> log = new CopyOnWriteArrayList<>();
    byte[] bytes = new byte[8192];
    new Random(1).nextBytes(bytes);

    try (PairController pk = PairKit.builder().copyBytesPerSecond(200_000_000).build()) {
      pk.addListener((pr, from, to) -> log.add(pr.id() + ": " + from + " -> " + to));
      HostVolume prod = pk.openVolume(VolumeSpec.builder("prod", "file")
          .property("path", prodImage.toString()).build());
      HostVolume copy = pk.openVolume(VolumeSpec.builder("copy", "file")
          .property("path", data.resolve("copy.img").toString()).property("size", prod.size())
          .property("mode", "openOrCreate").build());

      VolumePair pair = pk.createVolumePair("nightly", prod, copy);
      pair.initialCopy().await(Duration.ofHours(1));

      prod.write(4096, bytes);

      CopyRequest split = pair.split();
      byte[] backup = copy.read(0, 16384); // "backupTool.readFrom(copy)": readable at once
      split.await(Duration.ofHours(1));
      assertEquals(PairState.SPLIT, pair.state());
      assertArrayEquals(prod.read(0, 16384), backup);

      ExtentSet dbFile = ExtentSet.of(Extent.of(8L << 20, 12L << 20),
          Extent.of(40L << 20, 41L << 20));
      prod.write(9L << 20, bytes); // the database file changes
      CopyProgress p = pair.extentUpdate(dbFile).await(Duration.ofMinutes(10));
      assertEquals(1, p.tracksCopied(), p.toString()); // only the changed track
      assertArrayEquals(bytes, copy.read(9L << 20, bytes.length));

      pair.resync().await(Duration.ofHours(1));
      assertEquals(PairState.FORMED, pair.state());
    }
    assertTrue(log.contains("nightly: FORMING -> FORMED"), log.toString());
  }
}
