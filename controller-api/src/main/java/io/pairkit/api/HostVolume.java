package io.pairkit.api;

import io.pairkit.api.spi.VolumeCapabilities;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * The host's view of a volume opened through the controller. Every host read and write must come
 * through this view so the pair logic (difference tracking, copy-on-write, redirects) sees it.
 *
 * <p>Threading: thread-safe; I/O to disjoint tracks proceeds in parallel, and a write is held up
 * only by background copies of the tracks it touches (one copy run at most, see
 * {@link io.pairkit.api.spi.VolumeCapabilities#preferredIoSize()}). Overlapping concurrent writes
 * land in some order.
 *
 * <p>Every I/O method: offset and length must lie within {@link #size()}, otherwise
 * {@link io.pairkit.api.error.ExtentOutOfRangeException} and nothing happens. A backend failure is
 * a {@link io.pairkit.api.error.VolumeIOException} naming the volume; the range then holds old
 * data, new data or a mix, and the difference bits the failed write set stay set, so no
 * difference is lost. A write or discard to a secondary on mirrored tracks is refused with
 * {@link io.pairkit.api.error.SecondaryWriteRefusedException} (nothing written); on split tracks
 * it is accepted and recorded, so the next update, join or resync copies those tracks back. After
 * the controller is closed every I/O method throws
 * {@link io.pairkit.api.error.AlreadyClosedException}; {@link #name()}, {@link #size()} and
 * {@link #capabilities()} still answer.
 */
public interface HostVolume {

  /** The volume's name, unique within its controller. */
  String name();

  /** Size in bytes; fixed. */
  long size();

  /** The backend's capabilities (alignment, preferred I/O size, thin, ...). */
  VolumeCapabilities capabilities();

  /** Reads {@code dst.remaining()} bytes at {@code offset}, advancing {@code dst}'s position. */
  void read(long offset, ByteBuffer dst);

  /** Writes {@code src.remaining()} bytes at {@code offset}, advancing {@code src}'s position. */
  void write(long offset, ByteBuffer src);

  /**
   * Makes {@code [offset, offset + length)} read as zeros; on a thin backend the whole blocks in it
   * are freed. For the pairs it counts as a write (copy-on-write and difference bits alike).
   */
  void discard(long offset, long length);

  /** Reads {@code length} bytes at {@code offset} into a new array. */
  default byte[] read(long offset, int length) {
    byte[] out = new byte[length];
    read(offset, ByteBuffer.wrap(out));
    return out;
  }

  /** Writes all of {@code data} at {@code offset}. */
  default void write(long offset, byte[] data) {
    write(offset, ByteBuffer.wrap(data));
  }

  /**
   * Makes every completed write and discard to this volume durable on its backend (through the
   * track cache, if any). On failure nothing is lost from the cache; a later flush retries.
   */
  void flush();

  /** The live pairs this volume is the primary or secondary of (a snapshot). */
  List<Pair> pairs();
}
