package io.pairkit.api.spi;

import java.io.IOException;
import java.nio.ByteBuffer;

/** Helpers for backend authors. Stateless, so thread-safe. */
public final class Volumes {
  private static final int ZERO_CHUNK = 1 << 20;
  private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(ZERO_CHUNK).asReadOnlyBuffer();

  private Volumes() {
  }

  /**
   * Throws the {@link IndexOutOfBoundsException} the {@link Volume} contract asks for when
   * {@code [offset, offset + length)} is not inside {@code [0, size)}.
   */
  public static void checkRange(String volumeName, long size, long offset, long length) {
    if (offset < 0 || length < 0 || offset > size - length) {
      throw new IndexOutOfBoundsException("volume '" + volumeName + "': range [" + offset + ", "
          + (offset + length) + ") is outside [0, " + size + ")");
    }
  }

  /**
   * Writes zeros over {@code [offset, offset + length)} in chunks of at most 1 MiB, through
   * {@code volume.write}. A failure stops it: the range is then zero up to some point.
   *
   * @throws IOException from {@code volume.write}
   */
  public static void writeZeros(Volume volume, long offset, long length) throws IOException {
    long pos = offset;
    long stop = offset + length;
    while (pos < stop) {
      int n = (int) Math.min(ZERO_CHUNK, stop - pos);
      volume.write(pos, ZEROS.duplicate().limit(n));
      pos += n;
    }
  }
}
