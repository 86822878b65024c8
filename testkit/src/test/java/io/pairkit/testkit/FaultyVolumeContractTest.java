package io.pairkit.testkit;

import io.pairkit.testkit.AbstractVolumeContractTest;
import io.pairkit.api.spi.Volume;

/** With no fault set, the fault injector is a transparent volume. */
class FaultyVolumeContractTest extends AbstractVolumeContractTest {
  @Override
  protected Volume createVolume(String name, long size) {
    return new FaultyVolume(new MemoryVolume(name, size));
  }

  @Override
  protected boolean supportsReopen() {
    return true;
  }

  @Override
  protected Volume reopen(Volume closed) {
    return new FaultyVolume(((MemoryVolume) ((FaultyVolume) closed).delegate()).reopen());
  }
}
