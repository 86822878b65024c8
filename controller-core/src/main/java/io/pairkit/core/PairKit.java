package io.pairkit.core;

import io.pairkit.api.PairController;
import io.pairkit.core.cache.TrackCacheConfig;
import io.pairkit.core.config.ControllerConfig;
import io.pairkit.core.internal.engine.DefaultPairController;
import io.pairkit.core.registry.VolumeProviders;
import java.time.Duration;

/**
 * Builds PairKit controllers: the entry point of the engine.
 *
 * <pre>{@code
 * try (PairController pk = PairKit.builder().copyBytesPerSecond(200_000_000).build()) {
 *   HostVolume p = pk.openVolume(VolumeSpec.builder("p", "file").property("path", "p.img")
 *       .build());
 *   ...
 * }
 * }</pre>
 *
 * <p>Threading: {@link #controller()} and {@link #builder()} may be called from any thread; a
 * builder is for one thread; the controllers it builds are thread-safe. Each controller has its
 * own copy threads, event thread, track cache and (unless given with {@link Builder#providers})
 * its own backend providers, all released by its {@code close()}. A build that throws leaves
 * nothing open or running.
 */
public final class PairKit {
  private PairKit() {
  }

  /**
   * A controller with default settings (see {@link ControllerConfig#defaults()}) and the backends
   * found on the class path.
   *
   * @throws io.pairkit.api.error.VolumeConfigException if a backend fails to load or two claim
   *     one type
   */
  public static PairController controller() {
    return builder().build();
  }

  /** A builder holding the default settings. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Configures a controller; every setting has a default (see {@link ControllerConfig}). Setters
   * only record the value: {@link #config()} and {@link #build()} validate them all. For one
   * thread; it may build several controllers.
   */
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
    private java.nio.file.Path metadataDirectory;
    private Duration lazyClearDelay = defaults.lazyClearDelay();
    private long writeIntentRegionSize = defaults.writeIntentRegionSize();
    private io.pairkit.api.MirrorMode mirrorMode = defaults.mirrorMode();
    private VolumeProviders providers;

    private Builder() {
    }

    /**
     * The tracking and copy unit of every pair of the controller: a power of two from 4 KiB to
     * 16 MiB; default 64 KiB. It belongs to the controller, not to volumes: volume specs carry no
     * track size, and a volume whose block size (alignment) is larger is refused when opened.
     * Smaller tracks copy less after small writes; larger ones need smaller bitmaps.
     */
    public Builder trackSize(int bytes) {
      this.trackSize = bytes;
      return this;
    }

    /**
     * Threads that move background copy I/O, shared by all pairs (1..256, default 8). A worker
     * takes its next copy run from a request before the mirrors, so requests are not held up by
     * mirror work. A pair's copy keeps as many runs in flight as its volumes' declared concurrency,
     * up to this many.
     */
    public Builder copyThreads(int n) {
      this.copyThreads = n;
      return this;
    }

    /**
     * Cap on background copy traffic in bytes per second, over all pairs; 0 (the default) for
     * none. Host I/O and copy-on-write are never paced. A request needing T seconds of copying at
     * this rate finishes in about T plus one copy run, whatever the mirror has to do.
     */
    public Builder copyBytesPerSecond(long rate) {
      this.copyBytesPerSecond = rate;
      return this;
    }

    /**
     * Cap on tracks being copied at once by background copies, over all pairs (at least 1,
     * default 4096); it also caps the tracks in one copy run. Copies are also bounded by
     * {@code copyThreads} runs of the volumes' preferred I/O size.
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
     * How often a transient backend failure (a {@code TransientIOException}: throttled, briefly
     * unreachable) is retried before it counts as permanent (0..100), and the first wait (at
     * least 0; doubled each time, up to 2 s). Default: 6 retries from 50 ms. It applies to every
     * backend call: host I/O waits through the retries, and only a failure that remains reaches
     * the host as a {@code VolumeIOException} or suspends the pair of a background copy.
     */
    public Builder transientRetries(int retries, Duration firstBackoff) {
      this.transientRetries = retries;
      this.retryBackoff = firstBackoff;
      return this;
    }

    /**
     * Puts an off-heap track cache between the engine and the backends, one slot per track (see
     * {@link TrackCacheConfig}; {@code TrackCacheConfig.defaults()} is 256 MiB write-back). Needs
     * the JVM flags of chronicle-bytes listed in the README. Off by default; null turns it off.
     */
    public Builder trackCache(TrackCacheConfig config) {
      this.trackCache = config;
      return this;
    }

    /**
     * Makes pairs durable: their table, requests and difference bits go to a journal and
     * checkpoints in {@code directory} (created if missing; one controller at a time), and a
     * controller built again on it restores every pair, reopens its volumes by their specs and
     * restarts unfinished copies, after a crash too, copying again only what may differ
     * (docs/RELIABILITY.md). Off by default: pairs then live in memory only.
     */
    public Builder metadataDirectory(java.nio.file.Path directory) {
      this.metadataDirectory = directory;
      return this;
    }

    /**
     * The period of the metadata's lazy rounds (default 2 s): each round makes the copies since
     * the last one durable and records them, and records a write-intent region clean once it
     * saw no host write for a whole round. After a crash, what was copied within the last round
     * and the dirty regions are examined again.
     */
    public Builder lazyClearDelay(Duration delay) {
      this.lazyClearDelay = delay;
      return this;
    }

    /**
     * Bytes per write-intent region of durable pairs (default 8 MiB; a power of two, at least
     * the track size): the first host write to a clean region waits for one metadata sync, later
     * ones wait for nothing until the region was quiet for a round; after a crash every track of
     * a dirty region counts as different. Larger regions sync less on scattered writes and
     * examine more after a crash (docs/RELIABILITY.md has the figures).
     */
    public Builder writeIntentRegionSize(long bytes) {
      this.writeIntentRegionSize = bytes;
      return this;
    }

    /**
     * How pairs created with {@code MirrorMode.AUTOMATIC} (the default of
     * {@link io.pairkit.api.PairOptions}) mirror. {@code AUTOMATIC} (the default) chooses per
     * secondary: synchronous for a local one (host writes go to both volumes, like md RAID-1),
     * asynchronous for a remote one (an object store). {@code SYNCHRONOUS} or
     * {@code ASYNCHRONOUS} fixes it for all of them.
     */
    public Builder mirrorMode(io.pairkit.api.MirrorMode mode) {
      this.mirrorMode = mode;
      return this;
    }

    /**
     * Backends to use instead of those found with {@link java.util.ServiceLoader}; null goes back
     * to the class path. They stay the caller's: the controller does not close them (it closes the
     * ones it loads itself), and several controllers may share them.
     */
    public Builder providers(VolumeProviders providers) {
      this.providers = providers;
      return this;
    }

    /**
     * The settings this builder holds, validated.
     *
     * @throws io.pairkit.api.error.ControllerConfigException if a setting is out of range; the
     *     message names it
     */
    public ControllerConfig config() {
      return new ControllerConfig(trackSize, copyThreads, copyBytesPerSecond, maxTracksInFlight,
          maxPairsPerPrimary, transientRetries, retryBackoff, trackCache, metadataDirectory,
          lazyClearDelay, writeIntentRegionSize, mirrorMode);
    }

    /**
     * Builds the controller.
     *
     * @throws io.pairkit.api.error.ControllerConfigException if a setting is out of range or the
     *     track cache cannot be built (for example without the chronicle-bytes JVM flags, or with
     *     room for fewer than 16 tracks)
     * @throws io.pairkit.api.error.VolumeConfigException if a backend on the class path fails to
     *     load or two claim one type
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
