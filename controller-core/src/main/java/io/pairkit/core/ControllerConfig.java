package io.pairkit.core;

import com.google.common.base.Preconditions;
import io.pairkit.core.cache.TrackCacheConfig;

/**
 * Engine settings. Immutable; build with {@link PairKit#builder()}.
 *
 * @param copyThreads          threads that run background copies (requests and the mirror)
 * @param copyBytesPerSecond   cap on background copy traffic in bytes/s, 0 for none; host I/O and
 *                             copy-on-write are never paced
 * @param maxTracksInFlight    cap on tracks being copied at once by background copies
 * @param maxPairsPerPrimary   how many pairs one primary volume may have
 * @param trackCache           the track cache, or null for none (I/O goes straight to backends)
 */
public record ControllerConfig(
    int copyThreads, long copyBytesPerSecond, int maxTracksInFlight, int maxPairsPerPrimary,
    TrackCacheConfig trackCache) {

  public ControllerConfig {
    Preconditions.checkArgument(copyThreads >= 1, "copyThreads must be >= 1, got %s", copyThreads);
    Preconditions.checkArgument(copyBytesPerSecond >= 0,
        "copyBytesPerSecond must be >= 0 (0 = unlimited), got %s", copyBytesPerSecond);
    Preconditions.checkArgument(maxTracksInFlight >= 1,
        "maxTracksInFlight must be >= 1, got %s", maxTracksInFlight);
    Preconditions.checkArgument(maxPairsPerPrimary >= 1 && maxPairsPerPrimary <= 64,
        "maxPairsPerPrimary must be 1..64, got %s", maxPairsPerPrimary);
  }

  /** Two copy threads, no rate cap, 8 tracks in flight, 8 pairs per primary, no cache. */
  public static ControllerConfig defaults() {
    return new ControllerConfig(2, 0, 8, 8, null);
  }
}
