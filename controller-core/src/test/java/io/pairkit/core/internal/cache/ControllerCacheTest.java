package io.pairkit.core.internal.cache;

import io.pairkit.core.cache.TrackCacheConfig;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.CacheStats;
import io.pairkit.api.PairController;
import io.pairkit.core.PairKit;
import java.time.Duration;
import java.util.Random;
import io.pairkit.api.HostVolume;
import io.pairkit.api.VolumePair;
import io.pairkit.testkit.MemoryVolume;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The track cache under a controller: pairs work through it, stats show it, close frees it. */
@Timeout(60)
class ControllerCacheTest {
  private static final int TS = 4096;
  private static final Duration WAIT = Duration.ofSeconds(30);

  private static PairController cachedController() {
    return PairKit.builder().trackSize(TS)
        .trackCache(TrackCacheConfig.defaults().withCapacity(64 * TS)).build();
  }

  private static byte[] random(long seed, int length) {
    byte[] b = new byte[length];
    new Random(seed).nextBytes(b);
    return b;
  }

  private static byte[] readAll(HostVolume v) {
    return v.read(0, Math.toIntExact(v.size()));
  }

  private static byte[] readAll(MemoryVolume v) {
    ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(v.size()));
    v.read(0, b);
    return b.array();
  }

  @Test
  void pairsCopyThroughTheCacheAndFlushLeavesBackendsComplete() throws Exception {
    long nativeBefore = TrackCache.liveNativeBytes();
    MemoryVolume backendP = new MemoryVolume("p", 256L * TS);
    MemoryVolume backendS = new MemoryVolume("s", 256L * TS);
    try (PairController pk = cachedController()) {
      HostVolume p = pk.attachVolume(backendP);
      HostVolume s = pk.attachVolume(backendS);
      p.write(0, random(1, (int) p.size()));
      VolumePair pair = pk.createVolumePair("c", p, s);
      pair.initialCopy().await(WAIT);
      pair.split().await(WAIT);
      p.write(10 * TS, random(2, TS));
      for (int i = 0; i < 20; i++) {
        p.read(10 * TS, 100); // hits
      }
      CacheStats stats = pk.cacheStats();
      assertTrue(stats.enabled());
      assertEquals(64, stats.slots());
      assertTrue(stats.hits() >= 20, stats.toString());
      assertTrue(stats.evictions() > 0, "256 tracks through 64 slots must evict: " + stats);
      pk.flush();
      assertEquals(0, pk.cacheStats().dirtySlots());
      assertArrayEquals(readAll(p), readAll(backendP));
      assertArrayEquals(readAll(s), readAll(backendS));
      assertEquals(nativeBefore + 64L * TS, TrackCache.liveNativeBytes());
    }
    assertEquals(nativeBefore, TrackCache.liveNativeBytes(), "close releases the slots");
  }

  @Test
  void closeDestagesWhatWasDirty() throws Exception {
    MemoryVolume backend = new MemoryVolume("v", 64L * TS);
    byte[] data = random(3, 3 * TS);
    try (PairController pk = cachedController()) {
      pk.attachVolume(backend).write(TS + 1, data);
    }
    ByteBuffer back = ByteBuffer.allocate(data.length);
    backend.reopen().read(TS + 1, back);
    assertArrayEquals(data, back.array());
  }

  @Test
  void withoutACacheStatsSaySo() {
    try (PairController pk = PairKit.builder().build()) {
      assertFalse(pk.cacheStats().enabled());
    }
  }
}
