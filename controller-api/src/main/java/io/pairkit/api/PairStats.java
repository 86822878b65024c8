package io.pairkit.api;

/**
 * Counters of one pair, taken atomically, for monitoring and for checking that requests do only
 * the work they must.
 *
 * @param jobCopies           tracks copied by request jobs (create, split, update, resync, join)
 * @param mirrorCopies        tracks copied by the background mirror after host writes
 * @param copyOnWriteCopies   tracks copied before a host write to the primary overwrote them
 * @param secondaryBaseCopies tracks copied before a host write to the secondary (partial-track
 *                            writes need the split image underneath)
 * @param pendingTracks       tracks the secondary does not yet hold (to be copied)
 * @param changedTracks       frozen tracks written since their freeze (to copy at update or join)
 * @param frozenTracks        tracks currently split
 * @param mirrorBacklogTracks mirrored tracks written by the host and not yet copied: the
 *                            asynchronous mirror's backlog. It grows when host writes outpace the
 *                            copy rate; a split or join of those tracks then has more to drain
 * @param skippedTracks       tracks a copy found unallocated on the primary and skipped or
 *                            discarded on the secondary instead of copying (thin volumes)
 */
public record PairStats(
    long jobCopies,
    long mirrorCopies,
    long copyOnWriteCopies,
    long secondaryBaseCopies,
    long pendingTracks,
    long changedTracks,
    long frozenTracks,
    long mirrorBacklogTracks,
    long skippedTracks) {

  /** All tracks copied for this pair, whatever the reason (skipped tracks not counted). */
  public long totalCopies() {
    return jobCopies + mirrorCopies + copyOnWriteCopies + secondaryBaseCopies;
  }
}
