package io.pairkit.server;

import io.pairkit.api.error.VolumeConfigException;
import io.pairkit.api.spi.ProviderContext;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.VolumeProvider;
import io.pairkit.api.spi.VolumeSpec;
import io.pairkit.core.registry.VolumeProviders;
import io.pairkit.server.config.DaemonConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The backends as pairkitd hands them to its controller. Durable pairs reopen their volumes at
 * start from the spec they recorded, which holds no secrets; this wrapper puts the configured
 * volume in its place: a recorded spec of a configured volume opens with the configuration's
 * spec (secrets included) if the two agree on everything else, and is refused, naming both,
 * if the configuration moved the volume (another type, path or member) while a pair holds it.
 */
final class ConfiguredProviders {
  private ConfiguredProviders() {
  }

  static VolumeProviders of(DaemonConfig config) {
    VolumeProviders loaded = VolumeProviders.load(ConfiguredProviders.class.getClassLoader());
    Map<String, VolumeSpec> configured = new HashMap<>();
    for (DaemonConfig.VolumeConfig v : config.volumes()) {
      configured.put(v.spec().name(), v.spec());
    }
    List<VolumeProvider> wrapped = new ArrayList<>();
    for (String type : loaded.types()) {
      wrapped.add(new Configured(loaded.get(type, "-"), configured, config.source()));
    }
    return VolumeProviders.of(wrapped.toArray(new VolumeProvider[0]));
  }

  private static final class Configured implements VolumeProvider {
    private final VolumeProvider delegate;
    private final Map<String, VolumeSpec> configured;
    private final Path source;

    Configured(VolumeProvider delegate, Map<String, VolumeSpec> configured, Path source) {
      this.delegate = delegate;
      this.configured = configured;
      this.source = source;
    }

    @Override
    public String type() {
      return delegate.type();
    }

    @Override
    public VolumeSpec reopenSpec(VolumeSpec opened) {
      return delegate.reopenSpec(opened);
    }

    @Override
    public Set<String> secretProperties() {
      return delegate.secretProperties();
    }

    @Override
    public Volume open(VolumeSpec spec, ProviderContext context) throws IOException {
      VolumeSpec mine = configured.get(spec.name());
      if (mine == null || mine.equals(spec)) {
        return delegate.open(spec, context); // not configured (a member), or opened as configured
      }
      // A recorded spec: the configuration must describe the same volume.
      Map<String, String> expected = new HashMap<>(delegate.reopenSpec(mine).properties());
      expected.keySet().removeAll(delegate.secretProperties());
      Map<String, String> recorded = new HashMap<>(spec.properties());
      recorded.keySet().removeAll(delegate.secretProperties());
      if (!mine.type().equals(spec.type()) || !expected.equals(recorded)) {
        throw new VolumeConfigException("volume '" + spec.name() + "' is held by a durable pair "
            + "that recorded it as type " + spec.type() + " " + recorded + ", but " + source
            + " now says type " + mine.type() + " " + expected + ". Put the recorded settings "
            + "back, or delete its pairs before moving the volume");
      }
      return delegate.open(delegate.reopenSpec(mine), context);
    }

    @Override
    public void close() {
      delegate.close();
    }
  }
}
