package io.pairkit.api.spi;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * A fixed-size array of bytes on a backend, read and written at byte offsets. This is the raw
 * backend view: the engine wraps it, and hosts never write it directly while it is in a pair.
 *
 * <p>Implementing classes must comply with:
 * <ul>
 *   <li>Threading: {@link #read} and {@link #write} may be called from many threads at once; calls
 *       on disjoint ranges must not interfere. Overlapping concurrent writes may land in any order.
 *   <li>{@link #read} fills {@code dst} completely (from its position to its limit) or throws;
 *       {@link #write} writes all of {@code src} or throws. Both advance the buffer's position by
 *       the bytes moved. A range that is not inside {@code [0, size())} is an
 *       {@link IndexOutOfBoundsException}, and nothing is transferred.
 *   <li>Never-written bytes read as zero.
 *   <li>{@link #flush} is a barrier: when it returns, every write that completed before it was
 *       called is durable on the backend. A write that completed but was not flushed may be lost on
 *       power failure, in whole or in part.
 *   <li>A failed write leaves the range with old data, new data, or a mix, never other bytes.
 *   <li>{@link #close} releases every resource and is harmless when repeated; any other call after
 *       close throws {@link io.pairkit.api.error.AlreadyClosedException}.
 *   <li>Backend failures are {@link IOException}s; bad configuration is a
 *       {@link io.pairkit.api.error.VolumeConfigException} from the provider.
 * </ul>
 */
public interface Volume extends Closeable {

  /** Name of the volume, unique within a controller; used in every message about it. */
  String name();

  /** Size in bytes; fixed for the life of the volume. */
  long size();

  /**
   * Track size in bytes: a power of two from 4 KiB to 16 MiB. The engine copies and tracks
   * differences in whole tracks; the last track may be partial when the size is not a multiple.
   */
  int trackSize();

  /** Reads {@code dst.remaining()} bytes starting at {@code offset}. */
  void read(long offset, ByteBuffer dst) throws IOException;

  /** Writes {@code src.remaining()} bytes starting at {@code offset}. */
  void write(long offset, ByteBuffer src) throws IOException;

  /** Makes every completed write durable; see the class contract. */
  void flush() throws IOException;

  /** Number of tracks, counting a partial last track. */
  default long trackCount() {
    return (size() + trackSize() - 1) / trackSize();
  }

  /** Releases the volume's resources; repeated calls do nothing. */
  @Override
  void close() throws IOException;
}
