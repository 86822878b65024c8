package io.pairkit.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.ExtentSet;
import io.pairkit.api.error.AlreadyClosedException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class VolatileCacheVolumeTest {
  private static final int B = VolatileCacheVolume.BLOCK_SIZE;
  private static final long SIZE = 64L * B;

  private static byte[] fill(int value, int length) {
    byte[] b = new byte[length];
    java.util.Arrays.fill(b, (byte) value);
    return b;
  }

  private static byte[] read(io.pairkit.api.spi.Volume v, long offset, int length)
      throws Exception {
    ByteBuffer buf = ByteBuffer.allocate(length);
    v.read(offset, buf);
    return buf.array();
  }

  @Test
  void allocatedCoversABlockFlushedWhileItLooks() throws Exception {
    CountDownLatch mediumLooked = new CountDownLatch(1);
    CountDownLatch goOn = new CountDownLatch(1);
    MemoryVolume memory = new MemoryVolume("v", SIZE);
    ForwardingVolume medium = new ForwardingVolume(memory) {
      @Override
      public ExtentSet allocated(long offset, long length) throws IOException {
        ExtentSet seen = super.allocated(offset, length);
        mediumLooked.countDown();
        try {
          goOn.await();
        } catch (InterruptedException e) {
          throw new InterruptedIOException();
        }
        return seen;
      }
    };
    VolatileCacheVolume v = new VolatileCacheVolume(medium, memory::reopen);
    v.write(5L * B, ByteBuffer.wrap(fill(3, 10))); // in the cache only
    ExecutorService pool = Executors.newSingleThreadExecutor();
    try {
      Future<ExtentSet> allocated = pool.submit(() -> v.allocated(5L * B, B));
      assertTrue(mediumLooked.await(30, TimeUnit.SECONDS));
      v.flush(); // the block moves to the medium and leaves the cache
      goOn.countDown();
      assertEquals(ExtentSet.of(5L * B, 6L * B), allocated.get(),
          "a written block reported as a hole");
    } finally {
      goOn.countDown();
      pool.shutdown();
    }
  }

  @Test
  void powerCutLosesEveryUnflushedWriteWhenNoneSurvive() throws Exception {
    VolatileCacheVolume v = new VolatileCacheVolume(new MemoryVolume("v", SIZE));
    v.write(0, ByteBuffer.wrap(fill(1, 2 * B)));
    v.flush();
    v.write(B, ByteBuffer.wrap(fill(2, 2 * B)));
    v.discard(0, 10);
    assertEquals(3, v.unflushedBlocks());
    assertArrayEquals(fill(2, 2 * B), read(v, B, 2 * B), "reads see the cache");
    assertEquals(0, v.powerCut(new Random(1), 0.0));
    assertThrows(AlreadyClosedException.class, () -> v.read(0, ByteBuffer.allocate(1)));
    try (VolatileCacheVolume after = v.reopen()) {
      assertArrayEquals(fill(1, 2 * B), read(after, 0, 2 * B), "only flushed data survives");
      assertArrayEquals(new byte[B], read(after, 2L * B, B));
    }
  }

  @Test
  void powerCutKeepsARandomSubsetOfUnflushedBlocksThatASeedReplays() throws Exception {
    int[] kept = new int[2];
    byte[][] images = new byte[2][];
    for (int run = 0; run < 2; run++) {
      VolatileCacheVolume v = new VolatileCacheVolume(new MemoryVolume("v", SIZE));
      for (int b = 0; b < 32; b++) {
        v.write((long) b * B, ByteBuffer.wrap(fill(b + 1, B)));
      }
      kept[run] = v.powerCut(new Random(42));
      try (VolatileCacheVolume after = v.reopen()) {
        images[run] = read(after, 0, 32 * B);
        for (int b = 0; b < 32; b++) {
          byte[] block = read(after, (long) b * B, B);
          assertTrue(java.util.Arrays.equals(block, fill(b + 1, B))
              || java.util.Arrays.equals(block, new byte[B]), "block " + b + " is whole or lost");
        }
      }
    }
    assertTrue(kept[0] > 0 && kept[0] < 32, "some but not all blocks survive: " + kept[0]);
    assertEquals(kept[0], kept[1]);
    assertArrayEquals(images[0], images[1], "the same seed loses the same blocks");
  }

  @Test
  void flushMakesWritesAndDiscardsSurviveAPowerCut() throws Exception {
    MemoryVolume medium = new MemoryVolume("v", SIZE);
    medium.write(5L * B, ByteBuffer.wrap(fill(9, B)));
    VolatileCacheVolume v = new VolatileCacheVolume(medium);
    v.write(3, ByteBuffer.wrap(fill(7, 100)));
    v.discard(5L * B, B);
    v.flush();
    assertEquals(0, v.unflushedBlocks());
    v.powerCut(new Random(3), 0.0);
    try (VolatileCacheVolume after = v.reopen()) {
      assertArrayEquals(fill(7, 100), read(after, 3, 100));
      assertArrayEquals(new byte[B], read(after, 5L * B, B));
      assertTrue(after.allocated(5L * B, B).isEmpty(), "a flushed whole-block discard frees it");
    }
  }

  @Test
  void reopenWhileOpenIsRefused() {
    VolatileCacheVolume v = new VolatileCacheVolume(new MemoryVolume("v", SIZE));
    IllegalStateException e = assertThrows(IllegalStateException.class, v::reopen);
    assertTrue(e.getMessage().contains("powerCut"), e.getMessage());
  }
}
