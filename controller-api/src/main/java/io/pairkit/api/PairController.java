package io.pairkit.api;

import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.VolumeSpec;
import java.io.Closeable;
import java.util.List;

/**
 * The engine: owns volumes, pairs and copy jobs (the patent's controller). Obtain one from
 * {@code io.pairkit.core.PairKit}; its settings, the track size among them, are fixed when it is
 * built ({@code PairKit.builder().trackSize(...)}). The track size belongs to the controller, not
 * to volumes: every pair of a controller tracks and copies in the same unit.
 *
 * <p>Threading: thread-safe; every method may be called from any thread.
 *
 * <p>Background copies are fair: a worker takes its next copy run from the requests before the
 * mirrors, so a request never waits behind the asynchronous mirror, however busy host writes keep
 * it. A request needing T seconds of copying at the configured rate finishes in about T plus one
 * copy run. Copies coalesce consecutive tracks into runs of the volumes' preferred I/O size and
 * keep up to the volumes' declared concurrency of runs in flight (see
 * {@link io.pairkit.api.spi.VolumeCapabilities}). A backend failure that the backend reports as
 * transient is retried with back-off ({@code PairKit.Builder.transientRetries}) before it counts;
 * a background copy that still fails suspends its pair ({@link PairState#SUSPENDED}) and clears
 * no bit of the tracks it failed to copy.
 *
 * <p>{@link #close()} stops the pairs, cancels their copy jobs (their requests complete with a
 * {@link java.util.concurrent.CancellationException}), flushes and closes every volume, and is
 * harmless when repeated. After it, the methods of this interface that act or look up throw
 * {@link io.pairkit.api.error.AlreadyClosedException}; {@link #cacheStats()} (the last counters)
 * and {@link #removeListener} still work. Pairs and volumes obtained before keep answering reads
 * of their last state (see {@link Pair} and {@link HostVolume}) and refuse requests and I/O with
 * {@code AlreadyClosedException}.
 */
public interface PairController extends Closeable {

  /**
   * Opens a volume through the backend its spec names and registers it under its name. If the
   * controller refuses the volume once the backend opened it, the backend volume is closed again,
   * so nothing stays open.
   *
   * @throws io.pairkit.api.error.InvalidArgumentException if {@code spec} is null
   * @throws io.pairkit.api.error.VolumeConfigException for an unknown backend type or a bad spec,
   *     a volume of size 0, or a backend block size ({@code alignment}) larger than the
   *     controller's track size
   * @throws io.pairkit.api.error.VolumeInUseException if a volume of that name is already open in
   *     this controller, or the backend refuses a second writer
   * @throws io.pairkit.api.error.VolumeIOException if the backend fails while opening
   * @throws io.pairkit.api.error.AlreadyClosedException after {@link #close()}
   */
  HostVolume openVolume(VolumeSpec spec);

  /**
   * Takes over an already-open backend volume: from now on the controller owns it, closes it on
   * {@link #close()}, and all I/O must go through the returned view. If this throws, the caller
   * keeps ownership and the volume stays open.
   *
   * @throws io.pairkit.api.error.InvalidArgumentException if {@code volume} is null
   * @throws io.pairkit.api.error.VolumeConfigException for a volume of size 0, or a backend block
   *     size larger than the controller's track size
   * @throws io.pairkit.api.error.VolumeInUseException if a volume of that name is already open
   * @throws io.pairkit.api.error.AlreadyClosedException after {@link #close()}
   */
  HostVolume attachVolume(Volume volume);

  /**
   * The open volume of that name.
   *
   * @throws io.pairkit.api.error.NotFoundException if there is none; the message lists the open
   *     volumes
   * @throws io.pairkit.api.error.AlreadyClosedException after {@link #close()}
   */
  HostVolume volume(String name);

  /**
   * Open volumes, in opening order (a snapshot).
   *
   * @throws io.pairkit.api.error.AlreadyClosedException after {@link #close()}
   */
  List<HostVolume> volumes();

  /**
   * Pairs two whole volumes of the same size and starts the initial copy of all of the primary
   * (see {@link Pair#initialCopy()}). Embodiment 1. The pair starts at an instant atomic with host
   * writes to both volumes. A refused creation changes nothing.
   *
   * @throws io.pairkit.api.error.InvalidArgumentException if {@code pairId} is null or blank, or
   *     is not 1 to 64 of {@code [A-Za-z0-9._-]} (not {@code .} or {@code ..} alone)
   * @throws io.pairkit.api.error.NotFoundException if a volume is null or was not opened by this
   *     controller
   * @throws io.pairkit.api.error.PairStateException if a live pair already has that id
   * @throws io.pairkit.api.error.VolumeMismatchException if the sizes differ or both are the same
   *     volume
   * @throws io.pairkit.api.error.VolumeInUseException if the secondary is already a secondary, or
   *     either volume's role forbids it (cascade, pair limit of the primary)
   * @throws io.pairkit.api.error.AlreadyClosedException after {@link #close()}
   */
  default VolumePair createVolumePair(String pairId, HostVolume primary, HostVolume secondary) {
    return createVolumePair(pairId, primary, secondary, PairOptions.defaults());
  }

  /**
   * As {@link #createVolumePair(String, HostVolume, HostVolume)}, with {@code options}.
   *
   * @throws io.pairkit.api.error.InvalidArgumentException if {@code options} is null
   */
  VolumePair createVolumePair(String pairId, HostVolume primary, HostVolume secondary,
      PairOptions options);

  /**
   * Pairs only {@code extents} of two volumes of the same size and starts their initial copy.
   * Embodiment 2. Same checks and exceptions as {@link #createVolumePair}, and:
   *
   * @throws io.pairkit.api.error.InvalidExtentException if {@code extents} is null or empty
   * @throws io.pairkit.api.error.ExtentOutOfRangeException if the extents reach past the end of
   *     the primary
   */
  default ExtentPair createExtentPair(
      String pairId, HostVolume primary, HostVolume secondary, ExtentSet extents) {
    return createExtentPair(pairId, primary, secondary, extents, PairOptions.defaults());
  }

  /** As {@link #createExtentPair(String, HostVolume, HostVolume, ExtentSet)}, with options. */
  ExtentPair createExtentPair(String pairId, HostVolume primary, HostVolume secondary,
      ExtentSet extents, PairOptions options);

  /**
   * Pairs two whole volumes for extent split and join, and starts the initial copy. Embodiment 3.
   * Same checks and exceptions as {@link #createVolumePair}.
   */
  default ExtentSplitPair createExtentSplitPair(String pairId, HostVolume primary,
      HostVolume secondary) {
    return createExtentSplitPair(pairId, primary, secondary, PairOptions.defaults());
  }

  /** As {@link #createExtentSplitPair(String, HostVolume, HostVolume)}, with options. */
  ExtentSplitPair createExtentSplitPair(String pairId, HostVolume primary, HostVolume secondary,
      PairOptions options);

  /**
   * The live pair with that id. A deleted pair is forgotten, and its id may be used again.
   *
   * @throws io.pairkit.api.error.NotFoundException if there is none; the message lists the pairs
   * @throws io.pairkit.api.error.AlreadyClosedException after {@link #close()}
   */
  Pair pair(String pairId);

  /**
   * Live pairs, in creation order (a snapshot).
   *
   * @throws io.pairkit.api.error.AlreadyClosedException after {@link #close()}
   */
  List<Pair> pairs();

  /**
   * Holds every background copy (request jobs and the mirror) before its next copy run, for
   * example during a peak of host load; runs already under way finish. Requests still take effect
   * at their instant, but their futures wait; host I/O, copy-on-write and reads of the secondary go
   * on as usual; bits keep being tracked. Calling it twice is harmless. {@link #close()} lets held
   * copies go, and they find their pairs stopped.
   *
   * @throws io.pairkit.api.error.AlreadyClosedException after {@link #close()}
   */
  /**
   * Groups existing pairs so that their requests take effect at one instant (see
   * {@link ConsistencyGroup}). Recorded with durable metadata.
   *
   * @throws io.pairkit.api.error.InvalidArgumentException if the name is not 1 to 64 of
   *     {@code [A-Za-z0-9._-]}, no pair is given, or a pair is given twice
   * @throws io.pairkit.api.error.NotFoundException if a pair does not exist
   * @throws io.pairkit.api.error.PairStateException if a group of that name exists, or a pair
   *     belongs to another group
   */
  ConsistencyGroup createGroup(String name, List<String> pairIds);

  /**
   * The group of that name.
   *
   * @throws io.pairkit.api.error.NotFoundException if there is none
   */
  ConsistencyGroup group(String name);

  /** Every group, by name. */
  List<ConsistencyGroup> groups();

  void pauseBackgroundCopies();

  /**
   * Lets background copies go on after {@link #pauseBackgroundCopies()}; harmless if not paused.
   *
   * @throws io.pairkit.api.error.AlreadyClosedException after {@link #close()}
   */
  void resumeBackgroundCopies();

  /**
   * What this controller found when it opened its metadata directory: whether the last stop was
   * clean, and per pair the tracks it copies again and why. {@link RecoveryReport#none()} for a
   * controller without a metadata directory. Works after close.
   */
  RecoveryReport recoveryReport();

  /**
   * Tells {@code listener} of the state changes of every pair of this controller, from the moment
   * it is added on (for a pair created after it was added, from its first FORMING to FORMED), after
   * the pair's own listeners, on the controller's event thread. See {@link PairListener} for how
   * changes are told. Adding the same listener twice tells it twice.
   *
   * @throws io.pairkit.api.error.InvalidArgumentException if {@code listener} is null
   * @throws io.pairkit.api.error.AlreadyClosedException after {@link #close()}
   */
  void addListener(PairListener listener);

  /**
   * Stops telling {@code listener} (one registration of it); harmless if it was not added, or
   * after close. An event already queued for the event thread may still reach it.
   */
  void removeListener(PairListener listener);

  /**
   * Counters of the track cache; {@link CacheStats#disabled()} when there is none. Works after
   * {@link #close()} too (the counters as they were left).
   */
  CacheStats cacheStats();

  /**
   * Flushes every open volume: when it returns, every write and discard completed before the call
   * is durable on its backend (with a write-back track cache, this is the barrier that destages
   * it). A volume that fails does not stop the others: every volume is flushed, then the first
   * failure is thrown with the later ones {@linkplain Throwable#getSuppressed() suppressed} in it.
   * Nothing is lost from the cache on failure; a later flush retries.
   *
   * @throws io.pairkit.api.error.VolumeIOException if a volume's flush failed, naming it
   * @throws io.pairkit.api.error.AlreadyClosedException after {@link #close()}
   */
  void flush();

  /**
   * Stops every pair (each keeps its last state), cancels their requests' copies (the futures
   * complete with a {@link java.util.concurrent.CancellationException}), lets background copy runs
   * under way finish, then flushes and closes every volume and releases the track cache and the
   * backends the controller loaded. Listeners are not told of the close. A volume that fails to
   * flush or close does not stop the others: everything is released, then the first failure is
   * thrown (the others suppressed in it), because writes that volume had not made durable may be
   * lost (with a write-back track cache: the tracks still dirty). Harmless when repeated; a repeat
   * does not throw again.
   *
   * @throws io.pairkit.api.error.VolumeIOException if a volume could not be flushed or closed,
   *     naming it; the controller is closed all the same
   */
  @Override
  void close();
}
