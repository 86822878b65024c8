package com.example.store;

import io.pairkit.api.spi.Volume;
import io.pairkit.testkit.pairs.AbstractPairSemanticsTest;
import java.util.List;

/**
 * PairKit's pair semantics (every strategy and mirror mode, racing host writes, a reference
 * model), run with this product's backend under both volumes of the pair: one seed straight over
 * the volumes and one through PairKit's track cache.
 */
class ArrayVolumePairSemanticsTest extends AbstractPairSemanticsTest {
  @Override
  protected Volume createVolume(String name, long size) {
    return new ArrayVolume(name, size);
  }

  @Override
  protected List<Long> seeds() {
    return List.of(7L);
  }

  @Override
  protected List<Long> trackCacheSeeds() {
    return List.of(8L);
  }
}
