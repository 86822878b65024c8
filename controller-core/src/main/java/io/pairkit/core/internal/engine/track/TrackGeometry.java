package io.pairkit.core.internal.engine.track;

import io.pairkit.api.Extent;
import io.pairkit.api.ExtentSet;
import io.pairkit.core.internal.engine.bitmap.Bits;
import org.roaringbitmap.longlong.Roaring64Bitmap;

/**
 * Track arithmetic for one volume size and track size: the only place where byte offsets become
 * track numbers and back. Track {@code t} covers bytes {@code [t * trackSize, (t + 1) *
 * trackSize)}, clipped to the volume (the last track may be partial). Immutable.
 *
 * @param trackSize  bytes per track, a power of two
 * @param volumeSize bytes in the volume
 */
public record TrackGeometry(int trackSize, long volumeSize) {

  /** Number of tracks, counting a partial last one. */
  public long trackCount() {
    return (volumeSize + trackSize - 1) / trackSize;
  }

  /** The track holding byte {@code offset}. */
  public long trackOf(long offset) {
    return offset / trackSize;
  }

  /** One past the last track touched by {@code length > 0} bytes at {@code offset}. */
  public long endTrack(long offset, long length) {
    return (offset + length - 1) / trackSize + 1;
  }

  /** First byte of track {@code t}. */
  public long start(long t) {
    return t * trackSize;
  }

  /** One past the last byte of track {@code t} (clipped to the volume). */
  public long stop(long t) {
    return Math.min((t + 1) * trackSize, volumeSize);
  }

  /** Bytes of tracks {@code [first, end)}. */
  public long bytes(long first, long end) {
    return stop(end - 1) - start(first);
  }

  /** Whether {@code [offset, offset + length)} covers all of track {@code t}. */
  public boolean covers(long offset, long length, long t) {
    return offset <= start(t) && offset + length >= stop(t);
  }

  /** The tracks that {@code extents} touch. */
  public Roaring64Bitmap tracksOf(ExtentSet extents) {
    Roaring64Bitmap tracks = new Roaring64Bitmap();
    for (Extent e : extents.extents()) {
      Bits.addRange(tracks, trackOf(e.start()), endTrack(e.start(), e.length()));
    }
    return tracks;
  }

  /** The bytes of tracks {@code [first, end)} as an extent. */
  public Extent extentOf(long first, long end) {
    return Extent.of(start(first), stop(end - 1));
  }
}
