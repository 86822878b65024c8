package io.pairkit.api;

/**
 * Told of each state change of a pair. Called on one notification thread per controller, in the
 * order the changes happened, never while the engine holds a lock; a slow listener delays only
 * other listeners. An exception thrown by a listener is logged and otherwise ignored.
 */
@FunctionalInterface
public interface PairListener {
  void stateChanged(Pair pair, PairState from, PairState to);
}
