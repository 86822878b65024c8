package com.example.store;

import io.pairkit.api.spi.ProviderContext;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.VolumeProvider;
import io.pairkit.api.spi.VolumeSpec;

/** Type {@code array}: property {@code size}. */
public final class ArrayVolumeProvider implements VolumeProvider {
  @Override
  public String type() {
    return "array";
  }

  @Override
  public Volume open(VolumeSpec spec, ProviderContext context) {
    return new ArrayVolume(spec.name(), spec.sizeProperty("size").orElseThrow(
        () -> new IllegalArgumentException("array volume '" + spec.name() + "' needs size")));
  }
}
