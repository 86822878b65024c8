package io.pairkit.nbd;

import io.pairkit.api.ExtentSet;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * What the NBD server serves under one export name. Implementations must be thread-safe: one
 * connection issues requests from several threads at once, and several connections may share an
 * export. A failure is an exception; the server turns it into the NBD error code it maps to
 * ({@code EIO} unless the exception says otherwise) and keeps the connection.
 */
public interface NbdExport {

  /** The export name clients ask for. */
  String name();

  /** A short human description (shown by {@code nbdinfo --list}). */
  default String description() {
    return "";
  }

  /** Size in bytes. */
  long size();

  /**
   * Whether this export serves {@code peer} (per-export client rules); one it refuses is told
   * so by policy and does not see it in the list. Default: everyone who may connect.
   */
  default boolean allows(NbdPeer peer) {
    return true;
  }

  /** Whether writes, trims and zeroes are refused. */
  boolean readOnly();

  /** Preferred I/O size hint, a power of two (4 KiB to 32 MiB). */
  default int preferredBlockSize() {
    return 4096;
  }

  void read(long offset, ByteBuffer dst) throws IOException;

  void write(long offset, ByteBuffer src) throws IOException;

  /** Makes every completed write durable. */
  void flush() throws IOException;

  /** Lets the range read as zeros, freeing space where the volume can. */
  void trim(long offset, long length) throws IOException;

  /**
   * Makes the range read as zeros. With {@code mayFree} the volume may free the space instead of
   * writing (it reads as zeros either way); without it ({@code NBD_CMD_FLAG_NO_HOLE}) the zeros
   * must be written, so the range stays allocated.
   */
  void writeZeroes(long offset, long length, boolean mayFree) throws IOException;

  /**
   * The parts of the range that may hold data (for {@code base:allocation}); a superset is fine.
   * Default: all of it.
   */
  default ExtentSet allocated(long offset, long length) throws IOException {
    return ExtentSet.of(offset, offset + length);
  }

  /**
   * The dirty bitmaps this export offers as {@code qemu:dirty-bitmap:NAME} meta contexts (QEMU's
   * convention, read by {@code nbdinfo --map} and {@code qemu-img map} with
   * {@code x-dirty-bitmap}). Default: none.
   */
  default java.util.List<String> dirtyBitmaps() {
    return java.util.List.of();
  }

  /**
   * The dirty parts of the range in bitmap {@code name} (one of {@link #dirtyBitmaps()}).
   * Default: none.
   */
  default ExtentSet dirty(String name, long offset, long length) throws IOException {
    return ExtentSet.of(java.util.List.of());
  }
}
