package io.pairkit.backend.raid;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.ExtentSet;
import io.pairkit.api.error.VolumeConfigException;
import io.pairkit.api.spi.Volume;
import io.pairkit.testkit.FaultyVolume;
import io.pairkit.testkit.MemoryVolume;
import io.pairkit.backend.file.FileVolume;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Cases an independent review found. The first three failed before their fixes (odd RAID-1 reads
 * returned zeros; a close during a rebuild recorded every member FAILED; a larger replacement
 * was taken); the other two guard the fixed paths.
 */
@Timeout(120)
class RaidEdgeCasesTest {
  private static final int UNIT = 16 << 10;

  @TempDir
  Path dir;

  @Test
  void raid1ReadsOfOddLengths_returnEveryByte() throws Exception {
    for (int mirrors = 2; mirrors <= 3; mirrors++) {
      long size = 64L * UNIT;
      try (RaidVolume v = RaidTesting.memoryArray("odd", RaidLevel.RAID1, mirrors, UNIT, size)) {
        byte[] data = new byte[(int) size];
        new Random(mirrors).nextBytes(data);
        v.write(0, ByteBuffer.wrap(data.clone()));
        for (int len : new int[] {2 * UNIT + 1, 3 * UNIT + 2, 6 * UNIT + 1, 6 * UNIT + 2,
            2 * UNIT - 1}) {
          byte[] back = new byte[len];
          v.read(7, ByteBuffer.wrap(back));
          byte[] expected = new byte[len];
          System.arraycopy(data, 7, expected, 0, len);
          assertArrayEquals(expected, back, mirrors + " mirrors, " + len + " bytes");
        }
      }
    }
  }

  /** Closing must stop a rebuild without failing healthy members (no interrupt of file I/O). */
  @Test
  void closeDuringAFullSpeedRebuild_leavesNoMemberFailed() throws Exception {
    int n = 4;
    long size = 24L << 20;
    long memberSize = RaidTesting.memberSize(RaidLevel.RAID5, n, 64 << 10, size);
    Map<String, String> fast = Map.of("rebuildSpeedLimit", "4g");
    byte[] data = new byte[(int) size];
    new Random(9).nextBytes(data);
    try (RaidVolume v = RaidVolumes.open(RaidTesting.spec("cr", RaidLevel.RAID5, 64 << 10, size,
        "create", fast), RaidTesting.fileMembers(dir, "cr", n, memberSize,
            FileVolume.OpenMode.CREATE))) {
      v.write(0, ByteBuffer.wrap(data.clone()));
    }
    for (int round = 0; round < 5; round++) {
      List<Volume> members = RaidTesting.fileMembers(dir, "cr", n, memberSize,
          FileVolume.OpenMode.OPEN);
      RaidVolume v = RaidVolumes.open(RaidTesting.spec("cr", RaidLevel.RAID5, 64 << 10, -1,
          "open", fast), members);
      if (round == 0) {
        // Fail member 2 once, then hand in a blank replacement: a rebuild starts.
        v.close();
        java.nio.file.Files.delete(dir.resolve("cr-m2.img"));
        List<Volume> three = new ArrayList<>();
        for (int i = 0; i < n; i++) {
          three.add(i == 2 ? null : FileVolume.open("cr.m" + i,
              dir.resolve("cr-m" + i + ".img"), memberSize, FileVolume.OpenMode.OPEN));
        }
        v = RaidVolumes.open(RaidTesting.spec("cr", RaidLevel.RAID5, 64 << 10, -1, "open", fast),
            three);
        v.replaceMember(2, FileVolume.open("cr.m2", dir.resolve("cr-m2.img"), memberSize,
            FileVolume.OpenMode.CREATE));
      }
      Thread.sleep(5 + round * 7L);
      v.close();
      for (RaidStatus.Member m : v.status().members()) {
        assertTrue(m.state() != MemberState.FAILED, "round " + round + ": " + v.status());
      }
    }
    try (RaidVolume v = RaidVolumes.open(RaidTesting.spec("cr", RaidLevel.RAID5, 64 << 10, -1,
        "open", fast), RaidTesting.fileMembers(dir, "cr", n, memberSize,
            FileVolume.OpenMode.OPEN))) {
      assertTrue(v.awaitRebuild(Duration.ofSeconds(60)));
      byte[] back = new byte[(int) size];
      v.read(0, ByteBuffer.wrap(back));
      assertArrayEquals(data, back);
    }
  }

  /** A replacement that fails during its rebuild, while hosts write there: no hang, no loss. */
  @Test
  void replacementFailingDuringRebuild_underHostWrites_neitherHangsNorLosesData()
      throws Exception {
    int n = 4;
    long size = 96L * UNIT * (n - 1);
    long memberSize = RaidTesting.memberSize(RaidLevel.RAID5, n, UNIT, size);
    List<FaultyVolume> members = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      members.add(new FaultyVolume(new MemoryVolume("rf.m" + i, memberSize)));
    }
    byte[] model = new byte[(int) size];
    new Random(4).nextBytes(model);
    try (RaidVolume v = RaidVolumes.open(RaidTesting.spec("rf", RaidLevel.RAID5, UNIT, size,
        "create", Map.of("rebuildSpeedLimit", "8m")), new ArrayList<Volume>(members))) {
      v.write(0, ByteBuffer.wrap(model.clone()));
      members.get(1).fail(FaultyVolume.Fault.ALL);
      v.read(0, ByteBuffer.allocate(4096 * 16)); // notices the failure
      FaultyVolume replacement = new FaultyVolume(new MemoryVolume("rf.r1", memberSize));
      v.replaceMember(1, replacement);
      Random r = new Random(5);
      for (int i = 0; i < 200; i++) {
        if (i == 60) {
          replacement.fail(FaultyVolume.Fault.WRITES);
        }
        byte[] d = new byte[1 + r.nextInt(UNIT)];
        r.nextBytes(d);
        int off = r.nextInt((int) size - d.length);
        v.write(off, ByteBuffer.wrap(d));
        System.arraycopy(d, 0, model, off, d.length);
      }
      assertTrue(v.awaitRebuild(Duration.ofSeconds(30)), "the rebuild did not stop");
      assertEquals(MemberState.FAILED, v.status().members().get(1).state(), v.status().toString());
      byte[] back = new byte[(int) size];
      v.read(0, ByteBuffer.wrap(back));
      assertArrayEquals(model, back);
    }
  }

  @Test
  void replacementOfTheWrongSizeOrAnotherMembersImage_isRefused() throws Exception {
    long size = 16L * UNIT * 2;
    long memberSize = RaidTesting.memberSize(RaidLevel.RAID5, 3, UNIT, size);
    List<FaultyVolume> members = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      members.add(new FaultyVolume(new MemoryVolume("ws.m" + i, memberSize)));
    }
    try (RaidVolume v = RaidVolumes.open(RaidTesting.spec("ws", RaidLevel.RAID5, UNIT, size,
        "create", Map.of()), new ArrayList<Volume>(members))) {
      members.get(0).fail(FaultyVolume.Fault.ALL);
      v.read(0, ByteBuffer.allocate(UNIT * 4));
      VolumeConfigException larger = assertThrows(VolumeConfigException.class,
          () -> v.replaceMember(0, new MemoryVolume("big", memberSize + 4096)));
      assertTrue(larger.getMessage().contains("exactly"), larger.getMessage());
      VolumeConfigException other = assertThrows(VolumeConfigException.class,
          () -> v.replaceMember(0, members.get(2)));
      assertTrue(other.getMessage().contains("member 2"), other.getMessage());
    }
  }

  @Test
  void lastMirrorLost_failsTheArrayByName() throws Exception {
    long size = 16L * UNIT;
    long memberSize = RaidTesting.memberSize(RaidLevel.RAID1, 2, UNIT, size);
    List<FaultyVolume> members = List.of(new FaultyVolume(new MemoryVolume("lm.m0", memberSize)),
        new FaultyVolume(new MemoryVolume("lm.m1", memberSize)));
    try (RaidVolume v = RaidVolumes.open(RaidTesting.spec("lm", RaidLevel.RAID1, UNIT, size,
        "create", Map.of()), new ArrayList<Volume>(members))) {
      members.get(0).fail(FaultyVolume.Fault.ALL);
      members.get(1).fail(FaultyVolume.Fault.ALL);
      ArrayFailedException e = assertThrows(ArrayFailedException.class,
          () -> v.read(0, ByteBuffer.allocate(UNIT)));
      assertTrue(e.getMessage().contains("lm.m0") && e.getMessage().contains("lm.m1"),
          e.getMessage());
    }
  }

  /**
   * A member image truncated to nothing while the array serves (found by an independent run:
   * NBD block status reported that member's units as holes, and nbdcopy copied zeros). Until a
   * read fails the member, the array must not call its data a hole.
   */
  @Test
  void aTruncatedMembersDataIsNotReportedAsHoles() throws Exception {
    for (RaidLevel level : new RaidLevel[] {RaidLevel.RAID0, RaidLevel.RAID1, RaidLevel.RAID5}) {
      int n = level == RaidLevel.RAID1 ? 2 : 4;
      long size = 8L << 20;
      long memberSize = RaidTesting.memberSize(level, n, 64 << 10, size);
      String name = "t" + level.ordinal();
      try (RaidVolume v = RaidVolumes.open(RaidTesting.spec(name, level, 64 << 10, size,
          "create", Map.of()), RaidTesting.fileMembers(dir, name, n, memberSize,
              FileVolume.OpenMode.CREATE))) {
        org.junit.jupiter.api.Assumptions.assumeTrue(v.capabilities().thin(),
            "the temp folder's file system does not punch holes");
        byte[] data = new byte[(int) size];
        new Random(11).nextBytes(data);
        v.write(0, ByteBuffer.wrap(data));
        v.flush();
        assertEquals(ExtentSet.of(0, size), v.allocated(0, size), level + " before");
        for (int m = 0; m < (level == RaidLevel.RAID1 ? n : 1); m++) {
          try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(
              dir.resolve(name + "-m" + m + ".img").toFile(), "rw")) {
            f.setLength(0);
          }
        }
        assertEquals(ExtentSet.of(0, size), v.allocated(0, size),
            level + ": a truncated member's units must count as data");
      }
    }
  }
}
