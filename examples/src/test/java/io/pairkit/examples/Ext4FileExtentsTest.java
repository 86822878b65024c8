package io.pairkit.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.pairkit.api.CopyProgress;
import io.pairkit.api.CopyRequest;
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
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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
  /** Track size of the fragmented-file test: 4 blocks, so extent edges fall inside tracks. */
  private static final int TRACK = 16 << 10;
  private static final String[] TOOLS = {"mkfs.ext4", "debugfs", "e2fsck", "dumpe2fs"};

  @TempDir
  Path dir;

  @BeforeAll
  static void needE2fsprogs() {
    boolean present =
        Arrays.stream(TOOLS).allMatch(t -> Files.isExecutable(Path.of("/usr/sbin", t)));
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

  /**
   * A file of three extents with free blocks between them, rewritten while the split still drains
   * (background copies paused), then updated alone. Phases and what each leaves on the primary:
   * v2 of the file and junk J1 in every free block (pending at the split instant); split; v3 and
   * junk J2 in the gaps and the first half of the tail (copy-on-write); J3 in every free block;
   * extent update of the file.
   */
  @Test
  void rewriteWhileSplitDrains_copiesOnWrite_andUpdateCopiesOnlyTheFilesTracks() throws Exception {
    Path src = Files.createDirectories(dir.resolve("src"));
    int length = 600 * 1024 + 123; // 151 blocks, the last one partly used
    Files.write(src.resolve("data.bin"), random(1, length));
    Files.write(src.resolve("other.txt"), "not ours".getBytes());
    Path pImage = dir.resolve("p.img");
    Path sImage = dir.resolve("s.img");
    run("/usr/sbin/mkfs.ext4", "-q", "-F", "-b", String.valueOf(BLOCK), "-d", src.toString(),
        pImage.toString(), (SIZE >> 10) + "k");
    // Two holes punched into the file: a 2-block gap (always inside the file's tracks) and a
    // 40-block gap (spans whole tracks the file does not touch). Their blocks become free.
    run("/usr/sbin/debugfs", "-w", "-R", "punch /data.bin 10 11", pImage.toString());
    run("/usr/sbin/debugfs", "-w", "-R", "punch /data.bin 40 79", pImage.toString());
    List<Mapping> map = fileMapping(pImage, "/data.bin");
    ExtentSet file = ExtentSet.of(map.stream().map(Mapping::physical).toList());
    assertEquals(3, file.extents().size(), "extents of /data.bin: " + map);
    assertEquals(file, blockExtents(pImage, "/data.bin"), "debugfs blocks vs dump_extents");
    assertArrayEquals(version(1, length, map), debugfsCat(pImage, "/data.bin"),
        "v1 with zeros in the holes");

    ExtentSet fileTracks = tracksOf(file);
    ExtentSet inTracksOutsideFile = fileTracks.minus(file);
    ExtentSet outsideTracks = ExtentSet.of(0, SIZE).minus(fileTracks);
    ExtentSet gaps = ExtentSet.of(file.start(), file.end()).minus(file);
    ExtentSet tail = ExtentSet.of(file.end(), SIZE);
    ExtentSet free = freeBlocks(pImage);
    long mid = (file.end() + (SIZE - file.end()) / 2) / TRACK * TRACK;
    ExtentSet freeTail = free.intersection(tail);
    assertTrue(free.encloses(gaps), "gaps " + gaps + " are free blocks " + free);
    assertFalse(gaps.intersection(outsideTracks).isEmpty(), "a gap holds whole tracks: " + gaps);
    assertFalse(gaps.intersection(inTracksOutsideFile).isEmpty(),
        "a gap shares tracks with the file: " + gaps);
    assertFalse(freeTail.intersection(ExtentSet.of(mid, SIZE)).isEmpty(),
        "free tail beyond " + mid + ": " + freeTail);

    byte[] v2 = version(2, length, map);
    byte[] v3 = version(3, length, map);
    ExtentSet fileData = dataExtents(map, length);
    ExtentSet junk2 = gaps.union(freeTail.intersection(ExtentSet.of(file.end(), mid)));
    // The asynchronous mirror: writes made while copies are paused stay pending at the split,
    // so the split has tracks to drain and copy-on-write has work.
    try (PairController pk = PairKit.builder().trackSize(TRACK)
        .mirrorMode(io.pairkit.api.MirrorMode.ASYNCHRONOUS).build()) {
      HostVolume p = pk.openVolume(spec("p", pImage, "open"));
      HostVolume s = pk.openVolume(spec("s", sImage, "create"));
      VolumePair vp = pk.createVolumePair("fs", p, s);
      assertEquals(TRACK, vp.trackSize());
      vp.initialCopy().await(WAIT);

      // Pending work at the split instant: v2 and J1 written while copies are paused.
      pk.pauseBackgroundCopies();
      writeFile(p, map, v2);
      writeJunk(p, free, 21);
      byte[] atSplit = p.read(0, (int) SIZE);
      CopyRequest split = vp.split();
      assertEquals(fileData.union(free).trackCount(TRACK), split.progress().tracksToCopy(),
          "tracks pending at the split instant");

      // The application rewrites its file (and other blocks change) while the split drains.
      writeFile(p, map, v3);
      writeJunk(p, junk2, 22);
      assertFalse(split.isDone(), "split drained with copies paused: " + split.progress());
      assertRegionEquals("secondary while the split drains vs the split image", atSplit,
          s.read(0, (int) SIZE), ExtentSet.of(0, SIZE));
      pk.resumeBackgroundCopies();
      CopyProgress drained = split.await(WAIT);
      assertTrue(drained.tracksCopied() > 0, "the split job copied nothing: " + drained);
      assertEquals(fileData.union(junk2).trackCount(TRACK), vp.stats().copyOnWriteCopies(),
          "copy-on-write copies: " + vp.stats());

      assertRegionEquals("secondary after the split vs the split image", atSplit,
          s.read(0, (int) SIZE), ExtentSet.of(0, SIZE));
      pk.flush();
      Path splitCopy = Files.copy(sImage, dir.resolve("s-split.img"));
      assertRegionEquals("secondary image file after the split vs the split image", atSplit,
          Files.readAllBytes(splitCopy), ExtentSet.of(0, SIZE));
      run("/usr/sbin/e2fsck", "-fn", splitCopy.toString());
      assertArrayEquals(v2, debugfsCat(splitCopy, "/data.bin"), "split-time version of the file");
      Files.delete(splitCopy);

      // Extent update of the file alone, with every free block changed once more (J3).
      writeJunk(p, free, 23);
      byte[] atUpdate = p.read(0, (int) SIZE);
      assertRegionsDiffer(atSplit, atUpdate, file, gaps.intersection(outsideTracks),
          gaps.intersection(inTracksOutsideFile), freeTail);
      CopyProgress updated = vp.extentUpdate(file).await(WAIT);
      assertEquals(fileTracks.trackCount(TRACK), updated.tracksCopied(), "update: " + updated);

      byte[] after = s.read(0, (int) SIZE);
      assertRegionEquals("file's extents after the update vs the primary at the update", atUpdate,
          after, file);
      // Exact extents (docs/DESIGN.md section 1): the rest of the file's tracks, the small gap
      // included, keeps the split image, as does everything outside the file's tracks.
      assertRegionEquals("file's tracks outside its extents after the update vs the split image",
          atSplit, after, inTracksOutsideFile);
      assertRegionEquals("outside the file's tracks (gaps, tail) after the update vs the split "
          + "image", atSplit, after, outsideTracks);
      pk.flush();
      Path updateCopy = Files.copy(sImage, dir.resolve("s-update.img"));
      assertRegionEquals("secondary image file after the update vs the secondary", after,
          Files.readAllBytes(updateCopy), ExtentSet.of(0, SIZE));
      run("/usr/sbin/e2fsck", "-fn", updateCopy.toString());
      assertArrayEquals(v3, debugfsCat(updateCopy, "/data.bin"), "updated version of the file");
    }
  }

  private static VolumeSpec spec(String name, Path path, String mode) {
    return VolumeSpec.builder(name, "file").property("path", path.toString())
        .property("size", SIZE).property("mode", mode).build();
  }

  /** The byte extents of a file's data blocks, from {@code debugfs -R "blocks F"}. */
  private static ExtentSet fileExtents(Path image, String file, int length) throws Exception {
    ExtentSet extents = blockExtents(image, file);
    assertEquals((length + BLOCK - 1) / BLOCK, extents.bytes() / BLOCK, "blocks of " + file);
    return extents;
  }

  /** The blocks {@code debugfs -R "blocks F"} lists, as byte extents. */
  private static ExtentSet blockExtents(Path image, String file) throws Exception {
    String out = new String(run("/usr/sbin/debugfs", "-R", "blocks " + file, image.toString()));
    List<Extent> extents = new ArrayList<>();
    for (String word : out.trim().split("\\s+")) {
      extents.add(Extent.ofLength(Long.parseLong(word) * BLOCK, BLOCK));
    }
    return ExtentSet.of(extents);
  }

  /** One run of a file: {@code blocks} logical blocks from {@code logical} at {@code physical}. */
  private record Mapping(long logicalBlock, long physicalBlock, long blocks) {
    Extent physical() {
      return Extent.ofLength(physicalBlock * BLOCK, blocks * BLOCK);
    }
  }

  private static final Pattern EXTENT_LINE = Pattern.compile(
      "^\\s*\\d+/\\s*\\d+\\s+\\d+/\\s*\\d+\\s+(\\d+)\\s*-\\s*(\\d+)\\s+(\\d+)\\s*-\\s*(\\d+)"
          + "\\s+(\\d+)\\s*(\\S*)\\s*$");

  /** The file's data runs in logical order, from {@code debugfs -R "dump_extents -l F"}. */
  private static List<Mapping> fileMapping(Path image, String file) throws Exception {
    String out = new String(run("/usr/sbin/debugfs", "-R", "dump_extents -l " + file,
        image.toString()));
    List<Mapping> map = new ArrayList<>();
    for (String line : out.split("\n")) {
      Matcher m = EXTENT_LINE.matcher(line);
      if (m.matches()) {
        assertEquals("", m.group(6), "extent flags (uninitialised extents read as zeros): " + line);
        map.add(new Mapping(Long.parseLong(m.group(1)), Long.parseLong(m.group(3)),
            Long.parseLong(m.group(5))));
      }
    }
    assertFalse(map.isEmpty(), "no extents parsed from: " + out);
    return map;
  }

  /** The byte ranges of the volume that hold the file's first {@code length} bytes. */
  private static ExtentSet dataExtents(List<Mapping> map, int length) {
    List<Extent> out = new ArrayList<>();
    for (Mapping m : map) {
      long from = m.logicalBlock() * BLOCK;
      long n = Math.min(m.blocks() * BLOCK, length - from);
      if (n > 0) {
        out.add(Extent.ofLength(m.physicalBlock() * BLOCK, n));
      }
    }
    return ExtentSet.of(out);
  }

  /** Free blocks of the image as byte extents, from the group lines of {@code dumpe2fs}. */
  private static ExtentSet freeBlocks(Path image) throws Exception {
    String out = new String(run("/usr/sbin/dumpe2fs", image.toString()));
    List<Extent> free = new ArrayList<>();
    for (String line : out.split("\n")) {
      Matcher m = Pattern.compile("^\\s+Free blocks: (.*)$").matcher(line);
      if (!m.matches() || m.group(1).isBlank()) {
        continue;
      }
      for (String range : m.group(1).split(",")) {
        String[] ends = range.trim().split("-");
        long first = Long.parseLong(ends[0]);
        long last = Long.parseLong(ends[ends.length - 1]);
        free.add(Extent.of(first * BLOCK, (last + 1) * BLOCK));
      }
    }
    return ExtentSet.of(free);
  }

  /** The whole tracks that {@code extents} touch, as byte extents. */
  private static ExtentSet tracksOf(ExtentSet extents) {
    List<Extent> out = new ArrayList<>();
    for (Extent t : extents.trackRanges(TRACK)) {
      out.add(Extent.of(t.start() * TRACK, Math.min(t.end() * TRACK, SIZE)));
    }
    return ExtentSet.of(out);
  }

  private static byte[] random(long seed, int length) {
    byte[] b = new byte[length];
    new Random(seed).nextBytes(b);
    return b;
  }

  /** Version {@code n} of the file as {@code debugfs cat} shows it: zeros in the holes. */
  private static byte[] version(long n, int length, List<Mapping> map) {
    byte[] data = random(n, length);
    byte[] out = new byte[length];
    for (Mapping m : map) {
      int from = (int) (m.logicalBlock() * BLOCK);
      int to = (int) Math.min((m.logicalBlock() + m.blocks()) * BLOCK, length);
      System.arraycopy(data, from, out, from, Math.max(0, to - from));
    }
    return out;
  }

  /** Rewrites the file in place through its mapping (the holes stay holes). */
  private static void writeFile(HostVolume v, List<Mapping> map, byte[] data) {
    for (Mapping m : map) {
      int from = (int) (m.logicalBlock() * BLOCK);
      int to = (int) Math.min((m.logicalBlock() + m.blocks()) * BLOCK, data.length);
      if (to > from) {
        v.write(m.physicalBlock() * BLOCK, Arrays.copyOfRange(data, from, to));
      }
    }
  }

  private static void writeJunk(HostVolume v, ExtentSet where, long seed) {
    Random r = new Random(seed);
    for (Extent e : where.extents()) {
      byte[] junk = new byte[(int) e.length()];
      r.nextBytes(junk);
      v.write(e.start(), junk);
    }
  }

  /** Fails with the first offset in {@code region} where the two images differ. */
  private static void assertRegionEquals(String what, byte[] expected, byte[] actual,
      ExtentSet region) {
    assertEquals(expected.length, actual.length, what + ": length");
    for (Extent e : region.extents()) {
      int from = (int) e.start();
      int to = (int) e.end();
      int at = Arrays.mismatch(expected, from, to, actual, from, to);
      if (at >= 0) {
        long offset = from + at;
        fail(what + ": differs at offset " + offset + " (block " + offset / BLOCK + ", track "
            + offset / TRACK + ", in " + e + "): expected " + expected[(int) offset] + ", was "
            + actual[(int) offset]);
      }
    }
  }

  /** Test premise: the primary changed in every region between the split and the update. */
  private static void assertRegionsDiffer(byte[] atSplit, byte[] atUpdate, ExtentSet... regions) {
    for (ExtentSet region : regions) {
      boolean differs = region.extents().stream().anyMatch(e -> Arrays.mismatch(atSplit,
          (int) e.start(), (int) e.end(), atUpdate, (int) e.start(), (int) e.end()) >= 0);
      assertTrue(differs, "the primary did not change in " + region + " after the split");
    }
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
