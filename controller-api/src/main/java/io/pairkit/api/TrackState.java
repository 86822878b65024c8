package io.pairkit.api;

/**
 * What one track of a pair holds, as {@link Pair#trackStates} reports it. A track is in exactly one
 * state.
 */
public enum TrackState {
  /** Outside the pair's scope (only an extent pair has such tracks). */
  OUT_OF_SCOPE,
  /** Mirrored, and the secondary holds the primary's data. */
  IN_SYNC,
  /** Mirrored, and the secondary still needs a copy of the primary's current data. */
  PENDING,
  /** Split; the secondary still needs its point-in-time data, which the primary still holds. */
  SPLIT_PENDING,
  /** Split; the secondary holds the point-in-time data and neither side changed since. */
  SPLIT,
  /** Split; the primary or the secondary was written since the split instant. */
  SPLIT_CHANGED;

  /** Whether the track is split (frozen). */
  public boolean isSplit() {
    return this == SPLIT_PENDING || this == SPLIT || this == SPLIT_CHANGED;
  }
}
