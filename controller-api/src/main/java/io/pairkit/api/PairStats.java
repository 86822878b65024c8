package io.pairkit.api;

/**
 * Counters of one pair, for monitoring and for checking that requests do only the work they must.
 * Immutable. The track counts ({@code pendingTracks} to {@code mirrorBacklogTracks}) are taken
 * together, atomically; the copy counters are read just before them, each on its own, so under
 * load they may be a few tracks behind the bitmaps. Copy counters only grow.
 *
 * @param jobCopies           tracks copied by request jobs (create, split, update, resync, join)
 * @param mirrorCopies        tracks copied by the background mirror after host writes
 * @param copyOnWriteCopies   tracks copied before a host write to the primary overwrote them
 * @param secondaryBaseCopies tracks copied before a host write to the secondary (partial-track
 *                            writes need the split image underneath)
 * @param pendingTracks       tracks the secondary does not yet hold (to be copied)
 * @param changedTracks       frozen tracks written since their freeze (to copy at update or join)
 * @param frozenTracks        tracks currently split
 * @param mirrorBacklogTracks mirrored (not split) tracks the secondary does not yet hold: the
 *                            asynchronous mirror's backlog, part of {@code pendingTracks}. This is
 *                            how a mirror that cannot keep up is reported: it grows while host
 *                            writes outpace the copy rate, and a split or join of those tracks
 *                            then has more to drain. While a create, resync, join or resume runs,
 *                            it also holds the tracks that request still has to copy
 * @param skippedTracks       tracks a background copy found unallocated on a thin primary and,
 *                            instead of copying them, skipped (or discarded on the secondary);
 *                            they count as done for their request, not in {@code totalCopies}
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
