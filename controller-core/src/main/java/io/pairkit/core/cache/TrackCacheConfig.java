package io.pairkit.core.cache;

import io.pairkit.api.error.ControllerConfigException;

/**
 * Track cache settings. Immutable, so thread-safe. The constructor checks the ranges; that the
 * capacity holds at least 16 tracks of the controller's track size is checked when the controller
 * is built ({@link io.pairkit.api.error.ControllerConfigException} then).
 *
 * @param capacityBytes  off-heap bytes for slots (one slot per track; at least 16 tracks)
 * @param writeThrough   true: a write reaches the backend before it completes (the cache only
 *                       serves reads); false (default): write-back, durable at {@code flush()}
 * @param dirtyHighWater fraction of slots that may be dirty before host writes wait for destage
 */
public record TrackCacheConfig(long capacityBytes, boolean writeThrough, double dirtyHighWater) {
  /** Default capacity: 256 MiB. */
  public static final long DEFAULT_CAPACITY = 256L << 20;

  /** @throws ControllerConfigException if capacity or high water is out of range */
  public TrackCacheConfig {
    if (capacityBytes <= 0) {
      throw new ControllerConfigException("track cache capacity must be positive, got "
          + capacityBytes + "; use e.g. 256 MiB (TrackCacheConfig.defaults())");
    }
    if (!(dirtyHighWater > 0 && dirtyHighWater <= 1)) {
      throw new ControllerConfigException("track cache dirtyHighWater must be in (0, 1], got "
          + dirtyHighWater + "; 0.75 is the default");
    }
  }

  /** Write-back, 256 MiB, writers wait when three quarters of the slots are dirty. */
  public static TrackCacheConfig defaults() {
    return new TrackCacheConfig(DEFAULT_CAPACITY, false, 0.75);
  }

  /**
   * This config with another capacity.
   *
   * @throws ControllerConfigException if {@code bytes} is not positive
   */
  public TrackCacheConfig withCapacity(long bytes) {
    return new TrackCacheConfig(bytes, writeThrough, dirtyHighWater);
  }

  /** This config, write-through if {@code on}, write-back if not. */
  public TrackCacheConfig withWriteThrough(boolean on) {
    return new TrackCacheConfig(capacityBytes, on, dirtyHighWater);
  }
}
