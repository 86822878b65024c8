package io.pairkit.core.engine;

import io.pairkit.api.PairState;
import io.pairkit.api.RequestKind;

/** State rules shared by the two strategies that split their whole scope at once. */
final class SplitStates {
  private SplitStates() {
  }

  /** FORMING/FORMED, SPLITTING/SPLIT, RESYNCING from the facts of a whole-scope-split pair. */
  static PairState wholeScope(PairModel.Facts f) {
    if (!f.nothingFrozen()) {
      return f.running(RequestKind.SPLIT) ? PairState.SPLITTING : PairState.SPLIT;
    }
    if (f.running(RequestKind.RESYNC) || f.running(RequestKind.RESUME)) {
      return f.initialCopyDone() ? PairState.RESYNCING : PairState.FORMING;
    }
    return f.initialCopyDone() ? PairState.FORMED : PairState.FORMING;
  }

  static void requireUnsplit(PairModel pair, RequestKind kind, PairState state) {
    if (state != PairState.FORMING && state != PairState.FORMED) {
      throw pair.wrongState(kind, state, state == PairState.RESYNCING
          ? "wait for the resync's completion(), then split"
          : "the pair is already split; resync() it first");
    }
  }

  static void requireSplit(PairModel pair, RequestKind kind, PairState state) {
    if (state != PairState.SPLIT) {
      throw pair.wrongState(kind, state, state == PairState.SPLITTING
          ? "wait for the split request's completion(), then " + kind.name().toLowerCase()
          : "there is nothing split to resync; split() first");
    }
  }
}
