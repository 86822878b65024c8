package io.pairkit.api;

/** The kinds of pair request; each strategy offers a subset. */
public enum RequestKind {
  /** Initial copy of the scope (issued by pair creation). */
  CREATE,
  /** Freeze the whole scope at this instant. */
  SPLIT,
  /** Re-synchronise some frozen extents to the primary's current data; they stay frozen. */
  EXTENT_UPDATE,
  /** Unfreeze the whole scope and copy the differences: back to FORMED. */
  RESYNC,
  /** Freeze some extents at this instant; the rest stays mirrored. */
  EXTENT_SPLIT,
  /** Unfreeze some extents and copy their differences back into the mirror. */
  EXTENT_JOIN,
  /** Restart copying after a failure (see {@link PairState#SUSPENDED}). */
  RESUME,
  /**
   * Copy the secondary's split image of some or all split extents back to the primary (reverse
   * resync); the tracks stay split. Offered by every strategy; see {@link Pair#restore}.
   */
  RESTORE
}
