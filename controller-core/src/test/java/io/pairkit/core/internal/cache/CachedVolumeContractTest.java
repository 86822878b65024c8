package io.pairkit.core.internal.cache;

import io.pairkit.core.cache.TrackCacheConfig;
import io.pairkit.testkit.AbstractVolumeContractTest;
import io.pairkit.api.spi.Volume;
import io.pairkit.testkit.MemoryVolume;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Nested;

/** The volume contract holds through the cache: write-back, write-through, and a tiny cache. */
class CachedVolumeContractTest {

  abstract static class Base extends AbstractVolumeContractTest {
    private final List<TrackCache> caches = new ArrayList<>();

    abstract TrackCacheConfig config();

    @Override
    protected Volume createVolume(String name, long size) {
      TrackCache cache = new TrackCache(config(), TRACK);
      caches.add(cache);
      return cache.wrap(new MemoryVolume(name, size));
    }

    @Override
    protected boolean supportsReopen() {
      return true;
    }

    /** Reopens the backend (what survived close) behind a fresh cache. */
    @Override
    protected Volume reopen(Volume closed) {
      CachedVolume c = (CachedVolume) closed;
      TrackCache cache = new TrackCache(config(), TRACK);
      caches.add(cache);
      return cache.wrap(((MemoryVolume) c.backend()).reopen());
    }

    @AfterEach
    void releaseCaches() {
      caches.forEach(TrackCache::close);
    }
  }

  @Nested
  class WriteBack extends Base {
    @Override
    TrackCacheConfig config() {
      return TrackCacheConfig.defaults().withCapacity(1L << 20);
    }
  }

  @Nested
  class WriteThrough extends Base {
    @Override
    TrackCacheConfig config() {
      return TrackCacheConfig.defaults().withCapacity(1L << 20).withWriteThrough(true);
    }
  }

  @Nested
  class SixteenSlots extends Base {
    @Override
    TrackCacheConfig config() {
      return TrackCacheConfig.defaults().withCapacity(16 * 4096);
    }
  }
}
