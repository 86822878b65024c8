package io.pairkit.api.spi;

import io.pairkit.api.ExtentSet;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * A fixed-size array of bytes on a backend, read and written at byte offsets. This is the raw
 * backend view: the engine wraps it, and hosts never write it directly while it is in a pair.
 *
 * <p>Implementing classes must comply with:
 * <ul>
 *   <li>Threading: every method may be called from many threads at once; calls on disjoint ranges
 *       must not interfere. Overlapping concurrent writes may land in any order.
 *   <li>{@link #read} fills {@code dst} completely (from its position to its limit) or throws;
 *       {@link #write} writes all of {@code src} or throws. Both advance the buffer's position by
 *       the bytes moved. Any offset and length inside the volume work, aligned or not. A range
 *       that is not inside {@code [0, size())} is an {@link IndexOutOfBoundsException}, and
 *       nothing is transferred.
 *   <li>Never-written and discarded bytes read as zero.
 *   <li>{@link #flush} is a barrier: when it returns, every write and discard that completed
 *       before it was called is durable on the backend (if {@link VolumeCapabilities#durableFlush()}
 *       says flush is real). A write that completed but was not flushed may be lost on power
 *       failure, in whole or in part.
 *   <li>A failed write leaves the range with old data, new data, or a mix, never other bytes.
 *   <li>{@link #capabilities()} is constant for the life of the volume.
 *   <li>{@link #close} releases every resource and is harmless when repeated; after close,
 *       {@link #read}, {@link #write}, {@link #discard}, {@link #allocated} and {@link #flush}
 *       throw {@link io.pairkit.api.error.AlreadyClosedException}, while {@link #name},
 *       {@link #size} and {@link #capabilities} still answer (messages about a closed volume
 *       need them).
 *   <li>Backend failures are {@link IOException}s, {@link TransientIOException} for those a retry
 *       of the same call may cure (the engine retries those); bad configuration is a
 *       {@link io.pairkit.api.error.VolumeConfigException} from the provider.
 * </ul>
 * The engine closes a volume once: when its controller closes, or at once if it opened the volume
 * and then refused to register it. A call racing with that close may still arrive and must fail
 * as above.
 */
public interface Volume extends Closeable {

  /** Name of the volume, unique within a controller; used in every message about it. */
  String name();

  /** Size in bytes; fixed for the life of the volume. */
  long size();

  /** What the volume can do and how it likes to be driven; see {@link VolumeCapabilities}. */
  VolumeCapabilities capabilities();

  /**
   * An id of the stored volume that stays the same across reopens and differs for another image
   * (a file's device and inode, an object store volume's manifest id), or empty where the backend
   * cannot tell. Durable pairs record it at creation and refuse to reopen a pair whose volume
   * answers a different id (a swapped or wrong image). Constant for the life of the volume; works
   * after close.
   */
  /**
   * How the backend is doing (degraded or not, its parts and their rebuild progress), for
   * pairctl and metrics. Default: healthy, no parts. Cheap: no I/O.
   */
  default VolumeHealth health() {
    return VolumeHealth.healthy();
  }

  default java.util.Optional<String> volumeId() {
    return java.util.Optional.empty();
  }

  /**
   * Reads {@code dst.remaining()} bytes starting at {@code offset}; see the class contract.
   *
   * @throws IndexOutOfBoundsException if the range leaves the volume; nothing is read
   * @throws IOException if the backend fails ({@link TransientIOException} if a retry may cure it)
   * @throws io.pairkit.api.error.AlreadyClosedException after {@link #close()}
   */
  void read(long offset, ByteBuffer dst) throws IOException;

  /**
   * Writes {@code src.remaining()} bytes starting at {@code offset}; see the class contract.
   *
   * @throws IndexOutOfBoundsException if the range leaves the volume; nothing is written
   * @throws IOException if the backend fails; the range then holds old data, new data or a mix
   * @throws io.pairkit.api.error.AlreadyClosedException after {@link #close()}
   */
  void write(long offset, ByteBuffer src) throws IOException;

  /**
   * Makes {@code [offset, offset + length)} read as zeros. A thin volume frees the whole blocks
   * inside the range and zeroes the partial ones; a volume that is not thin writes zeros (this
   * default). Same range rules and failure rules as {@link #write}.
   */
  default void discard(long offset, long length) throws IOException {
    Volumes.checkRange(name(), size(), offset, length);
    Volumes.writeZeros(this, offset, length);
  }

  /**
   * The parts of {@code [offset, offset + length)} that may hold non-zero data, ascending, never
   * reaching outside that range. A superset is allowed (a backend that does not know reports the
   * whole range: this default); a range left out must read as zeros, for every write that
   * completed before this call (writes in flight may or may not be covered). Same range rules as
   * {@link #read}.
   */
  default ExtentSet allocated(long offset, long length) throws IOException {
    Volumes.checkRange(name(), size(), offset, length);
    return length == 0 ? ExtentSet.empty() : ExtentSet.of(offset, offset + length);
  }

  /**
   * Makes every completed write and discard durable; see the class contract.
   *
   * @throws IOException if the backend fails; writes not yet durable may then be lost on power
   *     failure, and a later flush tries again
   * @throws io.pairkit.api.error.AlreadyClosedException after {@link #close()}
   */
  void flush() throws IOException;

  /**
   * Releases the volume's resources (a lock or lease among them); repeated calls do nothing. It
   * need not flush: the engine flushes before it closes.
   *
   * @throws IOException if releasing fails; the volume counts as closed all the same
   */
  @Override
  void close() throws IOException;

  /**
   * Reads every stripe whole and compares its redundancy (parity, mirror copies) with its data,
   * as md's {@code check}; with {@code repair}, makes each mismatching stripe consistent again
   * (parity rewritten from the data, mirrors copied from the first in-sync one), as md's
   * {@code repair}. Runs alongside host I/O, a stripe at a time.
   *
   * @throws UnsupportedOperationException if the volume keeps no redundancy to check (the
   *     default)
   * @throws IOException if a member fails meanwhile, or the volume runs degraded (nothing to
   *     compare: replace the failed member and let it rebuild first)
   */
  default ScrubReport scrub(boolean repair) throws IOException {
    throw new UnsupportedOperationException("volume '" + name() + "' keeps no redundancy to "
        + "scrub (only RAID-1 and RAID-5 volumes do)");
  }
}
