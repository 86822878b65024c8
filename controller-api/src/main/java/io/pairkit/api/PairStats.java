package io.pairkit.api;

/**
 * Counters of one pair, for monitoring and for checking that requests do only the work they must.
 *
 * @param jobCopies          tracks copied by request jobs (create, split, update, resync, join)
 * @param mirrorCopies       tracks copied by the background mirror after host writes
 * @param copyOnWriteCopies  tracks copied before a host write to the primary overwrote them
 * @param secondaryBaseCopies tracks copied before a host write to the secondary (partial-track
 *                           writes need the split image underneath)
 * @param pendingTracks      tracks the secondary does not yet hold (to be copied)
 * @param changedTracks      frozen tracks written since their freeze (to copy at update or join)
 * @param frozenTracks       tracks currently split
 */
public record PairStats(
    long jobCopies,
    long mirrorCopies,
    long copyOnWriteCopies,
    long secondaryBaseCopies,
    long pendingTracks,
    long changedTracks,
    long frozenTracks) {

  /** All tracks copied for this pair, whatever the reason. */
  public long totalCopies() {
    return jobCopies + mirrorCopies + copyOnWriteCopies + secondaryBaseCopies;
  }
}
