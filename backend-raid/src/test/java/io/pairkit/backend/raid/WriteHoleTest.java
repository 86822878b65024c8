package io.pairkit.backend.raid;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.spi.Volume;
import io.pairkit.testkit.ForwardingVolume;
import io.pairkit.testkit.MemoryVolume;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Crashes between data and parity writes, enumerated over a recorded log of member writes (as the
 * durable-pairs crash enumeration does), then a member loss: the array is reassembled from every
 * prefix of the log with each member missing in turn. No byte outside the write that was in
 * flight may differ from what was acknowledged, and inside it a byte on a surviving member is old
 * or new (a byte of that write on the lost member is unprotected, as in md).
 */
@Timeout(300)
class WriteHoleTest {
  private static final int UNIT = 4096;
  private static final int MEMBERS = 4;
  private static final long SIZE = 24L * UNIT * (MEMBERS - 1);
  private static final int WRITES = 14;

  /** Member writes in the order they reached the members. */
  private static final class Log {
    final List<Object[]> records = new ArrayList<>();
  }

  private static final class LoggingVolume extends ForwardingVolume {
    private final Log log;
    private final int index;

    LoggingVolume(Volume delegate, Log log, int index) {
      super(delegate);
      this.log = log;
      this.index = index;
    }

    @Override
    public void write(long offset, ByteBuffer src) throws IOException {
      byte[] copy = new byte[src.remaining()];
      src.duplicate().get(copy);
      synchronized (log) {
        log.records.add(new Object[] {index, offset, copy});
        super.write(offset, src);
      }
    }

    @Override
    public void discard(long offset, long length) throws IOException {
      write(offset, ByteBuffer.wrap(new byte[Math.toIntExact(length)]));
    }
  }

  private record HostWrite(long offset, byte[] data, int logStart, int logEnd) {
  }

  private record Outcome(int crashPoints, int wrongInnocentBytes, String firstWrong) {
  }

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1, 2, 3})
  void crashThenMemberLoss_neverReadsAWrongInnocentByte(long seed) throws Exception {
    Outcome o = enumerate(seed, "ppl", true);
    assertTrue(o.crashPoints > 100, "enumerated " + o.crashPoints + " crash points");
    assertEquals(0, o.wrongInnocentBytes, "seed " + seed + ": " + o.firstWrong);
  }

  @Tag("slow")
  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25})
  void soak(long seed) throws Exception {
    crashThenMemberLoss_neverReadsAWrongInnocentByte(seed);
  }

  @Test
  void crashWithAllMembers_bitmapAloneRepairsEveryRow() throws Exception {
    Outcome o = enumerate(4, "bitmap", false);
    assertEquals(0, o.wrongInnocentBytes, o.firstWrong);
  }

  /** The enumeration can fail: without protection, the same crashes corrupt innocent data. */
  @Test
  void withoutProtection_theSameCrashesCorruptInnocentData() throws Exception {
    Outcome none = enumerate(1, "none", true);
    Outcome bitmapOnly = enumerate(1, "bitmap", true);
    assertTrue(none.wrongInnocentBytes > 0, "writeHole=none showed no write hole");
    assertTrue(bitmapOnly.wrongInnocentBytes > 0,
        "writeHole=bitmap survived crash + member loss, which it cannot");
  }

  private Outcome enumerate(long seed, String writeHole, boolean loseAMember) throws Exception {
    Random random = new Random(seed);
    long memberSize = RaidTesting.memberSize(RaidLevel.RAID5, MEMBERS, UNIT, SIZE);
    Log log = new Log();
    List<MemoryVolume> media = new ArrayList<>();
    List<Volume> members = new ArrayList<>();
    for (int i = 0; i < MEMBERS; i++) {
      MemoryVolume m = new MemoryVolume("wh.m" + i, memberSize);
      media.add(m);
      members.add(new LoggingVolume(m, log, i));
    }
    Map<String, String> extra = Map.of("writeHole", writeHole, "bitmapClearDelayMs", "3600000");
    byte[] expected = new byte[(int) SIZE];
    byte[][] baseline = new byte[MEMBERS][];
    List<HostWrite> writes = new ArrayList<>();
    try (RaidVolume array = RaidVolumes.open(
        RaidTesting.spec("wh", RaidLevel.RAID5, UNIT, SIZE, "create", extra), members)) {
      random.nextBytes(expected);
      array.write(0, ByteBuffer.wrap(expected.clone()));
      array.flush();
      for (int i = 0; i < MEMBERS; i++) {
        baseline[i] = image(media.get(i));
      }
      synchronized (log) {
        log.records.clear();
      }
      for (int w = 0; w < WRITES; w++) {
        int len = 1 + random.nextInt(random.nextBoolean() ? 2 * UNIT : 3 * UNIT * 3);
        long off = (long) (random.nextDouble() * (SIZE - len));
        byte[] data = new byte[len];
        random.nextBytes(data);
        int start;
        synchronized (log) {
          start = log.records.size();
        }
        array.write(off, ByteBuffer.wrap(data));
        int end;
        synchronized (log) {
          end = log.records.size();
        }
        writes.add(new HostWrite(off, data, start, end));
        if (random.nextInt(4) == 0) {
          array.flush();
        }
      }
      RaidGeometry g = array.g;
      int crashPoints = 0;
      int wrong = 0;
      String firstWrong = null;
      List<Object[]> records = new ArrayList<>(log.records);
      for (int crash = 0; crash <= records.size(); crash++) {
        byte[] acknowledged = baselineImage(expected, writes, crash);
        HostWrite inFlight = null;
        byte[] before = acknowledged;
        for (HostWrite hw : writes) {
          if (hw.logStart < crash && crash < hw.logEnd) {
            inFlight = hw;
          }
        }
        int[] losses = loseAMember ? new int[] {0, 1, 2, 3} : new int[] {-1};
        for (int lost : losses) {
          crashPoints++;
          byte[] read = reassembleAndRead(baseline, records, crash, lost, memberSize, extra);
          for (int b = 0; b < SIZE; b++) {
            boolean inWrite = inFlight != null && b >= inFlight.offset
                && b < inFlight.offset + inFlight.data.length;
            if (!inWrite) {
              if (read[b] != before[b]) {
                wrong++;
                if (firstWrong == null) {
                  firstWrong = "crash after member write " + crash + " of " + records.size()
                      + ", member " + lost + " lost: byte " + b + " (row "
                      + (b / g.rowBytes()) + ") reads " + read[b] + ", acknowledged "
                      + before[b];
                }
              }
            } else {
              long u = b / UNIT;
              long row = u / g.dataMembers;
              int member = g.dataMember(row, (int) (u % g.dataMembers));
              byte fresh = inFlight.data[(int) (b - inFlight.offset)];
              if (member != lost && read[b] != before[b] && read[b] != fresh) {
                wrong++;
                if (firstWrong == null) {
                  firstWrong = "crash after member write " + crash + ", member " + lost
                      + " lost: byte " + b + " of the write in flight is neither old nor new";
                }
              }
            }
          }
        }
      }
      return new Outcome(crashPoints, wrong, firstWrong);
    }
  }

  /** The array image with every host write that completed before {@code crash} applied. */
  private static byte[] baselineImage(byte[] initial, List<HostWrite> writes, int crash) {
    byte[] image = initial.clone();
    for (HostWrite hw : writes) {
      if (hw.logEnd <= crash) {
        System.arraycopy(hw.data, 0, image, (int) hw.offset, hw.data.length);
      }
    }
    return image;
  }

  private static byte[] reassembleAndRead(byte[][] baseline, List<Object[]> records, int crash,
      int lost, long memberSize, Map<String, String> extra) throws IOException {
    List<Volume> members = new ArrayList<>();
    for (int i = 0; i < MEMBERS; i++) {
      MemoryVolume m = new MemoryVolume("wh.m" + i, memberSize);
      m.write(0, ByteBuffer.wrap(baseline[i]));
      members.add(m);
    }
    for (int r = 0; r < crash; r++) {
      Object[] rec = records.get(r);
      members.get((int) rec[0]).write((long) rec[1], ByteBuffer.wrap((byte[]) rec[2]));
    }
    if (lost >= 0) {
      members.set(lost, null);
    }
    byte[] all = new byte[(int) SIZE];
    try (RaidVolume array = RaidVolumes.open(
        RaidTesting.spec("wh", RaidLevel.RAID5, UNIT, -1, "open", extra), members)) {
      array.read(0, ByteBuffer.wrap(all));
    }
    if (lost < 0) {
      // Everything was present, so the data read directly; check that the recovery also left
      // parity right: read again with each member missing in turn.
      byte[][] images = new byte[MEMBERS][];
      for (int i = 0; i < MEMBERS; i++) {
        images[i] = image(((MemoryVolume) members.get(i)).reopen());
      }
      for (int f = 0; f < MEMBERS; f++) {
        List<Volume> degraded = new ArrayList<>();
        for (int i = 0; i < MEMBERS; i++) {
          MemoryVolume m = new MemoryVolume("wh.m" + i, memberSize);
          m.write(0, ByteBuffer.wrap(images[i]));
          degraded.add(i == f ? null : m);
        }
        byte[] again = new byte[(int) SIZE];
        try (RaidVolume array = RaidVolumes.open(
            RaidTesting.spec("wh", RaidLevel.RAID5, UNIT, -1, "open", extra), degraded)) {
          array.read(0, ByteBuffer.wrap(again));
        }
        if (!Arrays.equals(all, again)) {
          throw new AssertionError("after a recovery with every member present, the image "
              + "read with member " + f + " missing differs: parity was not resynchronised");
        }
      }
    }
    return all;
  }

  private static byte[] image(MemoryVolume v) throws IOException {
    byte[] all = new byte[Math.toIntExact(v.size())];
    v.read(0, ByteBuffer.wrap(all));
    return all;
  }

}
