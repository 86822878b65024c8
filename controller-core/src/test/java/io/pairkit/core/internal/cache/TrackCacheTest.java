package io.pairkit.core.internal.cache;

import io.pairkit.core.cache.TrackCacheConfig;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.error.ControllerConfigException;
import io.pairkit.api.CacheStats;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.spi.Volume;
import io.pairkit.testkit.ForwardingVolume;
import io.pairkit.testkit.MemoryVolume;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class TrackCacheTest {
  private static final int TS = 4096;

  private static byte[] pattern(long seed, int length) {
    byte[] b = new byte[length];
    new Random(seed).nextBytes(b);
    return b;
  }

  private static byte[] read(Volume v, long offset, int length) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(length);
    v.read(offset, b);
    return b.array();
  }

  @Test
  void evictionUnderPressure_sixteenSlotsOverTenThousandTracks() throws Exception {
    int tracks = 10_000;
    try (TrackCache cache = new TrackCache(TrackCacheConfig.defaults().withCapacity(16 * TS),
        TS)) {
      MemoryVolume backend = new MemoryVolume("v", (long) tracks * TS);
      CachedVolume v = cache.wrap(backend);
      for (long t = 0; t < tracks; t++) {
        v.write(t * TS + 10, ByteBuffer.wrap(pattern(t, 100))); // partial: load, then modify
      }
      for (long t = tracks - 1; t >= 0; t--) {
        assertArrayEquals(pattern(t, 100), read(v, t * TS + 10, 100), "track " + t);
      }
      CacheStats stats = cache.stats();
      assertEquals(16, stats.slots());
      assertTrue(stats.evictions() >= 2 * tracks - 16 - 100, "evictions " + stats.evictions());
      assertTrue(stats.dirtySlots() <= 16);
      v.close();
    }
  }

  @Test
  void readHitsComeFromTheSlotWithoutBackendReads() throws Exception {
    try (TrackCache cache = new TrackCache(TrackCacheConfig.defaults().withCapacity(64 * TS),
        TS)) {
      CountingVolume backend = new CountingVolume(new MemoryVolume("v", 32L * TS));
      CachedVolume v = cache.wrap(backend);
      read(v, 5 * TS + 7, 100); // miss: one backend read of the track
      long readsAfterMiss = backend.reads;
      for (int i = 0; i < 50; i++) {
        read(v, 5 * TS + i, 10);
      }
      assertEquals(readsAfterMiss, backend.reads, "hits must not touch the backend");
      assertTrue(cache.stats().hits() >= 50);
      v.close();
    }
  }

  @Test
  void flushIsADurabilityBarrier() throws Exception {
    try (TrackCache cache = new TrackCache(TrackCacheConfig.defaults().withCapacity(64 * TS),
        TS)) {
      MemoryVolume backend = new MemoryVolume("v", 64L * TS);
      CachedVolume v = cache.wrap(backend);
      byte[] data = pattern(1, 5 * TS + 33);
      v.write(3 * TS - 11, ByteBuffer.wrap(data));
      v.flush();
      assertArrayEquals(data, read(backend, 3 * TS - 11, data.length));
      assertEquals(0, cache.stats().dirtySlots());
      v.close();
    }
  }

  @Test
  void powerCut_losesOnlyUnflushedWrites() throws Exception {
    powerCuts(9, 20);
  }

  /** Crash enumeration: many random histories, each cut at a random point. */
  @Test
  @Tag("slow")
  @Timeout(600)
  void powerCutEnumeration() throws Exception {
    powerCuts(1000, 3000);
  }

  private static void powerCuts(long seed, int rounds) throws Exception {
    Random random = new Random(seed);
    for (int round = 0; round < rounds; round++) {
      MemoryVolume backend = new MemoryVolume("v", 64L * TS);
      TrackCache cache = new TrackCache(TrackCacheConfig.defaults().withCapacity(16 * TS), TS);
      CachedVolume v = cache.wrap(backend);
      byte[] before = new byte[64 * TS];
      byte[] after = new byte[64 * TS];
      boolean[] unflushed = new boolean[64 * TS];
      int ops = 1 + random.nextInt(80); // the cut comes after a random number of operations
      for (int op = 0; op < ops; op++) {
        int offset = random.nextInt(60 * TS);
        byte[] data = pattern(random.nextLong(), 1 + random.nextInt(2 * TS));
        v.write(offset, ByteBuffer.wrap(data));
        System.arraycopy(data, 0, after, offset, data.length);
        Arrays.fill(unflushed, offset, offset + data.length, true);
        if (random.nextInt(8) == 0) {
          v.flush();
          System.arraycopy(after, 0, before, 0, after.length);
          Arrays.fill(unflushed, false);
        }
      }
      cache.loseVolatileContents(); // power cut: no destage
      byte[] disk = read(backend.reopen(), 0, 64 * TS);
      for (int i = 0; i < disk.length; i++) {
        if (!unflushed[i]) {
          assertEquals(before[i], disk[i], "seed " + seed + " round " + round + ": flushed byte "
              + i + " lost");
        }
      }
    }
  }

  @Test
  void concurrentReadersAndWritersOnOneTrackNeverSeeATornWrite() throws Exception {
    try (TrackCache cache = new TrackCache(TrackCacheConfig.defaults().withCapacity(16 * TS),
        TS)) {
      CachedVolume v = cache.wrap(new MemoryVolume("v", 64L * TS));
      AtomicBoolean stop = new AtomicBoolean();
      ExecutorService pool = Executors.newFixedThreadPool(4);
      try {
        List<Future<?>> work = new ArrayList<>();
        for (int w = 0; w < 2; w++) {
          int id = w;
          work.add(pool.submit(() -> {
            byte[] track = new byte[TS];
            for (int i = 0; i < 3000; i++) {
              Arrays.fill(track, (byte) (id * 100 + i % 100));
              v.write(7L * TS, ByteBuffer.wrap(track)); // a whole track: one slot, one lock
            }
            return null;
          }));
        }
        for (int r = 0; r < 2; r++) {
          work.add(pool.submit(() -> {
            while (!stop.get()) {
              byte[] got = read(v, 7L * TS, TS);
              for (byte b : got) {
                if (b != got[0]) {
                  throw new AssertionError("torn track: " + got[0] + " and " + b);
                }
              }
            }
            return null;
          }));
        }
        work.get(0).get();
        work.get(1).get();
        stop.set(true);
        for (Future<?> f : work) {
          f.get();
        }
      } finally {
        pool.shutdown();
      }
      v.close();
    }
  }

  @Test
  void writersWaitForDestageInsteadOfGrowingDirtyData() throws Exception {
    CountDownLatch backendOpen = new CountDownLatch(1);
    GatedVolume backend = new GatedVolume(new MemoryVolume("v", 256L * TS), backendOpen);
    TrackCache cache = new TrackCache(TrackCacheConfig.defaults().withCapacity(16 * TS), TS);
    CachedVolume v = cache.wrap(backend);
    Thread writer = new Thread(() -> {
      try {
        for (long t = 0; t < 200; t++) {
          v.write(t * TS, ByteBuffer.wrap(pattern(t, TS)));
        }
      } catch (IOException e) {
        throw new AssertionError(e);
      }
    });
    writer.start();
    // The backend accepts nothing, so the writer must come to a stop at the high-water mark.
    long deadline = System.nanoTime() + 20_000_000_000L;
    while (writer.isAlive() && System.nanoTime() < deadline
        && writer.getState() != Thread.State.WAITING
        && writer.getState() != Thread.State.TIMED_WAITING) {
      Thread.onSpinWait();
    }
    assertTrue(writer.isAlive(), "the writer finished although nothing could be destaged");
    assertTrue(cache.stats().dirtySlots() <= 12, "dirty " + cache.stats().dirtySlots()
        + " above the high-water mark of 12 (75% of 16)");
    backendOpen.countDown();
    writer.join();
    v.flush();
    for (long t = 0; t < 200; t++) {
      assertArrayEquals(pattern(t, TS), read(backend, t * TS, TS), "track " + t);
    }
    v.close();
    cache.close();
  }

  @Test
  void deadBackend_flushReportsItAndDataStaysCachedUntilItRecovers() throws Exception {
    io.pairkit.testkit.FaultyVolume backend = new io.pairkit.testkit.FaultyVolume(
        new MemoryVolume("v", 64L * TS));
    try (TrackCache cache = new TrackCache(TrackCacheConfig.defaults().withCapacity(32 * TS),
        TS)) {
      CachedVolume v = cache.wrap(backend);
      byte[] data = pattern(4, 3 * TS);
      backend.fail(io.pairkit.testkit.FaultyVolume.Fault.WRITES);
      v.write(2 * TS, ByteBuffer.wrap(data));
      IOException e = assertThrows(IOException.class, v::flush);
      assertTrue(e.getMessage().contains("injected"), e.getMessage());
      assertArrayEquals(data, read(v, 2 * TS, data.length), "the cache still holds the data");
      assertEquals(3, cache.stats().dirtySlots());
      long writesWhileDead = backend.writes();
      backend.heal();
      v.flush();
      assertArrayEquals(data, read(backend, 2 * TS, data.length));
      assertEquals(0, cache.stats().dirtySlots());
      assertTrue(backend.writes() > writesWhileDead);
      v.close();
    }
  }

  @Test
  void deadBackend_writersGetAnErrorInsteadOfHangingWhenTheCacheIsFull() throws Exception {
    io.pairkit.testkit.FaultyVolume backend = new io.pairkit.testkit.FaultyVolume(
        new MemoryVolume("v", 256L * TS));
    try (TrackCache cache = new TrackCache(TrackCacheConfig.defaults().withCapacity(16 * TS),
        TS)) {
      CachedVolume v = cache.wrap(backend);
      backend.fail(io.pairkit.testkit.FaultyVolume.Fault.WRITES);
      int accepted = 0;
      IOException refused = null;
      for (long t = 0; t < 200 && refused == null; t++) {
        try {
          v.write(t * TS, ByteBuffer.wrap(pattern(t, TS)));
          accepted++;
        } catch (IOException e) {
          refused = e;
        }
      }
      assertTrue(refused != null, "a full cache over a dead backend must refuse, not hang");
      assertTrue(refused.getMessage().contains("'v'")
          && refused.getMessage().contains("injected"), refused.getMessage());
      assertTrue(accepted >= 12 && accepted < 200, "accepted " + accepted);
      backend.heal();
      // Still full and the destager backing off, yet a write must go through at once.
      v.write(199L * TS, ByteBuffer.wrap(pattern(199, TS)));
      v.flush(); // everything accepted reaches the backend once it is back
      for (long t = 0; t < accepted; t++) {
        assertArrayEquals(pattern(t, TS), read(backend, t * TS, TS), "track " + t);
      }
      assertArrayEquals(pattern(199, TS), read(backend, 199L * TS, TS));
      v.close();
    }
  }

  @Test
  void nativeMemoryIsReleasedAcrossOpenCloseCycles() throws Exception {
    long before = TrackCache.liveNativeBytes();
    for (int i = 0; i < 50; i++) {
      TrackCache cache = new TrackCache(TrackCacheConfig.defaults().withCapacity(4L << 20), TS);
      CachedVolume v = cache.wrap(new MemoryVolume("v", 1L << 20));
      v.write(i, ByteBuffer.wrap(new byte[] {1, 2, 3}));
      assertEquals(before + (4L << 20), TrackCache.liveNativeBytes());
      v.close();
      cache.close();
      cache.close(); // harmless twice
    }
    assertEquals(before, TrackCache.liveNativeBytes());
  }

  @Test
  void allocatedCoversAWrittenTrackDestagedAndEvictedWhileItLooks() throws Exception {
    CountDownLatch backendLooked = new CountDownLatch(1);
    CountDownLatch goOn = new CountDownLatch(1);
    MemoryVolume thin = new MemoryVolume("v", 64L * TS); // a hole until written
    Volume backend = new ForwardingVolume(thin) {
      @Override
      public ExtentSet allocated(long offset, long length) throws IOException {
        ExtentSet seen = super.allocated(offset, length);
        backendLooked.countDown();
        await(goOn);
        return seen;
      }
    };
    try (TrackCache cache = new TrackCache(TrackCacheConfig.defaults().withCapacity(16 * TS),
        TS)) {
      CachedVolume v = cache.wrap(backend);
      v.write(0, ByteBuffer.wrap(pattern(1, TS))); // dirty in its slot, not on the backend
      ExecutorService pool = Executors.newSingleThreadExecutor();
      try {
        Future<ExtentSet> allocated = pool.submit(() -> v.allocated(0, TS));
        await(backendLooked); // the backend said "hole" for track 0, if it was asked first
        v.flush(); // track 0 reaches the backend, its slot is clean ...
        for (long t = 1; t < 40; t++) {
          read(v, t * TS, 1); // ... and is reused for other tracks
        }
        goOn.countDown();
        assertEquals(ExtentSet.of(0, TS), allocated.get(), "a written track reported as a hole");
      } finally {
        goOn.countDown();
        pool.shutdown();
      }
      v.close();
    }
  }

  private static void await(CountDownLatch latch) {
    try {
      assertTrue(latch.await(30, java.util.concurrent.TimeUnit.SECONDS), "latch never opened");
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void tooSmallACacheIsRefused() {
    ControllerConfigException e = assertThrows(ControllerConfigException.class,
        () -> new TrackCache(TrackCacheConfig.defaults().withCapacity(15 * TS), TS));
    assertTrue(e.getMessage().contains("at least 16"), e.getMessage());
  }

  /** Counts backend reads. */
  private static final class CountingVolume extends ForwardingVolume {
    volatile long reads;

    CountingVolume(Volume v) {
      super(v);
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
      reads++;
      super.read(offset, dst);
    }
  }

  /** Holds every write until the gate opens. */
  private static final class GatedVolume extends ForwardingVolume {
    private final CountDownLatch gate;

    GatedVolume(Volume v, CountDownLatch gate) {
      super(v);
      this.gate = gate;
    }

    @Override
    public void write(long offset, ByteBuffer src) throws IOException {
      try {
        gate.await();
      } catch (InterruptedException e) {
        throw new IOException(e);
      }
      super.write(offset, src);
    }
  }
}
