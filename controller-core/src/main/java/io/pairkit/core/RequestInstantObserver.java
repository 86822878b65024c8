package io.pairkit.core;

import io.pairkit.api.Pair;
import io.pairkit.api.RequestKind;

/**
 * Called at the instant a pair request takes effect, while host writes to both volumes are held
 * off. Meant for auditing and for tests that record the primary's image at that instant. It must
 * be quick and must not call the controller or the pair's volumes (their locks are held); it may
 * read the backend volumes directly.
 */
@FunctionalInterface
public interface RequestInstantObserver {
  void atInstant(Pair pair, RequestKind kind, long requestId);
}
