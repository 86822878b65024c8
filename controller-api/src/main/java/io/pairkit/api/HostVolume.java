package io.pairkit.api;

import io.pairkit.api.spi.VolumeCapabilities;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * The host's view of a volume opened through the controller. Every host read and write must come
 * through this view so the pair logic (difference tracking, copy-on-write, redirects) sees it.
 *
 * <p>Threading: thread-safe; I/O to disjoint tracks proceeds in parallel. A write waits only for
 * a request instant of one of its pairs (brief), for its own copy-on-write of split tracks not yet
 * copied, and for a background copy of the tracks it touches (one copy run at most, see
 * {@link io.pairkit.api.spi.VolumeCapabilities#preferredIoSize()}); with a write-back track cache,
 * also for destaging when too many slots are dirty. Overlapping concurrent writes land in some
 * order.
 *
 * <p>Every I/O method: offset and length must lie within {@link #size()}, otherwise
 * {@link io.pairkit.api.error.ExtentOutOfRangeException} and nothing happens. A backend failure the
 * backend calls transient is retried first ({@code PairKit.Builder.transientRetries}), so the call
 * may take that long. A failure that remains is a {@link io.pairkit.api.error.VolumeIOException}
 * naming the volume; the range then holds old data, new data or a mix, and the difference bits the
 * failed write set stay set, so no difference is lost. If a copy-on-write the write needed fails,
 * the write is not done at all (the primary still holds the split image's data). A failed host
 * I/O does not suspend a pair.
 *
 * <p>On a secondary: a read of a split track not yet copied is served from the primary, so the
 * secondary reads as its split image from the split instant on; a read of a mirrored track returns
 * what the secondary holds, with no guarantee. A write or discard on mirrored tracks is refused
 * with {@link io.pairkit.api.error.SecondaryWriteRefusedException} (nothing written); on split
 * tracks it is accepted and recorded, so the next update, join or resync copies those tracks back.
 *
 * <p>After the controller is closed, {@link #read}, {@link #write}, {@link #discard} and
 * {@link #flush} throw {@link io.pairkit.api.error.AlreadyClosedException}; {@link #name()},
 * {@link #size()}, {@link #capabilities()} and {@link #pairs()} still answer.
 */
public interface HostVolume {

  /** The volume's name, unique within its controller. */
  String name();

  /** Size in bytes; fixed. */
  long size();

  /**
   * The volume's capabilities as the engine drives it (alignment, preferred I/O size,
   * concurrency, thin, ...): the backend's, or with a track cache the cache's view of them (any
   * alignment at full speed, I/O of at least a track preferred). Constant.
   */
  VolumeCapabilities capabilities();

  /**
   * Reads {@code dst.remaining()} bytes at {@code offset}, advancing {@code dst}'s position.
   *
   * @throws io.pairkit.api.error.ExtentOutOfRangeException if the range leaves the volume
   * @throws io.pairkit.api.error.VolumeIOException if the backend fails
   * @throws io.pairkit.api.error.AlreadyClosedException if the controller is closed
   */
  void read(long offset, ByteBuffer dst);

  /**
   * Writes {@code src.remaining()} bytes at {@code offset}, advancing {@code src}'s position.
   *
   * @throws io.pairkit.api.error.ExtentOutOfRangeException if the range leaves the volume
   * @throws io.pairkit.api.error.SecondaryWriteRefusedException on a secondary's mirrored tracks
   * @throws io.pairkit.api.error.VolumeIOException if the backend, or a copy-on-write, fails
   * @throws io.pairkit.api.error.AlreadyClosedException if the controller is closed
   */
  void write(long offset, ByteBuffer src);

  /**
   * Makes {@code [offset, offset + length)} read as zeros; on a thin backend
   * ({@link VolumeCapabilities#thin()}) the whole blocks in it are freed. For the pairs it counts
   * as a write (copy-on-write and difference bits alike), with the same exceptions as
   * {@link #write(long, ByteBuffer)}.
   */
  void discard(long offset, long length);

  /**
   * The parts of {@code [offset, offset + length)} that may read as non-zero, ascending (what NBD
   * calls {@code base:allocation}): a superset is allowed, and a range left out reads as zeros
   * for every write and request that completed before the call. A thin backend reports its
   * holes; a secondary with copies still pending (where reads may come from the primary) reports
   * the whole range. Default: the whole range.
   *
   * @throws io.pairkit.api.error.ExtentOutOfRangeException if the range leaves the volume
   * @throws io.pairkit.api.error.VolumeIOException if the backend fails
   * @throws io.pairkit.api.error.AlreadyClosedException if the controller is closed
   */
  default ExtentSet allocated(long offset, long length) {
    return length == 0 ? ExtentSet.empty() : ExtentSet.of(offset, offset + length);
  }

  /** Reads {@code length} bytes at {@code offset} into a new array. */
  default byte[] read(long offset, int length) {
    byte[] out = new byte[length];
    read(offset, ByteBuffer.wrap(out));
    return out;
  }

  /** Writes all of {@code data} at {@code offset}; as {@link #write(long, ByteBuffer)}. */
  default void write(long offset, byte[] data) {
    write(offset, ByteBuffer.wrap(data));
  }

  /**
   * Makes every completed write and discard to this volume durable on its backend (through the
   * track cache, if any). On failure nothing is lost from the cache; a later flush retries.
   *
   * @throws io.pairkit.api.error.VolumeIOException if the backend fails
   * @throws io.pairkit.api.error.AlreadyClosedException if the controller is closed
   */
  void flush();

  /**
   * The live pairs this volume is the primary or secondary of (a snapshot); empty for a plain
   * volume. After the controller closed, the pairs it had then.
   */
  List<Pair> pairs();

  /**
   * Scrubs the volume's backend (a RAID set: md's check or, with {@code repair}, repair of every
   * stripe; see {@link io.pairkit.api.spi.Volume#scrub}). Runs alongside host I/O and pairs: it
   * never changes what a read of the volume returns on RAID-5, where repair rewrites parity only.
   *
   * @throws UnsupportedOperationException if the backend keeps no redundancy
   * @throws io.pairkit.api.error.VolumeIOException if it is degraded or a member fails
   */
  default io.pairkit.api.spi.ScrubReport scrub(boolean repair) {
    throw new UnsupportedOperationException("volume '" + name() + "' keeps no redundancy to "
        + "scrub");
  }

  /** How the volume's backend is doing (a RAID set: degraded, its members, rebuild progress). */
  default io.pairkit.api.spi.VolumeHealth health() {
    return io.pairkit.api.spi.VolumeHealth.healthy();
  }
}
