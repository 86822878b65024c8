package io.pairkit.testkit;

import io.pairkit.testkit.AbstractVolumeContractTest;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.VolumeCapabilities;

/** The contract on a memory volume that is not thin, fences, and has 512-byte blocks. */
class ThickFencedMemoryVolumeContractTest extends AbstractVolumeContractTest {
  private static final VolumeCapabilities CAPS = MemoryVolume.DEFAULT_CAPABILITIES
      .withThin(false).withFencing(true).withAlignment(512).withConcurrency(1);

  @Override
  protected Volume createVolume(String name, long size) {
    return new MemoryVolume(name, size, CAPS);
  }

  @Override
  protected boolean supportsReopen() {
    return true;
  }

  @Override
  protected Volume reopen(Volume closed) {
    return ((MemoryVolume) closed).reopen();
  }

  @Override
  protected Volume openSecondWriter(Volume open) {
    return ((MemoryVolume) open).reopen();
  }
}
