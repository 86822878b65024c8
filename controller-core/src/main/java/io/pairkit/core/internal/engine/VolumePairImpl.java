package io.pairkit.core.internal.engine;

import io.pairkit.api.CopyRequest;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.PairStrategy;
import io.pairkit.api.RequestKind;
import io.pairkit.api.VolumePair;
import org.roaringbitmap.longlong.Roaring64Bitmap;

/** Embodiment 1: whole-volume pair with split, extent update and resync. */
final class VolumePairImpl extends WholeScopeSplitPair implements VolumePair {

  VolumePairImpl(Engine engine, String id, ManagedVolume primary, ManagedVolume secondary,
      Restored restored) {
    super(engine, id, primary, secondary, ExtentSet.of(0, primary.size()), true, restored);
  }

  @Override
  public PairStrategy strategy() {
    return PairStrategy.VOLUME_PAIR;
  }

  @Override
  public CopyRequest extentUpdate(ExtentSet extents) {
    return admission.request(planUpdate(extents));
  }

  private RequestAdmission.Planned planUpdate(ExtentSet extents) {
    Roaring64Bitmap tracks = regionTracks(RequestKind.EXTENT_UPDATE, extents);
    Roaring64Bitmap partial = exact.partialTracks(extents);
    Roaring64Bitmap whole = Roaring64Bitmap.andNot(tracks, partial);
    return new RequestAdmission.Planned(RequestKind.EXTENT_UPDATE, extents, false, state -> {
      requireSplit(RequestKind.EXTENT_UPDATE, state);
      return new RequestAdmission.Change() {
        private long[] copied;

        @Override
        public Roaring64Bitmap apply() {
          // Exact extents: a track covered in part gets its covered bytes now and stays changed.
          copied = exact.copyCoveredBytes(partial, extents);
          bitmaps.update(whole);
          return whole;
        }

        @Override
        public long[] copiedAtInstant() {
          return copied;
        }
      };
    }, partial);
  }

  @Override
  RequestAdmission.Planned planOther(RequestKind kind, ExtentSet region) {
    if (kind == RequestKind.EXTENT_UPDATE) {
      return planUpdate(region);
    }
    throw unsupported(kind, "use split(), extentUpdate(extents) or resync(), or create an "
        + "EXTENT_SPLIT_PAIR for extent split/join");
  }
}
