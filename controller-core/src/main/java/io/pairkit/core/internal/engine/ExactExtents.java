package io.pairkit.core.internal.engine;

import com.google.common.collect.Range;
import com.google.common.collect.RangeSet;
import com.google.common.collect.TreeRangeSet;
import io.pairkit.api.Extent;
import io.pairkit.api.ExtentSet;
import io.pairkit.core.internal.engine.bitmap.TrackBitmaps;
import io.pairkit.core.internal.engine.copy.PairCopier;
import io.pairkit.core.internal.engine.track.TrackGeometry;
import java.util.Iterator;
import org.roaringbitmap.longlong.Roaring64Bitmap;

/**
 * Exact extents within tracks: a request (extent update, extent join) names bytes, the engine
 * keeps its bits per track, so a track the extents touch only in part gets just the covered
 * bytes copied at the request's instant and stays marked changed for the rest. One per pair.
 *
 * <p>Threading: as the pair's request path: called at an instant, host I/O held off and the
 * tracks' locks held.
 */
final class ExactExtents {
  private final TrackGeometry geometry;
  private final TrackBitmaps bitmaps;
  private final PairCopier copier;
  /** Whether the pair's metadata is durable: the copies are then flushed before the record. */
  private final boolean durable;

  ExactExtents(TrackGeometry geometry, TrackBitmaps bitmaps, PairCopier copier,
      boolean durable) {
    this.geometry = geometry;
    this.bitmaps = bitmaps;
    this.copier = copier;
    this.durable = durable;
  }

  /**
   * The tracks {@code region} touches but does not cover whole (within the pair's scope bytes):
   * a request copies only the covered bytes of these (exact extents).
   */
  Roaring64Bitmap partialTracks(ExtentSet region) {
    Roaring64Bitmap out = new Roaring64Bitmap();
    RangeSet<Long> asked = ranges(region);
    for (Extent e : region.extents()) {
      for (long t : new long[] {geometry.trackOf(e.start()), geometry.trackOf(e.end() - 1)}) {
        if (bitmaps.inScope(t) && !asked.enclosesAll(copier.scopeRanges(t, t + 1))) {
          out.addLong(t);
        }
      }
    }
    return out;
  }

  private static RangeSet<Long> ranges(ExtentSet region) {
    RangeSet<Long> r = TreeRangeSet.create();
    for (Extent e : region.extents()) {
      r.add(Range.closedOpen(e.start(), e.end()));
    }
    return r;
  }

  /**
   * At a request's instant (host I/O held off, the tracks' locks held): copies the bytes
   * {@code region} covers of those {@code partial} tracks that are split and changed, primary to
   * secondary; they stay changed (the rest of each still differs). A split track whose
   * point-in-time copy is still due needs nothing: the primary still holds that image, so its
   * pending copy is exact. With durable metadata the secondary is flushed before the request is
   * recorded. Returns {@code {tracks, bytes}} copied.
   */
  long[] copyCoveredBytes(Roaring64Bitmap partial, ExtentSet region) {
    RangeSet<Long> asked = ranges(region);
    long tracks = 0;
    long bytes = 0;
    Roaring64Bitmap changed = bitmaps.changedAmong(partial);
    for (Iterator<Long> it = changed.iterator(); it.hasNext(); ) {
      long t = it.next();
      RangeSet<Long> wanted = TreeRangeSet
          .create(copier.scopeRanges(t, t + 1));
      wanted.removeAll(asked.complement());
      for (Range<Long> r : wanted.asRanges()) {
        copier.copyRange(r.lowerEndpoint(), r.upperEndpoint());
        bytes += r.upperEndpoint() - r.lowerEndpoint();
      }
      tracks++;
    }
    if (tracks > 0 && durable) {
      copier.secondary().flush(); // durable before the record says the request happened
    }
    return new long[] {tracks, bytes};
  }
}
