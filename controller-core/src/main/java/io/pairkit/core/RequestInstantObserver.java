package io.pairkit.core;

import io.pairkit.api.Pair;
import io.pairkit.api.RequestKind;

/**
 * Called at the instant a pair request takes effect, while host writes to both volumes are held
 * off. Meant for auditing and for tests that record the primary's image at that instant. It must
 * be quick. It may read the primary through its host view (primary reads take no lock) or read
 * backend volumes directly; it must not issue requests, write either volume, or read the
 * secondary through its host view (the locks those need are held: it would deadlock).
 */
@FunctionalInterface
public interface RequestInstantObserver {
  void atInstant(Pair pair, RequestKind kind, long requestId);
}
