package io.pairkit.api;

import java.nio.ByteBuffer;
import java.util.List;

/**
 * The host's view of a volume opened through the controller. Every host read and write must come
 * through this view so the pair logic (difference tracking, copy-on-write, redirects) sees it.
 *
 * <p>Threading: thread-safe; writes to disjoint ranges proceed in parallel, and a write is held up
 * only by copies of the tracks it touches. Overlapping concurrent writes land in some order.
 *
 * <p>Reads and writes: offset and length must lie within {@link #size()}, otherwise
 * {@link io.pairkit.api.error.ExtentOutOfRangeException}. A backend failure is a
 * {@link io.pairkit.api.error.VolumeIOException}; the difference bits a failed write set stay set,
 * so no difference is lost. A write to a secondary on mirrored tracks is refused with
 * {@link io.pairkit.api.error.SecondaryWriteRefusedException}; on split tracks it is accepted and
 * recorded, so the next update, join or resync copies those tracks back.
 */
public interface HostVolume {

  String name();

  long size();

  int trackSize();

  /** Number of tracks, counting a partial last track. */
  default long trackCount() {
    return (size() + trackSize() - 1) / trackSize();
  }

  /** Reads {@code dst.remaining()} bytes at {@code offset}. */
  void read(long offset, ByteBuffer dst);

  /** Writes {@code src.remaining()} bytes at {@code offset}. */
  void write(long offset, ByteBuffer src);

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

  /** Makes every completed write to this volume durable on its backend. */
  void flush();

  /** The pairs this volume is the primary or secondary of. */
  List<Pair> pairs();
}
