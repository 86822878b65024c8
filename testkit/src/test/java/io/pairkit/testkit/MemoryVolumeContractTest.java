package io.pairkit.testkit;

import io.pairkit.testkit.AbstractVolumeContractTest;
import io.pairkit.api.spi.Volume;

/** The contract on a thin memory volume with default capabilities. */
class MemoryVolumeContractTest extends AbstractVolumeContractTest {
  @Override
  protected Volume createVolume(String name, long size) {
    return new MemoryVolume(name, size);
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
