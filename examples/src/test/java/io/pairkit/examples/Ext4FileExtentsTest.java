package io.pairkit.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.CopyProgress;
import io.pairkit.api.Extent;
import io.pairkit.api.ExtentPair;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.HostVolume;
import io.pairkit.api.PairController;
import io.pairkit.api.VolumePair;
import io.pairkit.api.spi.VolumeSpec;
import io.pairkit.core.PairKit;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * PairKit's distinctive feature on a real file system: an ext4 image made by {@code mkfs.ext4},
 * one file's blocks found with {@code debugfs}, and only that file's extents copied, split and
 * updated. Needs e2fsprogs (installed by .ci/run).
 */
@Timeout(120)
class Ext4FileExtentsTest {
  private static final int BLOCK = 4096;
  private static final long SIZE = 16L << 20;
  private static final Duration WAIT = Duration.ofSeconds(60);

  @TempDir
  Path dir;

  @BeforeAll
  static void needE2fsprogs() {
    boolean present = Files.isExecutable(Path.of("/usr/sbin/mkfs.ext4"))
        && Files.isExecutable(Path.of("/usr/sbin/debugfs"));
    if (!present && "true".equals(System.getenv("CI"))) {
      throw new AssertionError("CI must have e2fsprogs: .ci/run installs it");
    }
    Assumptions.assumeTrue(present, "e2fsprogs not installed (apt-get install e2fsprogs)");
  }

  @Test
  void copySplitAndUpdateOnlyOneFilesExtents() throws Exception {
    Path src = Files.createDirectories(dir.resolve("src"));
    byte[] v1 = new byte[300 * 1024 + 123];
    new Random(1).nextBytes(v1);
    Files.write(src.resolve("data.bin"), v1);
    Files.write(src.resolve("other.txt"), "not ours".getBytes());
    Path pImage = dir.resolve("p.img");
    run("/usr/sbin/mkfs.ext4", "-q", "-F", "-b", String.valueOf(BLOCK), "-d", src.toString(),
        pImage.toString(), (SIZE >> 10) + "k");
    ExtentSet file = fileExtents(pImage, "/data.bin", v1.length);
    assertTrue(file.bytes() >= v1.length, "debugfs found the file's blocks: " + file);

    try (PairController pk = PairKit.controller()) {
      HostVolume p = pk.openVolume(spec("p", pImage, "open"));
      HostVolume fileOnly = pk.openVolume(spec("fileOnly", dir.resolve("f.img"), "create"));
      HostVolume whole = pk.openVolume(spec("whole", dir.resolve("w.img"), "create"));

      // Extent pair: only the file's bytes travel.
      ExtentPair ep = pk.createExtentPair("file", p, fileOnly, file);
      CopyProgress copied = ep.initialCopy().await(WAIT);
      assertEquals(file.bytes(), copied.bytesCopied());
      assertArrayEquals(v1, readFile(fileOnly, file, v1.length));
      byte[] outside = fileOnly.read(0, (int) file.start());
      assertArrayEquals(new byte[outside.length], outside, "nothing outside the file copied");

      // Volume pair, split: the secondary is a consistent ext4 image holding version 1.
      VolumePair vp = pk.createVolumePair("fs", p, whole);
      vp.initialCopy().await(WAIT);
      vp.split().await(WAIT);
      byte[] v2 = new byte[v1.length];
      new Random(2).nextBytes(v2);
      writeFile(p, file, v2); // the application rewrites its file in place
      whole.flush();
      run("/usr/sbin/e2fsck", "-fn", dir.resolve("w.img").toString());
      assertArrayEquals(v1, debugfsCat(dir.resolve("w.img"), "/data.bin"));

      // Extent update of just that file: the copy now holds version 2.
      CopyProgress updated = vp.extentUpdate(file).await(WAIT);
      assertEquals(file.trackCount(vp.trackSize()), updated.tracksCopied());
      whole.flush();
      assertArrayEquals(v2, debugfsCat(dir.resolve("w.img"), "/data.bin"));
      run("/usr/sbin/e2fsck", "-fn", dir.resolve("w.img").toString());
    }
  }

  private static VolumeSpec spec(String name, Path path, String mode) {
    return VolumeSpec.builder(name, "file").property("path", path.toString())
        .property("size", SIZE).property("mode", mode).build();
  }

  /** The byte extents of a file's data blocks, from {@code debugfs -R "blocks F"}. */
  private static ExtentSet fileExtents(Path image, String file, int length) throws Exception {
    String out = new String(run("/usr/sbin/debugfs", "-R", "blocks " + file, image.toString()));
    List<Extent> extents = new ArrayList<>();
    for (String word : out.trim().split("\\s+")) {
      long block = Long.parseLong(word);
      extents.add(Extent.ofLength(block * BLOCK, BLOCK));
    }
    assertEquals((length + BLOCK - 1) / BLOCK, extents.size(), "blocks of " + file);
    return ExtentSet.of(extents);
  }

  /** The file's bytes as the blocks hold them, in block order (ext4 -d allocates ascending). */
  private static byte[] readFile(HostVolume v, ExtentSet file, int length) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (Extent e : file.extents()) {
      out.writeBytes(v.read(e.start(), (int) e.length()));
    }
    return Arrays.copyOf(out.toByteArray(), length);
  }

  private static void writeFile(HostVolume v, ExtentSet file, byte[] data) {
    int pos = 0;
    for (Extent e : file.extents()) {
      int n = (int) Math.min(e.length(), data.length - pos);
      v.write(e.start(), Arrays.copyOfRange(data, pos, pos + n));
      pos += n;
    }
  }

  private static byte[] debugfsCat(Path image, String file) throws Exception {
    return run("/usr/sbin/debugfs", "-R", "cat " + file, image.toString());
  }

  private static byte[] run(String... command) throws Exception {
    Process proc = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD)
        .start();
    byte[] out = proc.getInputStream().readAllBytes();
    assertTrue(proc.waitFor(60, TimeUnit.SECONDS), String.join(" ", command) + " hung");
    assertEquals(0, proc.exitValue(), String.join(" ", command) + " failed");
    return out;
  }
}
