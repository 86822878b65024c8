package io.pairkit.backend.raid;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.spi.ScrubReport;
import io.pairkit.api.spi.Volume;
import io.pairkit.testkit.FaultyVolume;
import io.pairkit.testkit.MemoryVolume;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * md's check and repair: a byte flipped on one member (silent corruption, which reads serve with
 * no trace) is found by a scrub, named by its offset, and repaired; the data reads the same
 * throughout on RAID-5; RAID-1 repair makes every mirror the first's; a degraded array and a
 * RAID-0 are refused with the way out.
 */
@Timeout(60)
class ScrubTest {
  private static final int UNIT = 16 << 10;

  private record Rig(RaidVolume array, List<FaultyVolume> members) {
  }

  private static Rig rig(RaidLevel level, int n, long size) throws IOException {
    long memberSize = RaidTesting.memberSize(level, n, UNIT, size);
    List<FaultyVolume> members = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      members.add(new FaultyVolume(new MemoryVolume("s.m" + i, memberSize)));
    }
    RaidVolume array = RaidVolumes.open(RaidTesting.spec("s", level, UNIT, size, "create",
        Map.of()), new ArrayList<Volume>(members));
    return new Rig(array, members);
  }

  private static byte[] readAll(Volume v) throws IOException {
    byte[] all = new byte[Math.toIntExact(v.size())];
    v.read(0, ByteBuffer.wrap(all));
    return all;
  }

  /** Flips one byte of member {@code m} at byte {@code inUnit} of row {@code row}'s unit. */
  private static void flip(Rig rig, int m, long row, int inUnit) throws IOException {
    long at = rig.array.g.memberOffset(row, inUnit);
    byte[] b = new byte[1];
    rig.members.get(m).read(at, ByteBuffer.wrap(b));
    b[0] ^= 0x40;
    rig.members.get(m).write(at, ByteBuffer.wrap(b));
  }

  @Test
  void raid5_aFlippedParityByteIsFoundAndRepaired_andTheDataNeverChanges() throws Exception {
    long size = 64L * UNIT * 3;
    Rig rig = rig(RaidLevel.RAID5, 4, size);
    try (RaidVolume array = rig.array) {
      byte[] data = new byte[(int) size];
      new Random(1).nextBytes(data);
      array.write(0, ByteBuffer.wrap(data));
      assertEquals(0, array.scrub(false).mismatches(), "a freshly written array is consistent");
      long row = 17;
      flip(rig, array.g.parityMember(row), row, 100);
      ScrubReport check = array.scrub(false);
      assertEquals(1, check.mismatches(), check.toString());
      assertEquals(List.of(row * array.g.rowBytes()), check.firstOffsets());
      assertEquals(0, check.repaired());
      assertTrue(check.summary().contains("repair"), check.summary());
      assertArrayEquals(data, readAll(array), "the data is what was written");
      ScrubReport repair = array.scrub(true);
      assertEquals(1, repair.repaired());
      assertEquals(0, array.scrub(false).mismatches(), "consistent after the repair");
      assertArrayEquals(data, readAll(array));
      // Consistent again: losing a member now rebuilds the right data from the parity.
      rig.members.get(0).fail(FaultyVolume.Fault.ALL);
      assertArrayEquals(data, readAll(array), "degraded reads use the repaired parity");
      IOException degraded = assertThrows(IOException.class, () -> array.scrub(false));
      assertTrue(degraded.getMessage().contains("degraded")
          && degraded.getMessage().contains("rebuild"), degraded.getMessage());
    }
  }

  @Test
  void raid1_aMirrorThatDisagreesIsFound_andRepairCopiesTheFirst() throws Exception {
    long size = 64L * UNIT;
    Rig rig = rig(RaidLevel.RAID1, 3, size);
    try (RaidVolume array = rig.array) {
      byte[] data = new byte[(int) size];
      new Random(2).nextBytes(data);
      array.write(0, ByteBuffer.wrap(data));
      flip(rig, 2, 5, 0);
      flip(rig, 1, 40, UNIT - 1);
      ScrubReport check = array.scrub(false);
      assertEquals(2, check.mismatches(), check.toString());
      assertEquals(List.of(5L * UNIT, 40L * UNIT), check.firstOffsets());
      assertEquals(2, array.scrub(true).repaired());
      assertEquals(0, array.scrub(false).mismatches());
      for (FaultyVolume m : rig.members) {
        byte[] copy = new byte[(int) size];
        m.read(array.g.dataOffset, ByteBuffer.wrap(copy));
        assertArrayEquals(data, copy, m.name() + " holds the first mirror's data");
      }
    }
  }

  @Test
  void raid0HasNothingToScrub() throws Exception {
    try (RaidVolume array = RaidTesting.memoryArray("z", RaidLevel.RAID0, 2, UNIT, 8L * UNIT)) {
      UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
          () -> array.scrub(false));
      assertTrue(e.getMessage().contains("RAID-0"), e.getMessage());
    }
  }
}
