package io.pairkit.testkit.pairs;

import io.pairkit.api.spi.Volume;
import io.pairkit.testkit.MemoryVolume;
import java.util.List;
import java.util.stream.LongStream;

/** The pair-semantics suite over memory volumes: the most seeds, as these runs are the fastest. */
class MemoryVolumePairSemanticsTest extends AbstractPairSemanticsTest {
  @Override
  protected Volume createVolume(String name, long size) {
    return new MemoryVolume(name, size);
  }

  @Override
  protected List<Long> seeds() {
    return List.of(1L, 2L, 3L, 4L);
  }

  @Override
  protected List<Long> trackCacheSeeds() {
    return List.of(200L);
  }

  /** Soak seeds are shared out between memory and file volumes, with and without the cache. */
  @Override
  protected List<Long> soakSeeds() {
    return LongStream.range(1000, 1040).filter(s -> s % 4 == 3).boxed().toList();
  }

  @Override
  protected List<Long> soakTrackCacheSeeds() {
    return LongStream.range(1000, 1040).filter(s -> s % 4 == 1).boxed().toList();
  }
}
