package io.pairkit.core.internal.engine.volume;

import java.time.Duration;

/**
 * How transient backend failures are retried: up to {@code retries} more attempts, waiting
 * {@code backoff} before the first and doubling up to two seconds.
 *
 * @param retries attempts after the first failure
 * @param backoff wait before the first retry
 */
public record RetryPolicy(int retries, Duration backoff) {
  private static final long MAX_WAIT_NANOS = Duration.ofSeconds(2).toNanos();

  /** The wait before retry number {@code attempt} (1 for the first retry). */
  long waitNanos(int attempt) {
    long base = Math.max(1, backoff.toNanos());
    long wait = base << Math.min(attempt - 1, 30);
    return wait <= 0 ? MAX_WAIT_NANOS : Math.min(wait, MAX_WAIT_NANOS);
  }
}
