package io.pairkit.api.testing;

import io.pairkit.api.spi.AbstractVolumeContractTest;
import io.pairkit.api.spi.Volume;

class MemoryVolumeContractTest extends AbstractVolumeContractTest {
  @Override
  protected Volume createVolume(String name, long size, int trackSize) {
    return new MemoryVolume(name, size, trackSize);
  }

  @Override
  protected boolean supportsReopen() {
    return true;
  }

  @Override
  protected Volume reopen(Volume closed) {
    return ((MemoryVolume) closed).reopen();
  }
}
