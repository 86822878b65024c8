package io.pairkit.core.config;

import io.pairkit.api.error.ControllerConfigException;
import io.pairkit.core.cache.TrackCacheConfig;
import java.time.Duration;

/**
 * Engine settings. Immutable, so thread-safe; the constructor validates them (so does
 * {@code PairKit.builder()}, which builds one). A controller's settings are fixed for its life.
 *
 * @param trackSize          the tracking and copy unit of every pair, in bytes: a power of two
 *                           from 4 KiB to 16 MiB (default 64 KiB). It is the controller's, the
 *                           same for every pair, and not a volume property; volumes of any
 *                           alignment up to it can be opened and paired
 * @param copyThreads        threads that move background copy I/O (requests first, then the
 *                           mirrors), 1..256; the runs in flight per copy follow the volumes'
 *                           declared concurrency, up to this many
 * @param copyBytesPerSecond cap on background copy traffic in bytes/s, 0 for none; host I/O and
 *                           copy-on-write are never paced
 * @param maxTracksInFlight  cap on tracks being copied at once by background copies, over all
 *                           pairs, and on the tracks of one copy run; at least 1
 * @param maxPairsPerPrimary how many pairs one primary volume may have (1..64)
 * @param transientRetries   how often a backend call that failed with a transient error (throttled,
 *                           briefly unreachable) is retried before the failure counts as permanent
 *                           (0..100); then host I/O fails and a background copy suspends its pair
 * @param retryBackoff       the wait before the first retry (not null, not negative); doubled for
 *                           each next one, up to 2 s
 * @param trackCache         the track cache, or null for none (I/O goes straight to backends);
 *                           checked when the controller builds the cache
 * @param metadataDirectory  where pairs are made durable (journal and checkpoints), or null to
 *                           keep them in memory only (after a restart pairs must be recreated)
 * @param lazyClearDelay     the period of the metadata's lazy rounds: copies made durable are
 *                           recorded, and a write-intent region is recorded clean once it saw
 *                           no write for a whole round (md's lazy clearing); positive
 * @param writeIntentRegionSize bytes per write-intent region (md's bitmap chunk): a durable
 *                           pair records "this region may differ" before the first host write
 *                           to it lands, and nothing for later writes until the region is clean
 *                           again; after a crash every track of a dirty region is examined again.
 *                           A power of two, at least the track size (default
 *                           {@value #DEFAULT_WRITE_INTENT_REGION_SIZE}, docs/RELIABILITY.md
 *                           says why)
 * @param mirrorMode         how pairs created with {@link io.pairkit.api.MirrorMode#AUTOMATIC}
 *                           mirror: {@code AUTOMATIC} (the default) chooses per secondary
 *                           (synchronous for a local one, asynchronous for a remote one), the
 *                           other values fix it for every such pair; not null
 */
public record ControllerConfig(
    int trackSize, int copyThreads, long copyBytesPerSecond, int maxTracksInFlight,
    int maxPairsPerPrimary, int transientRetries, Duration retryBackoff,
    TrackCacheConfig trackCache, java.nio.file.Path metadataDirectory,
    Duration lazyClearDelay, long writeIntentRegionSize,
    io.pairkit.api.MirrorMode mirrorMode) {

  /** Default track size: 64 KiB. */
  public static final int DEFAULT_TRACK_SIZE = 64 * 1024;
  /** Smallest track size: 4 KiB. */
  public static final int MIN_TRACK_SIZE = 4 * 1024;
  /** Largest track size: 16 MiB. */
  public static final int MAX_TRACK_SIZE = 16 * 1024 * 1024;
  /** Default write-intent region: 8 MiB. */
  public static final long DEFAULT_WRITE_INTENT_REGION_SIZE = 8L << 20;

  /**
   * @throws ControllerConfigException if a setting is out of range; the message names it
   */
  public ControllerConfig {
    if (trackSize < MIN_TRACK_SIZE || trackSize > MAX_TRACK_SIZE
        || Integer.bitCount(trackSize) != 1) {
      throw new ControllerConfigException("trackSize " + trackSize + " is not a power of two "
          + "from 4 KiB to 16 MiB: use e.g. 65536 (the default)");
    }
    check(copyThreads >= 1 && copyThreads <= 256, "copyThreads", copyThreads, "1..256");
    check(copyBytesPerSecond >= 0, "copyBytesPerSecond", copyBytesPerSecond,
        ">= 0 (0 = unlimited)");
    check(maxTracksInFlight >= 1, "maxTracksInFlight", maxTracksInFlight, ">= 1");
    check(maxPairsPerPrimary >= 1 && maxPairsPerPrimary <= 64, "maxPairsPerPrimary",
        maxPairsPerPrimary, "1..64");
    check(transientRetries >= 0 && transientRetries <= 100, "transientRetries",
        transientRetries, "0..100");
    if (lazyClearDelay == null || lazyClearDelay.isNegative() || lazyClearDelay.isZero()) {
      throw new ControllerConfigException("lazyClearDelay " + lazyClearDelay
          + " must be a positive duration, e.g. Duration.ofSeconds(2)");
    }
    if (writeIntentRegionSize < trackSize || Long.bitCount(writeIntentRegionSize) != 1
        || writeIntentRegionSize > (1L << 40)) {
      throw new ControllerConfigException("writeIntentRegionSize " + writeIntentRegionSize
          + " must be a power of two from the track size (" + trackSize + ") to 1 TiB, e.g. "
          + DEFAULT_WRITE_INTENT_REGION_SIZE + " (the default)");
    }
    if (mirrorMode == null) {
      throw new ControllerConfigException("mirrorMode must be AUTOMATIC (the default), "
          + "SYNCHRONOUS or ASYNCHRONOUS, got null");
    }
    if (retryBackoff == null || retryBackoff.isNegative()) {
      throw new ControllerConfigException("retryBackoff " + retryBackoff
          + " must be a duration >= 0, e.g. Duration.ofMillis(50)");
    }
  }

  private static void check(boolean ok, String name, long value, String allowed) {
    if (!ok) {
      throw new ControllerConfigException(name + " must be " + allowed + ", got " + value);
    }
  }

  /**
   * 64 KiB tracks, eight copy threads, no rate cap, 4096 tracks in flight, 8 pairs per primary,
   * six retries of transient failures from 50 ms on, no cache, no metadata directory, lazy
   * rounds every 2 s, 8 MiB write-intent regions, mirror mode chosen per secondary.
   */
  public static ControllerConfig defaults() {
    return new ControllerConfig(DEFAULT_TRACK_SIZE, 8, 0, 4096, 8, 6, Duration.ofMillis(50),
        null, null, Duration.ofSeconds(2), DEFAULT_WRITE_INTENT_REGION_SIZE,
        io.pairkit.api.MirrorMode.AUTOMATIC);
  }
}
