package io.pairkit.core.internal.engine;

import io.pairkit.api.CopyRequest;
import io.pairkit.api.ExtentPair;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.PairStrategy;
import io.pairkit.api.RequestKind;

/**
 * Embodiment 2: a pair over some extents only. Unlike the patent, changes are still tracked after
 * split, so resync copies only differences.
 */
final class ExtentPairImpl extends WholeScopeSplitPair implements ExtentPair {

  ExtentPairImpl(Engine engine, String id, ManagedVolume primary, ManagedVolume secondary,
      ExtentSet extents, Restored restored) {
    super(engine, id, primary, secondary, extents, false, restored);
  }

  @Override
  public PairStrategy strategy() {
    return PairStrategy.EXTENT_PAIR;
  }

  @Override
  RequestAdmission.Planned planOther(RequestKind kind, ExtentSet region) {
    throw unsupported(kind, "an extent pair splits and resyncs all its extents at once: use "
        + "split() or resync(); for per-extent requests create a VOLUME_PAIR (extent update) or "
        + "an EXTENT_SPLIT_PAIR (extent split/join)");
  }
}
