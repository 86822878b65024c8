package io.pairkit.api;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * One accepted pair request. Its effect on the pair took place atomically when the request method
 * returned (the "request instant"); its background copy runs afterwards, and {@link #completion()}
 * completes when that copy is done — the equivalent of a storage admin's {@code pairevtwait}.
 *
 * <p>Thread-safe. A copy that fails on a backend error completes the future exceptionally with a
 * {@link io.pairkit.api.error.VolumeIOException} and suspends the pair; a request abandoned because
 * its pair was deleted or its controller closed completes with a
 * {@link java.util.concurrent.CancellationException}.
 */
public interface CopyRequest {

  /** Id, increasing in request order within a controller. */
  long id();

  /** The pair this request belongs to. */
  String pairId();

  RequestKind kind();

  /** The byte extents the request covers (the whole scope for create, split and resync). */
  ExtentSet region();

  /** A snapshot of the copy's progress. */
  CopyProgress progress();

  /** Completes with the final progress when the request's copy is done. */
  CompletableFuture<CopyProgress> completion();

  /** True once {@link #completion()} is complete, whichever way. */
  default boolean isDone() {
    return completion().isDone();
  }

  /**
   * Waits up to {@code timeout} for the copy to finish and returns its final progress.
   *
   * @throws io.pairkit.api.error.PairKitException the copy's failure, or a
   *     {@link io.pairkit.api.error.PairKitException} if the time ran out (the copy goes on)
   */
  CopyProgress await(Duration timeout);
}
