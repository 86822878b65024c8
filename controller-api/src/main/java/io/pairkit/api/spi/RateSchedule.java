package io.pairkit.api.spi;

import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * A strict rate schedule in bytes per second, the one pacer of PairKit's background work (no
 * saved-up bursts: a run starts no earlier than the bytes before it allow at the rate, as md's
 * {@code speed_limit_max}; Guava's RateLimiter saves up to a second of idle time and spends it in
 * a burst, which overshoots a cap). Three ways to use it: {@link #tryStart}, which never blocks
 * (a pair's cap on its background copies, asked before a run is handed out, so a slowly paced
 * pair holds no copy worker); {@link #reserve}, which books and says when to start; and
 * {@link #await}, which books and waits (the controller's copy rate, a RAID rebuild). A backend
 * pacing its own background work (a rebuild, a scrub, a migration) uses it the same way.
 *
 * <p>Threading: thread-safe.
 */
public final class RateSchedule {
  private volatile long bytesPerSecond;
  /** When the next run may start ({@code nanoTime}); guarded by this. */
  private long nextStartNanos = System.nanoTime();

  /** @param bytesPerSecond the cap, 0 for none */
  public RateSchedule(long bytesPerSecond) {
    this.bytesPerSecond = bytesPerSecond;
  }

  public long bytesPerSecond() {
    return bytesPerSecond;
  }

  /** Changes the cap from now on (0: none); a run already allowed keeps its start. */
  public synchronized void set(long bytesPerSecond) {
    this.bytesPerSecond = bytesPerSecond;
    nextStartNanos = Math.min(nextStartNanos, System.nanoTime());
  }

  /**
   * Takes {@code bytes} from the budget if a run may start now.
   *
   * @return 0 if it may (the bytes are charged), else the {@code nanoTime} at which to ask again
   */
  public long tryStart(long bytes) {
    long rate = bytesPerSecond;
    if (rate <= 0) {
      return 0;
    }
    synchronized (this) {
      long now = System.nanoTime();
      if (nextStartNanos > now) {
        return nextStartNanos;
      }
      nextStartNanos = now + nanosFor(bytes, rate);
      return 0;
    }
  }

  /**
   * Books {@code bytes} after what is booked already and returns when they may start
   * ({@code nanoTime}; now or later); 0 if there is no cap.
   */
  public long reserve(long bytes) {
    long rate = bytesPerSecond;
    if (rate <= 0 || bytes <= 0) {
      return 0;
    }
    synchronized (this) {
      long startAt = Math.max(System.nanoTime(), nextStartNanos);
      nextStartNanos = startAt + nanosFor(bytes, rate);
      return startAt;
    }
  }

  /** Gives back bytes charged by {@link #tryStart} that the run did not move (holes, parts). */
  public void refund(long bytes) {
    long rate = bytesPerSecond;
    if (rate <= 0 || bytes <= 0) {
      return;
    }
    synchronized (this) {
      nextStartNanos -= nanosFor(bytes, rate);
    }
  }

  /**
   * Books {@code bytes} and waits until they may start, or until {@code stop} says so (checked
   * whenever the thread wakes). Never interrupts, and an interrupt does not end the wait early.
   *
   * @return false if stopped
   */
  public boolean await(long bytes, BooleanSupplier stop) {
    long startAt = reserve(bytes);
    if (startAt != 0) {
      for (long wait = startAt - System.nanoTime(); wait > 0;
          wait = startAt - System.nanoTime()) {
        if (stop.getAsBoolean()) {
          return false;
        }
        LockSupport.parkNanos(wait);
      }
    }
    return !stop.getAsBoolean();
  }

  private static long nanosFor(long bytes, long rate) {
    return (long) (bytes * 1e9 / rate);
  }
}
