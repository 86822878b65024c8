package io.pairkit.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.spi.TransientIOException;
import io.pairkit.testkit.FaultyVolume.Fault;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class FaultyVolumeTest {
  private static final int B = 4096;
  private static final long SIZE = 64L * B;

  private static byte[] fill(int value, int length) {
    byte[] b = new byte[length];
    Arrays.fill(b, (byte) value);
    return b;
  }

  private static byte[] read(io.pairkit.api.spi.Volume v, long offset, int length)
      throws Exception {
    ByteBuffer buf = ByteBuffer.allocate(length);
    v.read(offset, buf);
    return buf.array();
  }

  @Test
  void failedWritesTransferNothingUntilHealed() throws Exception {
    FaultyVolume v = new FaultyVolume(new MemoryVolume("v", SIZE)).fail(Fault.WRITES);
    ByteBuffer src = ByteBuffer.wrap(fill(1, 10));
    assertThrows(IOException.class, () -> v.write(0, src));
    assertThrows(IOException.class, () -> v.discard(0, 10));
    assertThrows(IOException.class, v::flush);
    assertEquals(10, src.remaining());
    assertArrayEquals(new byte[10], read(v, 0, 10), "reads still work");
    v.heal();
    v.write(0, src);
    assertEquals(1, v.writes());
    assertEquals(10, v.bytesWritten());
  }

  @Test
  void transientFailuresPassAfterTheGivenCount() throws Exception {
    FaultyVolume v = new FaultyVolume(new MemoryVolume("v", SIZE)).failTransiently(Fault.ALL, 2);
    assertThrows(TransientIOException.class, () -> v.read(0, ByteBuffer.allocate(1)));
    assertThrows(TransientIOException.class, () -> v.write(0, ByteBuffer.wrap(fill(3, 4))));
    v.write(0, ByteBuffer.wrap(fill(3, 4)));
    assertArrayEquals(fill(3, 4), read(v, 0, 4));
    assertEquals(2, v.injectedFailures());
  }

  @Test
  void randomFailuresFollowTheSeed() throws Exception {
    boolean[][] outcomes = new boolean[2][200];
    for (int run = 0; run < 2; run++) {
      FaultyVolume v = new FaultyVolume(new MemoryVolume("v", SIZE)).failRandomly(0.3, 77);
      for (int i = 0; i < 200; i++) {
        try {
          v.read(i, ByteBuffer.allocate(1));
          outcomes[run][i] = true;
        } catch (IOException e) {
          outcomes[run][i] = false;
        }
      }
    }
    assertArrayEquals(outcomes[0], outcomes[1]);
    int ok = 0;
    for (boolean b : outcomes[0]) {
      ok += b ? 1 : 0;
    }
    assertTrue(ok > 100 && ok < 180, ok + " of 200 calls succeeded at a 30% failure rate");
  }

  @Test
  void tornWriteLandsSomeWholePiecesAndNothingElse() throws Exception {
    FaultyVolume v = new FaultyVolume(new MemoryVolume("v", SIZE)).tearFailedWrites(5)
        .fail(Fault.WRITES);
    assertThrows(IOException.class, () -> v.write(0, ByteBuffer.wrap(fill(4, 16 * B))));
    v.heal();
    int landed = 0;
    for (int b = 0; b < 16; b++) {
      byte[] got = read(v, (long) b * B, B);
      boolean isNew = Arrays.equals(got, fill(4, B));
      assertTrue(isNew || Arrays.equals(got, new byte[B]), "piece " + b + " is old or new");
      landed += isNew ? 1 : 0;
    }
    assertTrue(landed > 0 && landed < 16, landed + " of 16 pieces landed");
  }

  @Test
  void latencyDelaysEveryCall() throws Exception {
    FaultyVolume v = new FaultyVolume(new MemoryVolume("v", SIZE)).latency(Duration.ofMillis(20));
    long t0 = System.nanoTime();
    v.read(0, ByteBuffer.allocate(1));
    v.flush();
    assertTrue(System.nanoTime() - t0 >= 40_000_000L, "two calls at 20 ms each");
  }

  @Test
  void powerCutThroughAVolatileCacheLosesUnflushedWrites() throws Exception {
    MemoryVolume medium = new MemoryVolume("v", SIZE);
    VolatileCacheVolume cache = new VolatileCacheVolume(medium);
    FaultyVolume v = new FaultyVolume(cache);
    v.write(0, ByteBuffer.wrap(fill(1, B)));
    v.flush();
    v.write(B, ByteBuffer.wrap(fill(2, B)));
    v.powerCut(new Random(1));
    try (VolatileCacheVolume after = cache.reopen()) {
      assertArrayEquals(fill(1, B), read(after, 0, B));
    }
    FaultyVolume plain = new FaultyVolume(new MemoryVolume("p", SIZE));
    assertThrows(IllegalStateException.class, () -> plain.powerCut(new Random(1)));
  }
}
