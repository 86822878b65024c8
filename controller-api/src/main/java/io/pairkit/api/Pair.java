package io.pairkit.api;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A primary (original) and secondary (copy) volume kept in step by per-track difference bitmaps.
 * The typed faces {@link VolumePair}, {@link ExtentPair} and {@link ExtentSplitPair} offer the
 * requests of their strategy; {@link #request} accepts any kind by name and refuses the ones the
 * strategy does not offer with an {@link io.pairkit.api.error.UnsupportedRequestException}.
 *
 * <p>Threading: all methods are thread-safe. Each request takes effect atomically with respect to
 * host writes on both volumes, then copies in the background. A refused request changes nothing.
 *
 * <p>After {@link #delete()} every request throws {@link io.pairkit.api.error.PairStateException}
 * with state {@link PairState#DELETED}; reading state and stats still works.
 */
public interface Pair {

  /** The id given at creation, unique within the controller. */
  String id();

  PairStrategy strategy();

  /** The current state; see {@link PairState}. */
  PairState state();

  HostVolume primary();

  HostVolume secondary();

  /** The byte extents the pair covers: the whole volume, or an extent pair's extents. */
  ExtentSet scope();

  /**
   * The pair's tracking unit in bytes (the controller's track size): difference bits, copies and
   * requests work in whole tracks.
   */
  int trackSize();

  /** The extents currently split (frozen), rounded out to whole tracks. */
  ExtentSet splitExtents();

  /**
   * The state of every track that {@code range} touches, taken atomically with respect to host
   * writes and copies: a supported, read-only look at the difference bitmaps for tools, monitors
   * and tests. Works on a deleted pair too (it then reports its bitmaps as they were left).
   *
   * @throws io.pairkit.api.error.ExtentOutOfRangeException if the range leaves the volume, or
   *     touches more than {@value #MAX_TRACK_STATES} tracks (ask in several ranges)
   */
  TrackStates trackStates(Extent range);

  /** Most tracks one {@link #trackStates} call reports. */
  int MAX_TRACK_STATES = 1 << 24;

  /** Counters; see {@link PairStats}. */
  PairStats stats();

  /** The initial copy that creating the pair started. */
  CopyRequest initialCopy();

  /** Requests whose copy has not completed yet, oldest first. */
  List<CopyRequest> activeRequests();

  /**
   * Issues a request by kind; {@code region} is ignored for kinds that act on the whole scope
   * (split, resync, resume).
   *
   * @throws io.pairkit.api.error.UnsupportedRequestException if the strategy does not offer it
   * @throws io.pairkit.api.error.PairStateException if the state does not allow it now
   * @throws io.pairkit.api.error.ExtentOutOfRangeException if the region leaves the volume/scope
   */
  CopyRequest request(RequestKind kind, ExtentSet region);

  /**
   * Restarts the copy of every pending track after a backend failure suspended the pair.
   *
   * @throws io.pairkit.api.error.PairStateException if the pair is not {@link PairState#SUSPENDED}
   */
  CopyRequest resume();

  /**
   * Completes when no mirrored track of the pair needs a copy (the asynchronous mirror has caught
   * up). Host writes after this completes may make it need copies again.
   */
  CompletableFuture<Void> mirrorDrained();

  void addListener(PairListener listener);

  void removeListener(PairListener listener);

  /**
   * Forgets the pair; both volumes become plain volumes. Refused while a split copy is still
   * draining, because the secondary would keep a half-copied image with no record of what is
   * missing: wait for the request, or use {@link #forceDelete()}.
   *
   * @throws io.pairkit.api.error.PairStateException if frozen tracks are still being copied
   */
  void delete();

  /** Deletes even while copies run; the secondary's content is then undefined where not copied. */
  void forceDelete();
}
