package io.pairkit.core.engine;

import io.pairkit.api.CopyRequest;
import io.pairkit.api.ExtentPair;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.PairState;
import io.pairkit.api.PairStrategy;
import io.pairkit.api.RequestKind;

/**
 * Embodiment 2: a pair over some extents only. Unlike the patent, changes are still tracked after
 * split, so resync copies only differences.
 */
final class ExtentPairImpl extends PairModel implements ExtentPair {

  ExtentPairImpl(Engine engine, String id, ManagedVolume primary, ManagedVolume secondary,
      ExtentSet extents) {
    super(engine, id, primary, secondary, extents, false);
  }

  @Override
  public PairStrategy strategy() {
    return PairStrategy.EXTENT_PAIR;
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
      case RESYNC -> resync();
      case CREATE -> throw unsupported(kind, "the initial copy starts when the pair is created; "
          + "see initialCopy()");
      default -> throw unsupported(kind, "an extent pair splits and resyncs all its extents at "
          + "once: use split() or resync(); for per-extent requests create a VOLUME_PAIR "
          + "(extent update) or an EXTENT_SPLIT_PAIR (extent split/join)");
    };
  }
}
