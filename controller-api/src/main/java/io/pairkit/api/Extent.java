package io.pairkit.api;

import io.pairkit.api.error.InvalidExtentException;

/**
 * A byte range {@code [start, end)} of a volume, such as the area that holds one file or data set.
 * Immutable, so thread-safe; both bounds are byte offsets. Extents are given by the host; a
 * request copies exactly their bytes (the tracks they touch stay the unit of the difference
 * bits).
 *
 * @param start first byte, inclusive, {@code >= 0}
 * @param end   last byte, exclusive, {@code > start}
 */
public record Extent(long start, long end) implements Comparable<Extent> {

  /**
   * Validates and creates an extent.
   *
   * @throws InvalidExtentException if {@code start < 0} or {@code end <= start} (empty or reversed)
   */
  public Extent {
    if (start < 0) {
      throw new InvalidExtentException(
          "extent [" + start + ", " + end + ") starts before byte 0: give a start offset >= 0");
    }
    if (end <= start) {
      throw new InvalidExtentException(
          "extent [" + start + ", " + end + ") is " + (end == start ? "empty" : "reversed")
              + ": an extent is [start, end) with end > start");
    }
  }

  /**
   * Creates {@code [start, end)}.
   *
   * @throws InvalidExtentException if {@code start < 0} or {@code end <= start}
   */
  public static Extent of(long start, long end) {
    return new Extent(start, end);
  }

  /**
   * Creates {@code [start, start + length)}.
   *
   * @throws InvalidExtentException if {@code start < 0}, {@code length <= 0}, or the end overflows
   */
  public static Extent ofLength(long start, long length) {
    if (length > 0 && start > Long.MAX_VALUE - length) {
      throw new InvalidExtentException(
          "extent at " + start + " of length " + length + " overflows a 64-bit offset");
    }
    return new Extent(start, start + length);
  }

  /** Number of bytes in the extent. */
  public long length() {
    return end - start;
  }

  /** First track the extent touches, for tracks of {@code trackSize} bytes. */
  public long firstTrack(int trackSize) {
    return start / trackSize;
  }

  /** One past the last track the extent touches. */
  public long endTrack(int trackSize) {
    return (end - 1) / trackSize + 1;
  }

  @Override
  public int compareTo(Extent other) {
    int byStart = Long.compare(start, other.start);
    return byStart != 0 ? byStart : Long.compare(end, other.end);
  }

  @Override
  public String toString() {
    return "[" + start + ", " + end + ")";
  }
}
