package io.pairkit.api;

import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.VolumeSpec;
import java.io.Closeable;
import java.util.List;

/**
 * The engine: owns volumes, pairs and copy jobs (the patent's controller). Obtain one from
 * {@code io.pairkit.core.PairKit}.
 *
 * <p>Threading: thread-safe. {@link #close()} stops copy jobs (their requests complete with a
 * {@link java.util.concurrent.CancellationException}), flushes and closes every volume, and is
 * harmless when repeated; any other call after it throws
 * {@link io.pairkit.api.error.AlreadyClosedException}.
 */
public interface PairController extends Closeable {

  /**
   * Opens a volume through the backend its spec names.
   *
   * @throws io.pairkit.api.error.VolumeConfigException for an unknown backend type or a bad spec
   * @throws io.pairkit.api.error.VolumeInUseException if a volume of that name is already open
   * @throws io.pairkit.api.error.VolumeIOException if the backend fails while opening
   */
  HostVolume openVolume(VolumeSpec spec);

  /** Takes over an already-open backend volume; the controller closes it on {@link #close()}. */
  HostVolume attachVolume(Volume volume);

  /**
   * The open volume of that name.
   *
   * @throws io.pairkit.api.error.NotFoundException if there is none
   */
  HostVolume volume(String name);

  /** Open volumes, in opening order. */
  List<HostVolume> volumes();

  /**
   * Pairs two volumes of the same size and track size and starts the initial copy of all of the
   * primary. Embodiment 1.
   *
   * @throws io.pairkit.api.error.VolumeMismatchException if sizes or track sizes differ
   * @throws io.pairkit.api.error.VolumeInUseException if the secondary is already a secondary, or
   *     either volume's role forbids it (cascade, pair limit of the primary)
   */
  VolumePair createVolumePair(String pairId, HostVolume primary, HostVolume secondary);

  /** Pairs only {@code extents} of two volumes and copies them. Embodiment 2. */
  ExtentPair createExtentPair(
      String pairId, HostVolume primary, HostVolume secondary, ExtentSet extents);

  /** Pairs two whole volumes for extent split and join. Embodiment 3. */
  ExtentSplitPair createExtentSplitPair(String pairId, HostVolume primary, HostVolume secondary);

  /**
   * The pair with that id.
   *
   * @throws io.pairkit.api.error.NotFoundException if there is none
   */
  Pair pair(String pairId);

  /** Live pairs, in creation order. */
  List<Pair> pairs();

  /**
   * Holds every background copy (request jobs and the mirror) before its next track, for example
   * during a peak of host load. Requests still take effect at their instant; host I/O,
   * copy-on-write and reads of the secondary go on as usual; bits keep being tracked. Calling it
   * twice is harmless.
   */
  void pauseBackgroundCopies();

  /** Lets background copies go on after {@link #pauseBackgroundCopies()}. */
  void resumeBackgroundCopies();

  /**
   * Tells {@code listener} of every state change of every pair of this controller, from each
   * pair's creation on (so it sees even the first FORMING to FORMED of a pair created after it
   * was added), after the pair's own listeners, on the controller's event thread. Adding the same
   * listener twice tells it twice.
   *
   * @throws io.pairkit.api.error.InvalidArgumentException if {@code listener} is null
   * @throws io.pairkit.api.error.AlreadyClosedException after {@link #close()}
   */
  void addListener(PairListener listener);

  /** Stops telling {@code listener}; harmless if it was not added, or after close. */
  void removeListener(PairListener listener);

  /** Counters of the track cache; {@link CacheStats#disabled()} when there is none. */
  CacheStats cacheStats();

  /**
   * Flushes every open volume: when it returns, every write completed before the call is durable
   * on its backend (with a write-back track cache, this is the barrier that destages it).
   */
  void flush();

  @Override
  void close();
}
