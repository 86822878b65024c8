package io.pairkit.api;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableRangeSet;
import com.google.common.collect.Range;
import com.google.common.collect.RangeSet;
import com.google.common.collect.TreeRangeSet;
import java.util.Collection;
import java.util.List;

/**
 * An immutable, normalised set of byte extents: overlapping and touching extents are merged, and
 * iteration is in ascending address order. Also maps itself onto tracks. Immutable, so
 * thread-safe.
 */
public final class ExtentSet {
  private static final ExtentSet EMPTY = new ExtentSet(ImmutableRangeSet.of());

  private final ImmutableRangeSet<Long> ranges;

  private ExtentSet(ImmutableRangeSet<Long> ranges) {
    this.ranges = ranges;
  }

  /** The empty set. */
  public static ExtentSet empty() {
    return EMPTY;
  }

  /** The set of the given extents, merged. */
  public static ExtentSet of(Extent... extents) {
    return of(List.of(extents));
  }

  /** The set of the given extents, merged. */
  public static ExtentSet of(Collection<Extent> extents) {
    RangeSet<Long> set = TreeRangeSet.create();
    for (Extent e : extents) {
      set.add(Range.closedOpen(e.start(), e.end()));
    }
    return new ExtentSet(ImmutableRangeSet.copyOf(set));
  }

  /** The single extent {@code [start, end)}. */
  public static ExtentSet of(long start, long end) {
    return of(Extent.of(start, end));
  }

  /**
   * The extents covering tracks {@code [firstTrack, endTrack)} of a volume of {@code volumeSize},
   * clipped to the volume; empty if nothing is left.
   */
  public static ExtentSet ofTracks(long firstTrack, long endTrack, int trackSize, long volumeSize) {
    long start = firstTrack * trackSize;
    long end = Math.min(endTrack * trackSize, volumeSize);
    return end > start ? of(start, end) : EMPTY;
  }

  /** The merged extents in ascending order. */
  public List<Extent> extents() {
    ImmutableList.Builder<Extent> out = ImmutableList.builder();
    for (Range<Long> r : ranges.asRanges()) {
      out.add(new Extent(r.lowerEndpoint(), r.upperEndpoint()));
    }
    return out.build();
  }

  /** True if the set covers no byte. */
  public boolean isEmpty() {
    return ranges.isEmpty();
  }

  /** Total bytes covered. */
  public long bytes() {
    long total = 0;
    for (Range<Long> r : ranges.asRanges()) {
      total += r.upperEndpoint() - r.lowerEndpoint();
    }
    return total;
  }

  /**
   * First byte covered.
   *
   * @throws java.util.NoSuchElementException if the set is empty
   */
  public long start() {
    return ranges.span().lowerEndpoint();
  }

  /**
   * One past the last byte covered.
   *
   * @throws java.util.NoSuchElementException if the set is empty
   */
  public long end() {
    return ranges.span().upperEndpoint();
  }

  /** The bytes in this set or in {@code other}. */
  public ExtentSet union(ExtentSet other) {
    return new ExtentSet(ranges.union(other.ranges));
  }

  /** The bytes in both this set and {@code other}. */
  public ExtentSet intersection(ExtentSet other) {
    RangeSet<Long> out = TreeRangeSet.create(ranges);
    out.removeAll(other.ranges.complement());
    return new ExtentSet(ImmutableRangeSet.copyOf(out));
  }

  /** The bytes in this set and not in {@code other}. */
  public ExtentSet minus(ExtentSet other) {
    return new ExtentSet(ranges.difference(other.ranges));
  }

  /** True if every byte of {@code other} is in this set. */
  public boolean encloses(ExtentSet other) {
    return ranges.enclosesAll(other.ranges);
  }

  /** True if the byte at {@code offset} is in this set. */
  public boolean contains(long offset) {
    return ranges.contains(offset);
  }

  /**
   * The tracks this set touches, as merged half-open track-number ranges {@code [first, end)}:
   * an extent that covers any byte of a track covers that track.
   */
  public List<Extent> trackRanges(int trackSize) {
    RangeSet<Long> tracks = TreeRangeSet.create();
    for (Range<Long> r : ranges.asRanges()) {
      long first = r.lowerEndpoint() / trackSize;
      long end = (r.upperEndpoint() - 1) / trackSize + 1;
      tracks.add(Range.closedOpen(first, end));
    }
    ImmutableList.Builder<Extent> out = ImmutableList.builder();
    for (Range<Long> r : tracks.asRanges()) {
      out.add(new Extent(r.lowerEndpoint(), r.upperEndpoint()));
    }
    return out.build();
  }

  /** Number of distinct tracks this set touches. */
  public long trackCount(int trackSize) {
    long n = 0;
    for (Extent t : trackRanges(trackSize)) {
      n += t.length();
    }
    return n;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ExtentSet other && ranges.equals(other.ranges);
  }

  @Override
  public int hashCode() {
    return ranges.hashCode();
  }

  @Override
  public String toString() {
    return extents().toString();
  }
}
