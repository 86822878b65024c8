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
 * host writes on both volumes and to other requests of the pair (its "request instant"), then
 * copies in the background (see {@link PairController} for fairness and retries). A refused
 * request changes nothing.
 *
 * <p>Partial failure: a background copy that fails on a backend error, after the transient retries,
 * suspends the pair ({@link PairState#SUSPENDED}); tracks it did not copy keep their bits, so
 * nothing is lost, and {@link #resume()} copies them. Every request but {@code resume()} is then
 * refused with a {@link io.pairkit.api.error.PairStateException}.
 *
 * <p>After {@link #delete()} every request throws {@link io.pairkit.api.error.PairStateException}
 * with state {@link PairState#DELETED}. After the controller is closed, the pair keeps the state it
 * had (it does not become DELETED) and every request throws
 * {@link io.pairkit.api.error.AlreadyClosedException}. In both cases the reads ({@link #id},
 * {@link #state}, {@link #scope}, {@link #splitExtents}, {@link #trackStates}, {@link #stats},
 * {@link #activeRequests}, ...) still work and show what the pair was left with.
 */
public interface Pair {

  /** The id given at creation, unique among the live pairs of its controller. */
  String id();

  /** The pair's strategy, which decides the requests it offers. */
  PairStrategy strategy();

  /**
   * The current state, derived from the bitmaps and the running requests; see {@link PairState}.
   * {@code DELETED} after delete; the state at close after the controller closed.
   */
  PairState state();

  /** The primary (original) volume. */
  HostVolume primary();

  /** The secondary (copy) volume. */
  HostVolume secondary();

  /** The byte extents the pair covers: the whole volume, or an extent pair's extents. */
  ExtentSet scope();

  /**
   * The pair's tracking unit in bytes: the controller's track size
   * ({@code PairKit.builder().trackSize(...)}), the same for every pair of a controller, whatever
   * the volumes. Difference bits and background copies work in whole tracks; requests on
   * extents change exactly their bytes.
   */
  int trackSize();

  /**
   * The extents currently split (frozen), a snapshot: whole tracks for a volume or extent pair
   * (a split freezes them all), exactly the split bytes for an {@link ExtentSplitPair}.
   */
  ExtentSet splitExtents();

  /**
   * The state of every track that {@code range} touches, taken atomically with respect to host
   * writes and copies: a supported, read-only look at the difference bitmaps for tools, monitors
   * and tests. It changes nothing. Tracks outside an extent pair's extents are
   * {@link TrackState#OUT_OF_SCOPE}. Works on a deleted pair and after close too (it then reports
   * the bitmaps as they were left).
   *
   * @throws io.pairkit.api.error.ExtentOutOfRangeException if the range reaches past the end of
   *     the volume, or touches more than {@value #MAX_TRACK_STATES} tracks (ask in several ranges)
   */
  TrackStates trackStates(Extent range);

  /** Most tracks one {@link #trackStates} call reports. */
  int MAX_TRACK_STATES = 1 << 24;

  /** Counters; see {@link PairStats}. Works on a deleted pair and after close too. */
  PairStats stats();

  /**
   * The initial copy that creating the pair started; the same object for the life of the pair,
   * done or not.
   */
  CopyRequest initialCopy();

  /**
   * Requests whose copy has not completed yet, oldest first (a snapshot). Empty on a deleted pair
   * and after close, since delete and close cancel the requests (one whose last copy run was just
   * ending leaves the list when that run ends).
   */
  List<CopyRequest> activeRequests();

  /**
   * Issues a request by kind; {@code region} is ignored for kinds that act on the whole scope
   * (split, resync, resume) and may then be null. {@link RequestKind#CREATE} is never accepted:
   * see {@link #initialCopy()}.
   *
   * @throws io.pairkit.api.error.InvalidArgumentException if {@code kind} is null
   * @throws io.pairkit.api.error.UnsupportedRequestException if the strategy does not offer it
   * @throws io.pairkit.api.error.InvalidExtentException if a kind that needs a region got a null
   *     or empty one
   * @throws io.pairkit.api.error.ExtentOutOfRangeException if the region reaches past the end of
   *     the volume
   * @throws io.pairkit.api.error.PairStateException if the state does not allow it now (including
   *     SUSPENDED and DELETED); the message names the state and the way out
   * @throws io.pairkit.api.error.AlreadyClosedException if the controller is closed
   */
  CopyRequest request(RequestKind kind, ExtentSet region);

  /**
   * Restores the primary from the secondary (reverse resync, ShadowImage's {@code -restore},
   * FlashCopy's reverse restore), for {@code extents} only (one file's extents, say) or, with
   * null, for all that is split. At its instant the request fixes what it restores: the split
   * tracks of {@code extents} that changed on either side since their split (the bitmaps say
   * which), so a restore of a volume where 1% changed copies about 1% of it. Only the bytes
   * {@code extents} cover are copied (sector-exact: a track covered in part keeps its other bytes
   * and stays marked changed); the primary keeps everything else.
   *
   * <p>The primary stays online while the request copies: a host read of a part not yet
   * restored restores that track first, then reads it, and a host write to it restores the track
   * first, then lands on top (host writes win). The secondary is not written meanwhile: a host
   * write to a track still to restore is refused. Other pairs of the same primary see the
   * restore's copies as host writes (copy-on-write, mirror) and stay correct. The pair shows
   * {@link PairState#RESTORING} and refuses other requests until it completes; then it is split
   * again, the restored tracks equal on both sides, and a later resync or update copies only
   * what changed after the restore. With durable metadata the restore is recorded: a controller
   * that crashed restarts it with what was left, and never restores a track again that a host
   * wrote after its restore. A backend failure suspends the pair; {@link #resume()} finishes the
   * restore.
   *
   * @throws io.pairkit.api.error.ExtentOutOfRangeException if {@code extents} reach past the end
   *     of the volume
   * @throws io.pairkit.api.error.InvalidExtentException if {@code extents} are empty or touch a
   *     track that is not split (nothing to restore from there)
   * @throws io.pairkit.api.error.PairStateException unless the pair is SPLIT (or EXTENT_SPLIT)
   *     with no request still copying; the message names the state and the way out
   * @throws io.pairkit.api.error.AlreadyClosedException if the controller is closed
   */
  default CopyRequest restore(ExtentSet extents) {
    return request(RequestKind.RESTORE, extents);
  }

  /** {@link #restore(ExtentSet)} of everything that is split. */
  default CopyRequest restore() {
    return restore(null);
  }

  /**
   * Suspends the pair by request ({@code pairsplit -E}): from its instant no host write and no
   * copy reaches the secondary (a synchronous mirror stops writing it too, and running initial
   * copies and resyncs stop); host writes to the primary go on and their tracks are recorded as
   * pending, so {@link #resume()} copies only those. The suspension is durable: a restarted
   * controller finds the pair SUSPENDED. The secondary stays read-only to hosts where it is
   * mirrored. Returns once the suspension is recorded.
   *
   * @throws io.pairkit.api.error.PairStateException unless the pair is FORMING, FORMED,
   *     RESYNCING or EXTENT_SPLIT (a split pair copies nothing to stop; a split or extent request
   *     in progress must complete first); the message names the state and the way out
   * @throws io.pairkit.api.error.AlreadyClosedException if the controller is closed
   */
  void suspend();

  /**
   * Restarts the copy of every pending track after the pair was suspended, by a backend failure
   * or by {@link #suspend()}. At its instant the pair leaves SUSPENDED; while it copies, the pair
   * shows the state of the work it resumes (FORMING, RESYNCING, SPLIT, ... as the strategy
   * derives it). If the backend still fails, the pair suspends again.
   *
   * @throws io.pairkit.api.error.PairStateException if the pair is not {@link PairState#SUSPENDED}
   *     (or was deleted)
   * @throws io.pairkit.api.error.AlreadyClosedException if the controller is closed
   */
  CopyRequest resume();

  /**
   * Completes when no mirrored track of the pair needs a copy and no mirror copy is in flight
   * (the asynchronous mirror has caught up). Host writes after this completes may make it need
   * copies again. Completes exceptionally with the {@link io.pairkit.api.error.VolumeIOException}
   * if a backend failure suspends the pair while it waits (a
   * {@link io.pairkit.api.error.PairStateException} if {@link #suspend()} does); on a pair
   * already suspended it waits for a
   * {@link #resume()}. Completes at once, normally, on a deleted pair or after close, whatever is
   * left to copy.
   */
  CompletableFuture<Void> mirrorDrained();

  /** How the pair mirrors now: the mode it was given, the one in force, and why. */
  MirrorStatus mirrorStatus();

  /**
   * Sets how mirrored tracks follow host writes from now on (see {@link MirrorMode}); recorded
   * with a durable pair. Going synchronous takes effect for the next host write, while the mirror
   * copies what is still pending; going asynchronous, likewise. Returns once the change is
   * recorded.
   *
   * @throws io.pairkit.api.error.InvalidArgumentException if {@code mode} is null
   * @throws io.pairkit.api.error.PairStateException on a deleted pair
   * @throws io.pairkit.api.error.AlreadyClosedException if the controller is closed
   */
  void setMirrorMode(MirrorMode mode);

  /**
   * Caps this pair's background copies (initial copy, requests' copies, the asynchronous mirror)
   * at {@code bytesPerSecond} from now on, 0 for no cap of its own; the controller's cap applies
   * as well. Host writes are never paced, so a synchronous mirror is not either. Recorded with a
   * durable pair; returns once recorded.
   *
   * @throws io.pairkit.api.error.InvalidArgumentException if {@code bytesPerSecond} is negative
   * @throws io.pairkit.api.error.PairStateException on a deleted pair
   * @throws io.pairkit.api.error.AlreadyClosedException if the controller is closed
   */
  void setCopyPace(long bytesPerSecond);

  /**
   * The pair's options as they are now: the mirror mode and copy pace last set, and whether it
   * was created with an initial copy.
   */
  PairOptions options();

  /**
   * Tells {@code listener} of this pair's state changes, on the controller's event thread, before
   * the controller-wide listeners; see {@link PairListener}. Adding one twice tells it twice.
   * Accepted on a deleted or closed pair, but never called then.
   *
   * @throws io.pairkit.api.error.InvalidArgumentException if {@code listener} is null
   */
  void addListener(PairListener listener);

  /** Stops telling {@code listener} (one registration of it); harmless if it was not added. */
  void removeListener(PairListener listener);

  /**
   * Forgets the pair; both volumes become plain volumes, and the id is free again. Running
   * requests are cancelled (their futures complete with a
   * {@link java.util.concurrent.CancellationException}); copies in flight finish first, so none
   * lands on the secondary after this returns. Refused while the secondary is not a complete
   * image, because it would keep a half-copied image with no record of what is missing: while
   * the initial copy has not completed (FORMING, or suspended before it completed), while a
   * resync runs, and while any split track still waits for its point-in-time copy (a split,
   * extent split or extent update still draining, or one a backend failure left unfinished).
   * Wait for the request, resume a suspended pair, or use {@link #forceDelete()}. Harmless on a
   * deleted pair; does nothing after the controller closed.
   *
   * @throws io.pairkit.api.error.PairStateException if the secondary is not a complete image;
   *     nothing changed
   */
  void delete();

  /**
   * Deletes even while split copies are due; the secondary's content is then undefined where not
   * copied. Otherwise as {@link #delete()}, and never refused.
   */
  void forceDelete();
}
