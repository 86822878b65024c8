/**
 * Internal: the track cache (the patent's cache memory), configured through
 * {@link io.pairkit.core.cache.TrackCacheConfig}: off-heap slots of one track each, allocated with
 * chronicle-bytes, between the engine and the backends.
 *
 * <ul>
 *   <li>{@link TrackCache} — the slots, the CLOCK eviction (never a dirty or
 *       busy slot), the background destager and the statistics.</li>
 *   <li>{@link CachedVolume} — a backend volume seen through the cache:
 *       write-back (or write-through), read hits from slots, {@code flush()} as a barrier.</li>
 * </ul>
 *
 * <p>A slot's lock is held across that slot's own backend I/O (load and destage), so a flush that
 * has taken every dirty slot's lock once knows every earlier write reached the backend.
 * chronicle-bytes needs the JVM flags listed in the README.
 */
package io.pairkit.core.internal.cache;
