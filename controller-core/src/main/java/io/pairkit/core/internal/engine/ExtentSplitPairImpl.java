package io.pairkit.core.internal.engine;

import com.google.common.collect.Range;
import com.google.common.collect.RangeSet;
import com.google.common.collect.TreeRangeSet;
import io.pairkit.api.CopyRequest;
import io.pairkit.api.Extent;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.ExtentSplitPair;
import io.pairkit.api.PairState;
import io.pairkit.api.PairStrategy;
import io.pairkit.api.RequestKind;
import org.roaringbitmap.longlong.Roaring64Bitmap;

/**
 * Embodiment 3: whole-volume pair whose extents are split and joined one at a time. Writes outside
 * the frozen extents stay in the mirror (the patent's step 2607 would leave them stale), to the
 * byte: a track an extent covers only in part is split (its copy-on-write and changed bit work
 * per track), and the host writes to its other bytes go through to the secondary, whatever the
 * mirror mode, since no copy refreshes a split track before its join. After a crash or a
 * suspension those bytes are copied again from the primary ({@link #refreshMirroredBytes}).
 */
final class ExtentSplitPairImpl extends AbstractPair implements ExtentSplitPair {

  /**
   * The bytes extent splits named, less those joined (guarded by the bitmaps monitor). Splits
   * freeze whole tracks; a join of part of a track unfreezes it only when no split byte is left
   * in it, so joining what was split mirrors it all again and a partial join changes nothing
   * else.
   */
  private volatile ExtentSet splitBytes;

  ExtentSplitPairImpl(Engine engine, String id, ManagedVolume primary, ManagedVolume secondary,
      Restored restored) {
    super(engine, id, primary, secondary, ExtentSet.of(0, primary.size()), true, restored);
    this.splitBytes = restored == null ? ExtentSet.empty()
        : restored.splitBytes() != null ? restored.splitBytes() : splitTracks();
  }

  @Override
  public ExtentSet splitExtents() {
    return splitBytes;
  }

  @Override
  boolean splitTracksKeepMirroredBytes() {
    return true;
  }

  @Override
  RangeSet<Long> mirroredBytesOfSplit(long t) {
    long start = geometry.start(t);
    long stop = geometry.stop(t);
    ExtentSet inTrack = splitBytes.intersection(ExtentSet.of(start, stop));
    if (inTrack.isEmpty() || inTrack.bytes() == stop - start) {
      return null; // split whole (or, from an older format, with no bytes recorded)
    }
    RangeSet<Long> mirrored = TreeRangeSet.create();
    mirrored.add(Range.closedOpen(start, stop));
    for (Extent e : inTrack.extents()) {
      mirrored.remove(Range.closedOpen(e.start(), e.end()));
    }
    return mirrored;
  }

  @Override
  void start() {
    if (lifecycle.suspendedBy() == null) {
      refreshMirroredBytes(); // a crash may have lost their write-through
    }
    super.start();
  }

  @Override
  void afterResume() {
    refreshMirroredBytes(); // held back while suspended
  }

  /**
   * Copies the mirrored bytes of every split track from the primary, under the track's lock (so
   * a host write lands before or after, and writes through if after).
   */
  private void refreshMirroredBytes() {
    ExtentSet split = splitBytes;
    if (split.isEmpty()) {
      return;
    }
    boolean copied = false;
    java.util.TreeSet<Long> edges = new java.util.TreeSet<>(); // only they can be split in part
    for (Extent e : split.extents()) {
      edges.add(geometry.trackOf(e.start()));
      edges.add(geometry.trackOf(e.end() - 1));
    }
    for (long t : edges) {
      try (io.pairkit.core.internal.engine.track.TrackLocks.Held held = primary.trackLocks.lock(t,
          t + 1)) {
        RangeSet<Long> mirrored = bitmaps.isMirrored(t) ? null : mirroredBytesOfSplit(t);
        if (mirrored != null) {
          for (Range<Long> r : mirrored.asRanges()) {
            copier.copyRange(r.lowerEndpoint(), r.upperEndpoint());
          }
          copied = true;
        }
      }
    }
    if (copied && engine.store != null) {
      copier.secondary().flush();
    }
  }

  @Override
  public PairStrategy strategy() {
    return PairStrategy.EXTENT_SPLIT_PAIR;
  }

  @Override
  RequestKind splitKind() {
    return RequestKind.EXTENT_SPLIT;
  }

  @Override
  PairState deriveState(PairLifecycle.Facts f) {
    if (f.running(RequestKind.RESTORE)) {
      return PairState.RESTORING;
    }
    if (f.running(RequestKind.EXTENT_JOIN)) {
      return PairState.EXTENT_JOINING;
    }
    if (f.running(RequestKind.EXTENT_SPLIT)) {
      return PairState.EXTENT_SPLITTING;
    }
    if (!f.nothingFrozen()) {
      return PairState.EXTENT_SPLIT;
    }
    if (f.running(RequestKind.RESUME)) {
      return f.initialCopyDone() ? PairState.EXTENT_JOINING : PairState.FORMING;
    }
    return f.initialCopyDone() ? PairState.FORMED : PairState.FORMING;
  }

  @Override
  public CopyRequest extentSplit(ExtentSet extents) {
    return admission.request(planSplit(extents));
  }

  private RequestAdmission.Planned planSplit(ExtentSet extents) {
    Roaring64Bitmap tracks = regionTracks(RequestKind.EXTENT_SPLIT, extents);
    return new RequestAdmission.Planned(RequestKind.EXTENT_SPLIT, extents, false, state -> {
      if (bitmaps.anyFrozen(tracks)) {
        throw wrongState(RequestKind.EXTENT_SPLIT, state, "extents " + extents
            + " overlap tracks already split (" + splitExtents() + "); join those first "
            + "or split a disjoint area");
      }
      return () -> {
        bitmaps.freeze(tracks);
        splitBytes = splitBytes.union(extents);
        return tracks;
      };
    });
  }

  @Override
  public CopyRequest extentJoin(ExtentSet extents) {
    return admission.request(planJoin(extents));
  }

  private RequestAdmission.Planned planJoin(ExtentSet extents) {
    Roaring64Bitmap tracks = regionTracks(RequestKind.EXTENT_JOIN, extents);
    Roaring64Bitmap partial = exact.partialTracks(extents);
    return new RequestAdmission.Planned(RequestKind.EXTENT_JOIN, extents, true, state -> {
      Roaring64Bitmap notFrozen = bitmaps.notFrozen(tracks);
      if (!notFrozen.isEmpty()) {
        throw wrongState(RequestKind.EXTENT_JOIN, state, "extents " + extents + " are not all "
            + "split (" + notFrozen.getLongCardinality() + " tracks are mirrored; split now: "
            + splitExtents() + "); join only split extents");
      }
      return new RequestAdmission.Change() {
        private long[] copied;

        @Override
        public Roaring64Bitmap apply() {
          // Exact extents: a track joined in part stays split while split bytes are left in it,
          // and gets its joined bytes now; one with none left is joined whole.
          ExtentSet left = splitBytes.minus(extents);
          Roaring64Bitmap stay = new Roaring64Bitmap();
          partial.forEach(t -> {
            if (!left.intersection(ExtentSet.of(geometry.start(t), geometry.stop(t))).isEmpty()) {
              stay.addLong(t);
            }
          });
          copied = exact.copyCoveredBytes(stay, extents);
          Roaring64Bitmap joined = Roaring64Bitmap.andNot(tracks, stay);
          bitmaps.join(joined);
          splitBytes = left;
          return joined;
        }

        @Override
        public long[] copiedAtInstant() {
          return copied;
        }
      };
    }, partial);
  }

  @Override
  RequestAdmission.Planned plan(RequestKind kind, ExtentSet region) {
    return switch (kind) {
      case EXTENT_SPLIT -> planSplit(region);
      case EXTENT_JOIN -> planJoin(region);
      case RESTORE -> planRestore(region, PairState.EXTENT_SPLIT);
      case CREATE -> throw unsupported(kind, "the initial copy starts when the pair is created; "
          + "see initialCopy()");
      default -> throw unsupported(kind, "use extentSplit(extents), extentJoin(extents) and "
          + "restore(extents); "
          + "for a whole-volume split with extent update create a VOLUME_PAIR");
    };
  }
}
