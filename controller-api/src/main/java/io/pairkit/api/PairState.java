package io.pairkit.api;

/**
 * A pair's state. Derived from what the pair holds (split extents, copies still running, a failed
 * copy), so it is always consistent with the bitmaps.
 */
public enum PairState {
  /** Initial copy of the scope is running; the secondary is not yet a copy. */
  FORMING,
  /** Mirrored: host writes to the primary are copied to the secondary in the background. */
  FORMED,
  /** A split was requested; the secondary already reads as the split image, the copy drains. */
  SPLITTING,
  /** The whole scope is frozen at its split instant (extent updates may be running). */
  SPLIT,
  /** A resync was requested; differences are copied and the pair returns to FORMED. */
  RESYNCING,
  /** Some extents were split and their copy is draining (extent split pair). */
  EXTENT_SPLITTING,
  /** Some extents are frozen at their split instant, the rest is mirrored (extent split pair). */
  EXTENT_SPLIT,
  /** Some frozen extents are being joined back into the mirror (extent split pair). */
  EXTENT_JOINING,
  /**
   * A background copy failed (backend error). Differences are still tracked and nothing is lost;
   * fix the backend and call {@link Pair#resume()}.
   */
  SUSPENDED,
  /** The pair was deleted; its volumes are plain volumes again. */
  DELETED
}
