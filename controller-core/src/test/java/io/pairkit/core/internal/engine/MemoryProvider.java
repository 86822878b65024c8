package io.pairkit.core.internal.engine;

import io.pairkit.api.spi.ProviderContext;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.VolumeProvider;
import io.pairkit.api.spi.VolumeSpec;
import io.pairkit.testkit.MemoryVolume;
import java.util.Map;

/**
 * Type {@code mem}: hands out reopened instances of fixed memory volumes, by spec name, as a
 * restart reopens its disks.
 */
record MemoryProvider(Map<String, MemoryVolume> volumes) implements VolumeProvider {
  @Override
  public String type() {
    return "mem";
  }

  @Override
  public Volume open(VolumeSpec spec, ProviderContext context) {
    return volumes.get(spec.name()).reopen();
  }
}
