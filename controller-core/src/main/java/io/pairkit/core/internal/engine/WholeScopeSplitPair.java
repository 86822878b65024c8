package io.pairkit.core.internal.engine;

import io.pairkit.api.CopyRequest;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.PairState;
import io.pairkit.api.RequestKind;

/**
 * What the volume pair and the extent pair share: the whole scope splits and resyncs at once.
 * States FORMING, FORMED, SPLITTING, SPLIT, RESYNCING.
 */
abstract class WholeScopeSplitPair extends AbstractPair {

  WholeScopeSplitPair(Engine engine, String id, ManagedVolume primary, ManagedVolume secondary,
      ExtentSet scope, boolean wholeVolume, Restored restored) {
    super(engine, id, primary, secondary, scope, wholeVolume, restored);
  }

  @Override
  PairState deriveState(PairLifecycle.Facts f) {
    if (!f.nothingFrozen()) {
      if (f.running(RequestKind.RESTORE)) {
        return PairState.RESTORING;
      }
      return f.running(RequestKind.SPLIT) ? PairState.SPLITTING : PairState.SPLIT;
    }
    if (f.running(RequestKind.RESYNC) || f.running(RequestKind.RESUME)) {
      return f.initialCopyDone() ? PairState.RESYNCING : PairState.FORMING;
    }
    return f.initialCopyDone() ? PairState.FORMED : PairState.FORMING;
  }

  @Override
  RequestKind splitKind() {
    return RequestKind.SPLIT;
  }

  /** Freezes the whole scope at this instant. Allowed in FORMING and FORMED. */
  public CopyRequest split() {
    return admission.request(planSplit());
  }

  private RequestAdmission.Planned planSplit() {
    return new RequestAdmission.Planned(RequestKind.SPLIT, scope(), false, state -> {
      if (state != PairState.FORMING && state != PairState.FORMED) {
        throw wrongState(RequestKind.SPLIT, state, state == PairState.RESYNCING
            ? "wait for the resync's completion(), then split"
            : "the pair is already split; resync() it first");
      }
      return () -> {
        bitmaps.freeze(bitmaps.scope());
        return bitmaps.scope();
      };
    });
  }

  /** Unfreezes the whole scope and copies the differences. Allowed in SPLIT. */
  public CopyRequest resync() {
    return admission.request(planResync());
  }

  private RequestAdmission.Planned planResync() {
    return new RequestAdmission.Planned(RequestKind.RESYNC, scope(), true, state -> {
      requireSplit(RequestKind.RESYNC, state);
      return () -> {
        bitmaps.join(bitmaps.scope());
        return bitmaps.scope();
      };
    });
  }

  void requireSplit(RequestKind kind, PairState state) {
    if (state != PairState.SPLIT) {
      throw wrongState(kind, state, state == PairState.SPLITTING
          ? "wait for the split request's completion(), then " + kind.name().toLowerCase()
          : "split() the pair first");
    }
  }

  /** Plans split, resync and create; others are the strategy's. */
  @Override
  final RequestAdmission.Planned plan(RequestKind kind, ExtentSet region) {
    return switch (kind) {
      case SPLIT -> planSplit();
      case RESYNC -> planResync();
      case RESTORE -> planRestore(region, PairState.SPLIT);
      case CREATE -> throw unsupported(kind, "the initial copy starts when the pair is created; "
          + "see initialCopy()");
      default -> planOther(kind, region);
    };
  }

  abstract RequestAdmission.Planned planOther(RequestKind kind, ExtentSet region);
}
