package io.pairkit.api.spi;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * The one way PairKit checksums what it stores about itself, for its own formats and for a
 * backend that keeps metadata on its volumes: a CRC-32C of the record's covered bytes, stored as a
 * 4-byte int in the record, and checked the same way on reading. Three formats use it, each
 * keeping the layout its place needs: the pair metadata journal (a stream of {@code length, crc,
 * type, payload} records, scanned for a torn tail), a RAID member's superblocks (fixed 4 KiB
 * slots, the checksum after the fields) and RAID-5's partial parity log (header fields with the
 * checksum, then the partial parity at an aligned offset, both covered).
 *
 * <p>A record that fails its check is torn or corrupt and must not be used; a slot of zeros
 * ({@link #isBlank}) was never written, which a reader tells apart from damage.
 */
public final class Checksums {
  private Checksums() {
  }

  /**
   * CRC-32C of ranges of {@code bytes}, taken in order.
   *
   * @param ranges offset and length pairs
   */
  public static int crc32c(byte[] bytes, int... ranges) {
    if (ranges.length % 2 != 0) {
      throw new IllegalArgumentException("ranges come in offset, length pairs");
    }
    CRC32C crc = new CRC32C();
    for (int i = 0; i < ranges.length; i += 2) {
      crc.update(bytes, ranges[i], ranges[i + 1]);
    }
    return (int) crc.getValue();
  }

  /**
   * Seals a record laid out in {@code record}'s backing array: writes, at index {@code at} and in
   * the buffer's byte order, the CRC-32C of bytes {@code [0, at)} followed by {@code moreRanges}.
   * The buffer's position does not move.
   *
   * @param moreRanges further covered bytes (offset and length pairs), such as a payload kept at
   *     an aligned offset after the header
   */
  public static void seal(ByteBuffer record, int at, int... moreRanges) {
    record.putInt(at, crc32c(record.array(), covered(at, moreRanges)));
  }

  /** Whether the checksum at index {@code at} matches, as {@link #seal} wrote it. */
  public static boolean isIntact(ByteBuffer record, int at, int... moreRanges) {
    if (at < 0 || at + 4 > record.limit()) {
      return false;
    }
    return record.getInt(at) == crc32c(record.array(), covered(at, moreRanges));
  }

  /** Whether every byte is zero: a slot that was never written, not a damaged one. */
  public static boolean isBlank(byte[] bytes) {
    for (byte b : bytes) {
      if (b != 0) {
        return false;
      }
    }
    return true;
  }

  private static int[] covered(int at, int[] moreRanges) {
    int[] ranges = new int[2 + moreRanges.length];
    ranges[0] = 0;
    ranges[1] = at;
    System.arraycopy(moreRanges, 0, ranges, 2, moreRanges.length);
    return ranges;
  }
}
