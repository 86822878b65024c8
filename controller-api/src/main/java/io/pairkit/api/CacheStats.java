package io.pairkit.api;

/**
 * Counters of the controller's track cache (all zero when the cache is off). Immutable; each
 * counter is read on its own, so under load they are not one atomic snapshot.
 *
 * @param enabled       whether a track cache is configured
 * @param capacityBytes off-heap bytes of all slots
 * @param slots         number of track slots
 * @param hits          reads and writes served by a slot already holding the track
 * @param misses        reads and writes that had to load or allocate a slot
 * @param dirtySlots    slots holding data not yet on the backend
 * @param destagedBytes bytes written from slots to backends
 * @param evictions     clean slots reused for another track
 */
public record CacheStats(boolean enabled, long capacityBytes, long slots, long hits, long misses,
    long dirtySlots, long destagedBytes, long evictions) {

  /** The stats of a controller without a cache. */
  public static CacheStats disabled() {
    return new CacheStats(false, 0, 0, 0, 0, 0, 0, 0);
  }

  /** Sum of two caches' counters (for example of several controllers). */
  public CacheStats plus(CacheStats o) {
    return new CacheStats(enabled || o.enabled, capacityBytes + o.capacityBytes, slots + o.slots,
        hits + o.hits, misses + o.misses, dirtySlots + o.dirtySlots,
        destagedBytes + o.destagedBytes, evictions + o.evictions);
  }
}
