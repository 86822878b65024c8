package io.pairkit.testkit;

import io.pairkit.testkit.AbstractVolumeContractTest;
import io.pairkit.api.spi.Volume;

/** The contract on a volatile write cache over a memory volume. */
class VolatileCacheVolumeContractTest extends AbstractVolumeContractTest {
  @Override
  protected Volume createVolume(String name, long size) {
    return new VolatileCacheVolume(new MemoryVolume(name, size));
  }

  @Override
  protected boolean supportsReopen() {
    return true;
  }

  @Override
  protected Volume reopen(Volume closed) throws Exception {
    return ((VolatileCacheVolume) closed).reopen();
  }
}
