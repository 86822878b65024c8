package io.pairkit.backend.raid;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.spi.Volume;
import io.pairkit.testkit.FaultyVolume;
import io.pairkit.testkit.MemoryVolume;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * mdadm's RAID-5 integrity method: write a random image, fail each member in turn and check the
 * volume's content is unchanged; write while degraded, rebuild onto a blank replacement while a
 * host keeps writing, fail another member, read everything back.
 */
@Timeout(120)
class RaidIntegrityTest {
  private static final int UNIT = 16 << 10;

  private record Rig(RaidVolume array, List<FaultyVolume> members, long memberSize) {
  }

  private static Rig rig(RaidLevel level, int n, long size, Map<String, String> extra)
      throws Exception {
    long memberSize = RaidTesting.memberSize(level, n, UNIT, size);
    List<FaultyVolume> faulty = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      faulty.add(new FaultyVolume(new MemoryVolume("it.m" + i, memberSize)));
    }
    RaidVolume array = RaidVolumes.open(RaidTesting.spec("it", level, UNIT, size, "create",
        extra), new ArrayList<Volume>(faulty));
    return new Rig(array, faulty, memberSize);
  }

  private static byte[] readAll(Volume v) throws Exception {
    byte[] all = new byte[Math.toIntExact(v.size())];
    v.read(0, ByteBuffer.wrap(all));
    return all;
  }

  @ParameterizedTest(name = "{0} x{1}")
  @CsvSource({"RAID5, 3", "RAID5, 5", "RAID1, 2", "RAID1, 3"})
  void failEachMemberInTurn_contentUnchanged_thenRebuildUnderWritesAndFailAnother(
      RaidLevel level, int n) throws Exception {
    long size = 40L * UNIT * level.dataMembers(n) + 777;
    Rig rig = rig(level, n, size, Map.of("rebuildSpeedLimit", "64m"));
    try (RaidVolume array = rig.array) {
      Random random = new Random(n);
      byte[] image = new byte[(int) size];
      random.nextBytes(image);
      array.write(0, ByteBuffer.wrap(image.clone()));
      array.flush();
      // Fail each member in turn: reads reconstruct it; the content never changes.
      for (int i = 0; i < n; i++) {
        rig.members.get(i).fail(FaultyVolume.Fault.ALL);
        assertArrayEquals(image, readAll(array), "member " + i + " failed");
        assertEquals(MemberState.FAILED, array.status().members().get(i).state());
        MemoryVolume blank = new MemoryVolume("it.r" + i, rig.memberSize);
        FaultyVolume replacement = new FaultyVolume(blank);
        // Degraded writes, then a rebuild while a host keeps writing.
        byte[] more = new byte[3 * UNIT + 5];
        random.nextBytes(more);
        long at = random.nextInt((int) (size - more.length));
        array.write(at, ByteBuffer.wrap(more));
        System.arraycopy(more, 0, image, (int) at, more.length);
        array.replaceMember(i, replacement);
        rig.members.set(i, replacement);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> writerError = new AtomicReference<>();
        byte[] shared = image;
        int seed = i;
        Thread writer = new Thread(() -> {
          Random r = new Random(seed);
          try {
            while (!stop.get()) {
              byte[] d = new byte[1 + r.nextInt(2 * UNIT)];
              r.nextBytes(d);
              int off = r.nextInt((int) size - d.length);
              synchronized (shared) {
                array.write(off, ByteBuffer.wrap(d));
                System.arraycopy(d, 0, shared, off, d.length);
              }
            }
          } catch (Throwable t) {
            writerError.set(t);
          }
        });
        writer.start();
        assertTrue(array.awaitRebuild(Duration.ofSeconds(60)), "rebuild did not finish");
        stop.set(true);
        writer.join();
        if (writerError.get() != null) {
          throw new AssertionError("host writer failed during the rebuild", writerError.get());
        }
        assertEquals(MemberState.ACTIVE, array.status().members().get(i).state());
        assertArrayEquals(image, readAll(array), "after rebuilding member " + i);
      }
      // A rebuilt member carries its weight: fail another one and read everything back.
      rig.members.get((n - 1) % n == 0 ? 1 : 0).fail(FaultyVolume.Fault.ALL);
      assertArrayEquals(image, readAll(array), "after failing another member post-rebuild");
    }
  }

  @ParameterizedTest(name = "{0} x{1}")
  @CsvSource({"RAID5, 3", "RAID5, 4", "RAID0, 2"})
  void oneFailureTooMany_failsTheArrayWithAClearErrorAndNeverWrongData(RaidLevel level, int n)
      throws Exception {
    long size = 20L * UNIT * level.dataMembers(n);
    Rig rig = rig(level, n, size, Map.of());
    try (RaidVolume array = rig.array) {
      byte[] image = new byte[(int) size];
      new Random(7).nextBytes(image);
      array.write(0, ByteBuffer.wrap(image.clone()));
      for (int i = 0; i <= level.redundancy(n); i++) {
        rig.members.get(i).fail(FaultyVolume.Fault.ALL);
      }
      ArrayFailedException e = assertThrows(ArrayFailedException.class, () -> readAll(array));
      assertTrue(e.getMessage().contains("it.m0"), e.getMessage());
      assertThrows(ArrayFailedException.class,
          () -> array.write(0, ByteBuffer.wrap(new byte[10])));
    }
  }
}
