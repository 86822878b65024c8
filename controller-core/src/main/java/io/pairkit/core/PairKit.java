package io.pairkit.core;

import io.pairkit.api.PairController;
import io.pairkit.core.cache.TrackCacheConfig;
import io.pairkit.core.config.ControllerConfig;
import io.pairkit.core.engine.DefaultPairController;
import io.pairkit.core.registry.VolumeProviders;
import java.time.Duration;

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
 *
 * <p>Threading: a builder is for one thread; the controllers it builds are thread-safe.
 */
public final class PairKit {
  private PairKit() {
  }

  /**
   * A controller with default settings and the backends found on the class path.
   *
   * @throws io.pairkit.api.error.VolumeConfigException if two backends claim one type
   */
  public static PairController controller() {
    return builder().build();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Configures a controller; every setting has a default (see {@link ControllerConfig}). */
  public static final class Builder {
    private final ControllerConfig defaults = ControllerConfig.defaults();
    private int trackSize = defaults.trackSize();
    private int copyThreads = defaults.copyThreads();
    private long copyBytesPerSecond = defaults.copyBytesPerSecond();
    private int maxTracksInFlight = defaults.maxTracksInFlight();
    private int maxPairsPerPrimary = defaults.maxPairsPerPrimary();
    private int transientRetries = defaults.transientRetries();
    private Duration retryBackoff = defaults.retryBackoff();
    private TrackCacheConfig trackCache;
    private VolumeProviders providers;

    private Builder() {
    }

    /**
     * The tracking and copy unit of every pair: a power of two from 4 KiB to 16 MiB; default
     * 64 KiB. Smaller tracks copy less after small writes; larger ones need smaller bitmaps.
     */
    public Builder trackSize(int bytes) {
      this.trackSize = bytes;
      return this;
    }

    /**
     * Threads that move background copy I/O (default 8). A copy keeps as many I/Os in flight as
     * its volumes' declared concurrency, up to this many.
     */
    public Builder copyThreads(int n) {
      this.copyThreads = n;
      return this;
    }

    /** Cap on background copy traffic in bytes per second; 0 (the default) for none. */
    public Builder copyBytesPerSecond(long rate) {
      this.copyBytesPerSecond = rate;
      return this;
    }

    /**
     * Cap on tracks being copied at once by background copies, over all pairs (default 4096).
     * Copies are also bounded by {@code copyThreads} runs of the volumes' preferred I/O size.
     */
    public Builder maxTracksInFlight(int n) {
      this.maxTracksInFlight = n;
      return this;
    }

    /** How many pairs one primary may have (1..64, default 8). */
    public Builder maxPairsPerPrimary(int n) {
      this.maxPairsPerPrimary = n;
      return this;
    }

    /**
     * How often a transient backend failure (throttled, briefly unreachable) is retried before it
     * counts as permanent, and the first wait (doubled each time, up to 2 s). Default: 6 retries
     * from 50 ms.
     */
    public Builder transientRetries(int retries, Duration firstBackoff) {
      this.transientRetries = retries;
      this.retryBackoff = firstBackoff;
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

    /**
     * Backends to use instead of those found with {@link java.util.ServiceLoader}. They stay the
     * caller's: the controller does not close them (it closes the ones it loads itself).
     */
    public Builder providers(VolumeProviders providers) {
      this.providers = providers;
      return this;
    }

    /** The settings this builder holds, validated. */
    public ControllerConfig config() {
      return new ControllerConfig(trackSize, copyThreads, copyBytesPerSecond, maxTracksInFlight,
          maxPairsPerPrimary, transientRetries, retryBackoff, trackCache);
    }

    /**
     * Builds the controller.
     *
     * @throws io.pairkit.api.error.ControllerConfigException if a setting is out of range or the
     *     track cache cannot be built (for example without the chronicle-bytes JVM flags)
     * @throws io.pairkit.api.error.VolumeConfigException if two backends claim one type
     */
    public PairController build() {
      ControllerConfig config = config();
      if (providers != null) {
        return DefaultPairController.create(config, providers, false);
      }
      ClassLoader cl = Thread.currentThread().getContextClassLoader();
      VolumeProviders loaded = VolumeProviders.load(cl != null ? cl : PairKit.class.getClassLoader());
      try {
        return DefaultPairController.create(config, loaded, true);
      } catch (RuntimeException e) {
        loaded.close();
        throw e;
      }
    }
  }
}
