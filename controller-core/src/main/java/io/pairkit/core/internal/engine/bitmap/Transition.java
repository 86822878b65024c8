package io.pairkit.core.internal.engine.bitmap;

/**
 * What a request does to a pair's bitmaps at its instant (docs/DESIGN.md section 4), by name: the
 * durable metadata records it with the request, and replaying it on the recorded bits gives the
 * same change as {@link TrackBitmaps} made in memory.
 */
public enum Transition {
  /** create: the scope is pending (recorded with the pair itself). */
  PEND,
  /** split: the region freezes. */
  FREEZE,
  /** extent update: changed tracks of the region become pending again. */
  UPDATE,
  /** join / resync: the region is mirrored again, its changed tracks pending. */
  JOIN,
  /** resume: the pair leaves SUSPENDED; no bit changes. */
  RESUME,
  /**
   * restore: the tracks to copy back to the primary are recorded; their changed bits clear as
   * each is restored (a separate record), not at the instant.
   */
  RESTORE
}
