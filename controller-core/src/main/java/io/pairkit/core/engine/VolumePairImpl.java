package io.pairkit.core.engine;

import io.pairkit.api.CopyRequest;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.PairState;
import io.pairkit.api.PairStrategy;
import io.pairkit.api.RequestKind;
import io.pairkit.api.VolumePair;
import org.roaringbitmap.longlong.Roaring64Bitmap;

/** Embodiment 1: whole-volume pair with split, extent update and resync. */
final class VolumePairImpl extends PairModel implements VolumePair {

  VolumePairImpl(Engine engine, String id, ManagedVolume primary, ManagedVolume secondary) {
    super(engine, id, primary, secondary, ExtentSet.of(0, primary.size()), true);
  }

  @Override
  public PairStrategy strategy() {
    return PairStrategy.VOLUME_PAIR;
  }

  @Override
  PairState deriveState(Facts f) {
    return SplitStates.wholeScope(f);
  }

  @Override
  public CopyRequest split() {
    return request(RequestKind.SPLIT, scope(), false, state -> {
      SplitStates.requireUnsplit(this, RequestKind.SPLIT, state);
      return freeze(scopeTracksLocked());
    });
  }

  @Override
  public CopyRequest extentUpdate(ExtentSet extents) {
    Roaring64Bitmap tracks = regionTracks(RequestKind.EXTENT_UPDATE, extents);
    return request(RequestKind.EXTENT_UPDATE, extents, false, state -> {
      if (state != PairState.SPLIT) {
        throw wrongState(RequestKind.EXTENT_UPDATE, state, state == PairState.SPLITTING
            ? "wait for the split request's completion(), then update"
            : "split the pair first (split()), then update extents");
      }
      return update(tracks);
    });
  }

  @Override
  public CopyRequest resync() {
    return request(RequestKind.RESYNC, scope(), true, state -> {
      SplitStates.requireSplit(this, RequestKind.RESYNC, state);
      return join(scopeTracksLocked());
    });
  }

  @Override
  CopyRequest dispatch(RequestKind kind, ExtentSet region) {
    return switch (kind) {
      case SPLIT -> split();
      case EXTENT_UPDATE -> extentUpdate(region);
      case RESYNC -> resync();
      case CREATE -> throw unsupported(kind, "the initial copy starts when the pair is created; "
          + "see initialCopy()");
      default -> throw unsupported(kind, "use split(), extentUpdate(extents) or resync(), or "
          + "create an EXTENT_SPLIT_PAIR for extent split/join");
    };
  }

}
