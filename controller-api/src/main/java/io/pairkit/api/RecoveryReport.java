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
   * @param pendingTracks    tracks to copy again: written or copied too recently for their
   *                         clear to be durable (after an unclean stop), or still to copy
   * @param changedTracks    split tracks recorded as changed
   * @param restartedRequests requests whose copy restarts
   * @param reason           why tracks are marked for re-copy, in words
   */
  public record PairRecovery(String pairId, long pendingTracks, long changedTracks,
      int restartedRequests, String reason) {
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
