package io.pairkit.core;

import static io.pairkit.core.Rig.WAIT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.CacheStats;
import io.pairkit.api.HostVolume;
import io.pairkit.api.VolumePair;
import io.pairkit.api.testing.MemoryVolume;
import io.pairkit.core.cache.TrackCache;
import io.pairkit.core.cache.TrackCacheConfig;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The track cache under a controller: pairs work through it, stats show it, close frees it. */
@Timeout(60)
class ControllerCacheTest {
  private static final int TS = 4096;

  @Test
  void pairsCopyThroughTheCacheAndFlushLeavesBackendsComplete() throws Exception {
    long nativeBefore = TrackCache.liveNativeBytes();
    MemoryVolume backendP = new MemoryVolume("p", 256L * TS, TS);
    MemoryVolume backendS = new MemoryVolume("s", 256L * TS, TS);
    try (Rig rig = new Rig(PairKit.builder()
        .trackCache(TrackCacheConfig.defaults().withCapacity(64 * TS)), false)) {
      HostVolume p = rig.attach(backendP);
      HostVolume s = rig.attach(backendS);
      Rig.fill(p, 1);
      VolumePair pair = rig.pk.createVolumePair("c", p, s);
      pair.initialCopy().await(WAIT);
      pair.split().await(WAIT);
      p.write(10 * TS, Rig.random(2, TS));
      for (int i = 0; i < 20; i++) {
        p.read(10 * TS, 100); // hits
      }
      CacheStats stats = rig.pk.cacheStats();
      assertTrue(stats.enabled());
      assertEquals(64, stats.slots());
      assertTrue(stats.hits() >= 20, stats.toString());
      assertTrue(stats.evictions() > 0, "256 tracks through 64 slots must evict: " + stats);
      rig.pk.flush();
      assertEquals(0, rig.pk.cacheStats().dirtySlots());
      assertArrayEquals(Rig.readAll(p), Rig.readAll(backendP));
      assertArrayEquals(Rig.readAll(s), Rig.readAll(backendS));
      assertEquals(nativeBefore + 64L * TS, TrackCache.liveNativeBytes());
    }
    assertEquals(nativeBefore, TrackCache.liveNativeBytes(), "close releases the slots");
  }

  @Test
  void closeDestagesWhatWasDirty() throws Exception {
    MemoryVolume backend = new MemoryVolume("v", 64L * TS, TS);
    byte[] data = Rig.random(3, 3 * TS);
    try (Rig rig = new Rig(PairKit.builder()
        .trackCache(TrackCacheConfig.defaults().withCapacity(64 * TS)), false)) {
      rig.attach(backend).write(TS + 1, data);
    }
    ByteBuffer back = ByteBuffer.allocate(data.length);
    backend.reopen().read(TS + 1, back);
    assertArrayEquals(data, back.array());
  }

  @Test
  void withoutACacheStatsSaySo() {
    try (Rig rig = new Rig(false)) {
      assertFalse(rig.pk.cacheStats().enabled());
    }
  }
}
