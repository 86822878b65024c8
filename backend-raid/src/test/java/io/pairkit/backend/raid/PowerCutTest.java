package io.pairkit.backend.raid;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pairkit.api.spi.Volume;
import io.pairkit.testkit.MemoryVolume;
import io.pairkit.testkit.VolatileCacheVolume;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Power cuts on members with volatile write caches: every member loses its own random half of
 * the blocks written since its last flush, then one member is lost as well. Unlike the ordered
 * log of {@link WriteHoleTest}, writes reach the disks in any order here, which exercises the
 * partial parity log's flush rules (an entry durable before its data; partial parity only from
 * durable data; slots reused only once durable). Verified to fail without the flush of a log
 * entry (9 of 30 seeds) and without the flush before partial parity reads unflushed data (4 of the
 * default seeds, 10 of the 600 soak seeds). Every byte acknowledged before the array's last
 * flush and not written since must read back exactly; a byte written since reads as its flushed
 * value or one of the values written since (unless it lies on the lost member).
 */
@Timeout(300)
class PowerCutTest {
  private static final int UNIT = 4096;
  private static final int MEMBERS = 4;
  private static final long SIZE = 32L * UNIT * (MEMBERS - 1);

  /** 1..30, plus seeds that caught partial parity computed from unflushed data. */
  static Stream<Long> seeds() {
    return Stream.concat(LongStream.range(1, 31).boxed(), Stream.of(226L, 233L, 260L, 324L));
  }

  static Stream<Long> soakSeeds() {
    return LongStream.range(100, 700).boxed();
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void powerCutThenMemberLoss_keepsEveryFlushedByte(long seed) throws Exception {
    run(seed);
  }

  @Tag("slow")
  @ParameterizedTest(name = "seed {0}")
  @MethodSource("soakSeeds")
  void soak(long seed) throws Exception {
    run(seed);
  }

  /**
   * Two partial writes to one stripe unit of a row, the second inside the first, without a
   * flush. The second's log entry flushes the parity member, so the first write's parity is
   * durable; the power cut then loses both data writes and the second parity write; and the
   * member of the row's next unit (flushed, untouched) is lost. Replaying only the newest log
   * entry would repair the second write's band and leave the rest of the first one's wrong
   * (it did, before entries were replayed in sequence).
   */
  @org.junit.jupiter.api.Test
  void nestedUnflushedPartialWrites_thenParityLostAndAMemberLost_keepInnocentData()
      throws Exception {
    long memberSize = RaidTesting.memberSize(RaidLevel.RAID5, MEMBERS, UNIT, SIZE);
    List<MemoryVolume> media = new ArrayList<>();
    List<VolatileCacheVolume> disks = new ArrayList<>();
    for (int i = 0; i < MEMBERS; i++) {
      MemoryVolume m = new MemoryVolume("nw.m" + i, memberSize);
      media.add(m);
      disks.add(new VolatileCacheVolume(m));
    }
    Map<String, String> extra = Map.of("bitmapClearDelayMs", "3600000");
    byte[] image = new byte[(int) SIZE];
    new Random(77).nextBytes(image);
    RaidVolume array = RaidVolumes.open(RaidTesting.spec("nw", RaidLevel.RAID5, UNIT, SIZE,
        "create", extra), new ArrayList<Volume>(disks));
    array.write(0, ByteBuffer.wrap(image.clone()));
    array.flush();
    RaidGeometry g = array.g;
    long row = 5;
    long at = row * g.rowBytes();
    byte[] first = new byte[UNIT];
    new Random(78).nextBytes(first);
    array.write(at, ByteBuffer.wrap(first));
    byte[] second = new byte[100];
    new Random(79).nextBytes(second);
    array.write(at, ByteBuffer.wrap(second));
    int parity = g.parityMember(row);
    int d0 = g.dataMember(row, 0);
    int d1 = g.dataMember(row, 1);
    for (int i = 0; i < MEMBERS; i++) {
      disks.get(i).powerCut(new Random(i), i == d0 || i == parity ? 0.0 : 0.5);
    }
    List<Volume> back = new ArrayList<>();
    for (int i = 0; i < MEMBERS; i++) {
      back.add(i == d1 ? null : media.get(i).reopen());
    }
    try (RaidVolume reopened = RaidVolumes.open(RaidTesting.spec("nw", RaidLevel.RAID5, UNIT, -1,
        "open", extra), back)) {
      byte[] unit1 = new byte[UNIT];
      reopened.read(at + UNIT, ByteBuffer.wrap(unit1));
      byte[] expected = java.util.Arrays.copyOfRange(image, (int) (at + UNIT),
          (int) (at + 2 * UNIT));
      org.junit.jupiter.api.Assertions.assertArrayEquals(expected, unit1,
          "the lost member's untouched unit, rebuilt from parity");
    }
  }

  private void run(long seed) throws Exception {
    Random random = new Random(seed);
    long memberSize = RaidTesting.memberSize(RaidLevel.RAID5, MEMBERS, UNIT, SIZE);
    List<MemoryVolume> media = new ArrayList<>();
    List<VolatileCacheVolume> disks = new ArrayList<>();
    for (int i = 0; i < MEMBERS; i++) {
      MemoryVolume m = new MemoryVolume("pc.m" + i, memberSize);
      media.add(m);
      disks.add(new VolatileCacheVolume(m));
    }
    // Few slots, so they are reused within a run.
    Map<String, String> extra = Map.of("bitmapClearDelayMs", "3600000", "pplSlots", "4");
    byte[] flushed = new byte[(int) SIZE];
    List<Set<Byte>> since = new ArrayList<>();
    for (int b = 0; b < SIZE; b++) {
      since.add(null);
    }
    RaidVolume array = RaidVolumes.open(
        RaidTesting.spec("pc", RaidLevel.RAID5, UNIT, SIZE, "create", extra),
        new ArrayList<Volume>(disks));
    byte[] current = new byte[(int) SIZE];
    random.nextBytes(current);
    array.write(0, ByteBuffer.wrap(current.clone()));
    array.flush();
    if (random.nextBoolean()) {
      // A first session that logs partial writes and stops cleanly: its log must not confuse
      // the recovery of the second one.
      for (int w = 0; w < 40; w++) {
        byte[] d = new byte[1 + random.nextInt(UNIT)];
        random.nextBytes(d);
        int off = random.nextInt((int) (SIZE - d.length));
        array.write(off, ByteBuffer.wrap(d));
        System.arraycopy(d, 0, current, off, d.length);
        array.flush(); // moves the log's watermark up
      }
      array.close();
      disks.clear();
      List<Volume> again = new ArrayList<>();
      for (MemoryVolume m : media) {
        VolatileCacheVolume d = new VolatileCacheVolume(m.reopen());
        disks.add(d);
        again.add(d);
      }
      array = RaidVolumes.open(RaidTesting.spec("pc", RaidLevel.RAID5, UNIT, -1, "open", extra),
          again);
    }
    System.arraycopy(current, 0, flushed, 0, current.length);
    int writes = 10 + random.nextInt(30);
    for (int w = 0; w < writes; w++) {
      int len = 1 + random.nextInt(random.nextInt(3) == 0 ? 3 * UNIT * 3 : UNIT);
      int off = random.nextInt((int) (SIZE - len));
      byte[] data = new byte[len];
      random.nextBytes(data);
      array.write(off, ByteBuffer.wrap(data));
      for (int i = 0; i < len; i++) {
        if (since.get(off + i) == null) {
          since.set(off + i, new HashSet<>());
        }
        since.get(off + i).add(data[i]);
      }
      System.arraycopy(data, 0, current, off, len);
      if (random.nextInt(6) == 0) {
        array.flush();
        System.arraycopy(current, 0, flushed, 0, current.length);
        for (int b = 0; b < SIZE; b++) {
          since.set(b, null);
        }
      }
    }
    RaidGeometry g = array.g;
    for (VolatileCacheVolume d : disks) {
      d.powerCut(random);
    }
    int lost = random.nextInt(MEMBERS + 1) - 1; // -1: none lost
    List<Volume> back = new ArrayList<>();
    for (int i = 0; i < MEMBERS; i++) {
      back.add(i == lost ? null : media.get(i).reopen());
    }
    try (RaidVolume reopened = RaidVolumes.open(
        RaidTesting.spec("pc", RaidLevel.RAID5, UNIT, -1, "open", extra), back)) {
      byte[] read = new byte[(int) SIZE];
      reopened.read(0, ByteBuffer.wrap(read));
      int wrong = 0;
      String first = null;
      for (int b = 0; b < SIZE; b++) {
        Set<Byte> allowed = since.get(b);
        long u = b / UNIT;
        long row = u / g.dataMembers;
        int member = g.dataMember(row, (int) (u % g.dataMembers));
        boolean ok = read[b] == flushed[b]
            || (allowed != null && (allowed.contains(read[b]) || member == lost));
        if (!ok) {
          wrong++;
          if (first == null) {
            first = "byte " + b + " (row " + row + ", member " + member + ") reads " + read[b]
                + ", flushed " + flushed[b] + (allowed == null ? ", not written since"
                : ", written since: " + allowed) + "; member " + lost + " lost";
          }
        }
      }
      assertEquals(0, wrong, "seed " + seed + ": " + first);
    }
  }
}
