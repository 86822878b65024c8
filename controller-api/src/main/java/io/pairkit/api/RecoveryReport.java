package io.pairkit.api;

import java.util.List;

/**
 * What a controller with durable metadata found when it opened its metadata directory, and what
 * each pair resumes with. Immutable. A controller without a metadata directory reports a clean
 * stop with no pairs.
 *
 * @param cleanStop          whether the last controller closed cleanly (nothing to redo)
 * @param checkpoint         the checkpoint generation read
 * @param journalRecords     journal records replayed after it
 * @param discardedTailBytes bytes of a torn or unreadable journal tail left out (a crash in the
 *                           middle of an append; those records were never acknowledged)
 * @param discardedBecause   why the tail was left out, or null
 * @param pairs              per pair: what it resumes with
 */
public record RecoveryReport(boolean cleanStop, long checkpoint, long journalRecords,
    long discardedTailBytes, String discardedBecause, List<PairRecovery> pairs) {

  /**
   * One pair's recovery.
   *
   * @param pairId           the pair
   * @param pendingTracks    tracks to copy again: copied too recently for their clear to be
   *                         durable, in a write-intent region that was dirty (after an unclean
   *                         stop), or still to copy for a request
   * @param changedTracks    split tracks recorded as changed, or counted changed because their
   *                         write-intent region was dirty
   * @param intentTracks     of those, the tracks counted pending or changed only because their
   *                         write-intent region was dirty at the stop: a host write there may
   *                         have reached one side only (0 after a clean stop)
   * @param restartedRequests requests whose copy restarts
   * @param reason           why tracks are marked for re-copy, in words
   */
  public record PairRecovery(String pairId, long pendingTracks, long changedTracks,
      long intentTracks, int restartedRequests, String reason) {
  }

  /** A controller without durable metadata: nothing was recovered. */
  public static RecoveryReport none() {
    return new RecoveryReport(true, 0, 0, 0, null, List.of());
  }

  /** Tracks marked for re-copy over all pairs. */
  public long pendingTracks() {
    return pairs.stream().mapToLong(PairRecovery::pendingTracks).sum();
  }
}
