package io.pairkit.api;

/**
 * Told of the state changes of a pair. Called on one event thread per controller, in the order the
 * changes were published, never while the engine holds a lock; a slow listener delays the other
 * listeners, never host I/O or copies. For one pair, each call's {@code from} is the previous
 * call's {@code to}; states that last only between two publications (a request that completes at
 * once, say) may be skipped. A pair's own listeners are called before the controller-wide ones.
 *
 * <p>An exception thrown by a listener is logged and not passed on; the other listeners are still
 * told of that change. A controller's close is not a state change: pairs keep their state and no
 * event follows it; events queued before it are still delivered (close waits up to 10 seconds
 * for them).
 */
@FunctionalInterface
public interface PairListener {
  /** {@code pair} went from state {@code from} to state {@code to}. */
  void stateChanged(Pair pair, PairState from, PairState to);
}
