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
   * A byte count as people write it: {@code 67108864}, {@code 64M}, {@code 64MiB}, {@code 64 mb}
   * (binary units K, M, G, T, P; case and a trailing {@code B} or {@code iB} do not matter).
   *
   * @throws IllegalArgumentException if {@code text} is none of these, negative or too large
   */
  public static long parseSize(String text) {
    String s = text.trim().toLowerCase(java.util.Locale.ROOT);
    if (s.endsWith("ib")) {
      s = s.substring(0, s.length() - 2);
    } else if (s.endsWith("b") && s.length() > 1 && !Character.isDigit(s.charAt(s.length() - 2))) {
      s = s.substring(0, s.length() - 1);
    }
    int shift = 0;
    if (!s.isEmpty()) {
      switch (s.charAt(s.length() - 1)) {
        case 'k' -> shift = 10;
        case 'm' -> shift = 20;
        case 'g' -> shift = 30;
        case 't' -> shift = 40;
        case 'p' -> shift = 50;
        default -> shift = 0;
      }
    }
    if (shift != 0) {
      s = s.substring(0, s.length() - 1).trim();
    }
    try {
      long n = Long.parseLong(s);
      if (n < 0 || (shift > 0 && n > (Long.MAX_VALUE >> shift))) {
        throw new NumberFormatException();
      }
      return n << shift;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("'" + text + "' is not a byte count");
    }
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
