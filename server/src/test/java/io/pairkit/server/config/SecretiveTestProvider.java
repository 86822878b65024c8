package io.pairkit.server.config;

import io.pairkit.api.spi.ProviderContext;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.VolumeProvider;
import io.pairkit.api.spi.VolumeSpec;
import io.pairkit.testkit.MemoryVolume;
import java.util.Set;

/** A test backend with a secret property, to check that configurations never hold it inline. */
public final class SecretiveTestProvider implements VolumeProvider {
  @Override
  public String type() {
    return "secretive-test";
  }

  @Override
  public Set<String> secretProperties() {
    return Set.of("password");
  }

  @Override
  public Volume open(VolumeSpec spec, ProviderContext context) {
    return new MemoryVolume(spec.name(), spec.sizeProperty("size").orElse(1L << 20));
  }
}
