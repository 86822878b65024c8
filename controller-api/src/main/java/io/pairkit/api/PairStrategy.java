package io.pairkit.api;

/** The three faces of the pair model, one per embodiment of the patent. */
public enum PairStrategy {
  /** Whole-volume pair: create, split, extent update, resync (embodiment 1). */
  VOLUME_PAIR,
  /** Pair over some extents only: create, split, resync (embodiment 2). */
  EXTENT_PAIR,
  /** Whole-volume pair whose extents split and join one data set at a time (embodiment 3). */
  EXTENT_SPLIT_PAIR
}
