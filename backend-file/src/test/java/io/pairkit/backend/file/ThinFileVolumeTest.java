package io.pairkit.backend.file;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.ExtentSet;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Hole punching and data extents on a real file system, checked against its block count. */
@Timeout(60)
class ThinFileVolumeTest {
  private static final long MIB = 1L << 20;
  private static final long TIB = 1L << 40;

  @TempDir
  Path dir;

  /** Bytes the file system has allocated to the file: stat(1) %b counts 512-byte units. */
  private static long diskUsage(Path file) throws Exception {
    Process stat = new ProcessBuilder("stat", "--format=%b", file.toString())
        .redirectErrorStream(true).start();
    String out = new String(stat.getInputStream().readAllBytes()).trim();
    assertEquals(0, stat.waitFor(), out);
    return Long.parseLong(out) * 512;
  }

  private static ByteBuffer random(long seed, long length) {
    byte[] b = new byte[(int) length];
    new Random(seed).nextBytes(b);
    return ByteBuffer.wrap(b);
  }

  @Test
  void sparseTerabyteReportsOnlyTheMebibytesWrittenAndDiscardFreesThem() throws Exception {
    Path img = dir.resolve("big.img");
    try (FileVolume v = FileVolume.open("big", img, TIB, FileVolume.OpenMode.CREATE)) {
      Assumptions.assumeTrue(v.capabilities().thin(),
          "the temp folder's file system does not punch holes");
      assertTrue(v.allocated(0, TIB).isEmpty(), "a new image holds no data");
      long[] at = {0, 300L << 30, TIB / 2 + 12345, TIB - 2 * MIB};
      for (int i = 0; i < at.length; i++) {
        v.write(at[i], random(i, MIB));
      }
      v.flush();
      ExtentSet data = v.allocated(0, TIB);
      for (long a : at) {
        assertTrue(data.encloses(ExtentSet.of(a, a + MIB)), data + " misses " + a);
      }
      // Whole file system blocks: an unaligned MiB touches one block more.
      assertTrue(data.bytes() <= 4 * MIB + 64 * 1024, "allocated " + data.bytes() + " bytes: "
          + data);
      long usedBefore = diskUsage(img);
      assertTrue(usedBefore >= 4 * MIB && usedBefore < 8 * MIB, "disk usage " + usedBefore);

      v.discard(300L << 30, MIB);
      v.discard(TIB - 2 * MIB, 2 * MIB); // to the end of the volume
      v.flush();
      ExtentSet after = v.allocated(0, TIB);
      assertTrue(after.intersection(ExtentSet.of(300L << 30, (300L << 30) + MIB)).isEmpty(),
          after.toString());
      assertTrue(after.intersection(ExtentSet.of(TIB - 2 * MIB, TIB)).isEmpty(),
          after.toString());
      long usedAfter = diskUsage(img);
      assertTrue(usedBefore - usedAfter >= 2 * MIB - 64 * 1024, "discarding 2 MiB freed only "
          + (usedBefore - usedAfter) + " bytes");
      ByteBuffer back = ByteBuffer.allocate((int) MIB);
      v.read(300L << 30, back);
      assertArrayEquals(new byte[(int) MIB], back.array());
    }
  }

  @Test
  void partialBlocksAtTheEdgesOfADiscardAreZeroedNotFreed() throws Exception {
    Path img = dir.resolve("edges.img");
    try (FileVolume v = FileVolume.open("edges", img, 64 * 4096, FileVolume.OpenMode.CREATE)) {
      Assumptions.assumeTrue(v.capabilities().thin(), "no hole punching here");
      v.write(0, random(7, 64 * 4096));
      v.discard(4096 + 100, 3 * 4096);
      ExtentSet data = v.allocated(0, 64 * 4096);
      assertTrue(data.encloses(ExtentSet.of(4096 + 100, 2 * 4096)), "head block keeps data");
      assertTrue(data.encloses(ExtentSet.of(4 * 4096, 4 * 4096 + 100)), "tail block keeps data");
      assertFalse(data.contains(2 * 4096) || data.contains(3 * 4096), "inner blocks are freed");
      ByteBuffer back = ByteBuffer.allocate(3 * 4096);
      v.read(4096 + 100, back);
      assertArrayEquals(new byte[3 * 4096], back.array());
    }
  }

  @Test
  void anImageTruncatedUnderneathIsNeverReportedAsHoles() throws Exception {
    Path img = dir.resolve("cut.img");
    try (FileVolume v = FileVolume.open("cut", img, 8 * MIB, FileVolume.OpenMode.CREATE)) {
      Assumptions.assumeTrue(v.capabilities().thin(),
          "the temp folder's file system does not punch holes");
      v.write(0, random(3, 8 * MIB));
      v.flush();
      try (RandomAccessFile other = new RandomAccessFile(img.toFile(), "rw")) {
        other.setLength(0); // another program truncates the image while the volume is open
      }
      IOException e = assertThrows(IOException.class, () -> v.allocated(0, 8 * MIB));
      assertTrue(e.getMessage().contains(img.toString()) && e.getMessage().contains("shorter"),
          e.getMessage());
      assertThrows(IOException.class, () -> v.read(0, ByteBuffer.allocate(4096)),
          "reads refuse the short file as well");
    }
  }
}
