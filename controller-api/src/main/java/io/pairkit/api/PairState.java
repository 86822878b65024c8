package io.pairkit.api;

/**
 * A pair's state. Derived from what the pair holds (split extents, copies still running, a failed
 * copy), so it is always consistent with the bitmaps. A pair whose controller closed keeps the
 * state it had at the close.
 */
public enum PairState {
  /**
   * Initial copy of the scope is running (or a resume of it); the secondary is not yet a copy.
   */
  FORMING,
  /** Mirrored: host writes to the primary are copied to the secondary in the background. */
  FORMED,
  /** A split was requested; the secondary already reads as the split image, the copy drains. */
  SPLITTING,
  /** The whole scope is frozen at its split instant (extent updates may be running). */
  SPLIT,
  /**
   * A resync was requested; differences are copied and the pair returns to FORMED. Also shown
   * while a resume re-copies a volume or extent pair that had been formed.
   */
  RESYNCING,
  /** Some extents were split and their copy is draining (extent split pair). */
  EXTENT_SPLITTING,
  /** Some extents are frozen at their split instant, the rest is mirrored (extent split pair). */
  EXTENT_SPLIT,
  /**
   * Some frozen extents are being joined back into the mirror (extent split pair). Also shown while
   * a resume re-copies an extent split pair that had been formed and has nothing split.
   */
  EXTENT_JOINING,
  /**
   * A restore is copying the secondary's split image back to the primary (reverse resync). The
   * primary stays online: reads of a part not yet restored restore it first, host writes win. Back
   * to SPLIT (or EXTENT_SPLIT) when done; see {@link Pair#restore}.
   */
  RESTORING,
  /**
   * A background copy failed (backend error, after the transient retries). Differences are still
   * tracked and nothing is lost; the mirror rests, requests already running go on, and every new
   * request but {@link Pair#resume()} is refused. Fix the backend and call {@code resume()}.
   */
  SUSPENDED,
  /** The pair was deleted; its volumes are plain volumes again. */
  DELETED
}
