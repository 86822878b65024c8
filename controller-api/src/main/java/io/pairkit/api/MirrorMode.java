package io.pairkit.api;

/**
 * How a pair keeps its secondary in step with host writes to mirrored tracks (tracks not split).
 */
public enum MirrorMode {
  /**
   * Chosen from the secondary's capabilities when the pair is created or reopened:
   * {@link #SYNCHRONOUS} for a local secondary, {@link #ASYNCHRONOUS} for a remote one (an object
   * store; {@link io.pairkit.api.spi.VolumeCapabilities#remote()}).
   */
  AUTOMATIC,
  /**
   * Linux md RAID-1, QEMU's {@code copy-mode=write-blocking}, an array's synchronous remote copy:
   * a host write goes to the primary and the secondary in parallel and completes when both have,
   * and a flush of the primary flushes the secondary too. Mirrored tracks then have no backlog,
   * and a split drains nothing. A secondary write that fails drops the pair to
   * {@link #ASYNCHRONOUS} with a backlog, reported in {@link Pair#mirrorStatus()} and the log;
   * it returns to synchronous once that backlog is copied.
   */
  SYNCHRONOUS,
  /**
   * A host write completes once it is on the primary; its tracks become pending and a background
   * mirror copies them (the part of each track that was written), so the secondary lags behind by
   * the mirror's backlog ({@link PairStats#mirrorBacklogTracks()}). What a slow or remote
   * secondary needs.
   */
  ASYNCHRONOUS
}
