package io.pairkit.api;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * One accepted pair request. Its effect on the pair took place atomically when the request method
 * returned (the "request instant"); its background copy runs afterwards, and {@link #completion()}
 * completes when that copy is done — the equivalent of a storage admin's {@code pairevtwait}.
 * Its copy goes before the mirror's work: a request needing T seconds of copying at the configured
 * rate finishes in about T plus one copy run.
 *
 * <p>Thread-safe. A copy that fails on a backend error (after the transient retries) stops before
 * its next run, completes the future exceptionally with a
 * {@link io.pairkit.api.error.VolumeIOException} and suspends the pair; the tracks it did not copy
 * stay pending, and {@link Pair#resume()} copies them. A request abandoned because its pair was
 * deleted or its controller closed completes with a
 * {@link java.util.concurrent.CancellationException}. Every method keeps answering after that
 * (its last progress).
 */
public interface CopyRequest {

  /** Id, increasing in request order within a controller. */
  long id();

  /** The pair this request belongs to. */
  String pairId();

  /** What was requested. */
  RequestKind kind();

  /** The byte extents the request covers (the whole scope for create, split, resync and resume). */
  ExtentSet region();

  /** A snapshot of the copy's progress. */
  CopyProgress progress();

  /**
   * Completes with the final progress when the request's copy is done; exceptionally as the type
   * comment says.
   */
  CompletableFuture<CopyProgress> completion();

  /** True once {@link #completion()} is complete, whichever way. */
  default boolean isDone() {
    return completion().isDone();
  }

  /**
   * Waits up to {@code timeout} for the copy to finish and returns its final progress.
   *
   * @throws io.pairkit.api.error.VolumeIOException the copy's failure
   * @throws java.util.concurrent.CancellationException if the request was abandoned (pair deleted,
   *     controller closed)
   * @throws io.pairkit.api.error.PairKitException if the time ran out (the copy goes on), or the
   *     thread was interrupted (its interrupt flag is set again)
   */
  CopyProgress await(Duration timeout);
}
