package io.pairkit.core;

import io.pairkit.api.PairController;
import io.pairkit.core.cache.TrackCacheConfig;
import io.pairkit.core.engine.DefaultPairController;

/**
 * Builds PairKit controllers.
 *
 * <pre>{@code
 * try (PairController pk = PairKit.builder().copyBytesPerSecond(200_000_000).build()) {
 *   HostVolume p = pk.openVolume(VolumeSpec.builder("p", "file").property("path", "p.img")
 *       .build());
 *   ...
 * }
 * }</pre>
 */
public final class PairKit {
  private PairKit() {
  }

  /** A controller with default settings and the backends found on the class path. */
  public static PairController controller() {
    return builder().build();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Configures a controller; every setting has a default (see {@link ControllerConfig}). */
  public static final class Builder {
    private final ControllerConfig defaults = ControllerConfig.defaults();
    private int copyThreads = defaults.copyThreads();
    private long copyBytesPerSecond = defaults.copyBytesPerSecond();
    private int maxTracksInFlight = defaults.maxTracksInFlight();
    private int maxPairsPerPrimary = defaults.maxPairsPerPrimary();
    private TrackCacheConfig trackCache;
    private VolumeProviders providers;
    private RequestInstantObserver observer;

    private Builder() {
    }

    public Builder copyThreads(int n) {
      this.copyThreads = n;
      return this;
    }

    /** Cap on background copy traffic in bytes per second; 0 (the default) for none. */
    public Builder copyBytesPerSecond(long rate) {
      this.copyBytesPerSecond = rate;
      return this;
    }

    public Builder maxTracksInFlight(int n) {
      this.maxTracksInFlight = n;
      return this;
    }

    public Builder maxPairsPerPrimary(int n) {
      this.maxPairsPerPrimary = n;
      return this;
    }

    /**
     * Puts an off-heap track cache between the engine and the backends (see
     * {@link TrackCacheConfig}; {@code TrackCacheConfig.defaults()} is 256 MiB write-back). Needs
     * the JVM flags of chronicle-bytes listed in the README. Off by default.
     */
    public Builder trackCache(TrackCacheConfig config) {
      this.trackCache = config;
      return this;
    }

    /** Backends to use instead of those found with {@link java.util.ServiceLoader}. */
    public Builder providers(VolumeProviders providers) {
      this.providers = providers;
      return this;
    }

    /** See {@link RequestInstantObserver}. */
    public Builder requestInstantObserver(RequestInstantObserver observer) {
      this.observer = observer;
      return this;
    }

    public PairController build() {
      ControllerConfig config = new ControllerConfig(copyThreads, copyBytesPerSecond,
          maxTracksInFlight, maxPairsPerPrimary, trackCache);
      VolumeProviders p = providers;
      if (p == null) {
        ClassLoader cl = Thread.currentThread().getContextClassLoader();
        p = VolumeProviders.load(cl != null ? cl : PairKit.class.getClassLoader());
      }
      return new DefaultPairController(config, p, observer);
    }
  }
}
