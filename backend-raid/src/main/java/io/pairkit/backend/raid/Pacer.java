package io.pairkit.backend.raid;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * A strict rate schedule (md's {@code speed_limit_max}): each acquisition books the next slot of
 * time; idle time is not saved up into a burst. For one thread.
 */
final class Pacer {
  private final long bytesPerSecond;
  private long next = System.nanoTime();

  Pacer(long bytesPerSecond) {
    this.bytesPerSecond = bytesPerSecond;
  }

  /**
   * Waits until {@code bytes} may move, or until {@code stop} says so (checked whenever the
   * thread is unparked).
   *
   * @return false if stopped
   */
  boolean acquire(long bytes, BooleanSupplier stop) {
    long now = System.nanoTime();
    if (next < now) {
      next = now;
    }
    long start = next;
    next += bytes * TimeUnit.SECONDS.toNanos(1) / bytesPerSecond;
    for (long wait = start - now; wait > 0; wait = start - System.nanoTime()) {
      if (stop.getAsBoolean()) {
        return false;
      }
      LockSupport.parkNanos(wait);
    }
    return !stop.getAsBoolean();
  }
}
