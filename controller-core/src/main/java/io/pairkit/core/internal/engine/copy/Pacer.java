package io.pairkit.core.internal.engine.copy;

import io.pairkit.api.spi.RateSchedule;
import java.util.concurrent.Semaphore;

/**
 * What holds background copies back, for every pair of a controller: the pause switch, the copy
 * rate ({@code copyBytesPerSecond}) and the cap on tracks in flight. Copy-on-write and host I/O
 * never pass through it. A copy asks before it takes any lock, so a held-back copy holds nobody
 * up.
 *
 * <p>Threading: thread-safe.
 */
public final class Pacer {
  /** The controller's copy rate cap (bytes per second, 0: none). */
  private final RateSchedule schedule;
  private final Semaphore tracksInFlight;
  private final int maxTracksInFlight;
  private final Object pauseLock = new Object();
  private boolean paused;

  /**
   * @param bytesPerSecond    copy rate cap, 0 for none
   * @param maxTracksInFlight tracks that may be in copy at once
   */
  public Pacer(long bytesPerSecond, int maxTracksInFlight) {
    this.schedule = new RateSchedule(bytesPerSecond);
    this.maxTracksInFlight = maxTracksInFlight;
    this.tracksInFlight = new Semaphore(maxTracksInFlight);
  }

  public int maxTracksInFlight() {
    return maxTracksInFlight;
  }

  public void setPaused(boolean pause) {
    synchronized (pauseLock) {
      paused = pause;
      pauseLock.notifyAll();
    }
  }

  /**
   * Waits while paused (unless {@code stopped} turns true: a deleted pair's copy does not wait for
   * the resume), then for {@code tracks} in-flight permits (at most the cap) and the rate budget
   * of {@code bytes}. Returns the permits taken, for {@link #end}.
   */
  public int begin(long tracks, long bytes, java.util.function.BooleanSupplier stopped) {
    awaitNotPaused(stopped);
    int permits = (int) Math.min(tracks, maxTracksInFlight);
    tracksInFlight.acquireUninterruptibly(permits);
    charge(bytes);
    return permits;
  }

  /**
   * Takes {@code bytes} from the rate budget, waiting until they fit ({@link RateSchedule}: the
   * cap holds over any window).
   */
  public void charge(long bytes) {
    schedule.await(bytes, () -> false);
  }

  public void end(int permits) {
    tracksInFlight.release(permits);
  }

  /** Wakes copies waiting out a pause, so those whose pair stopped can give up. */
  public void wakeWaiters() {
    synchronized (pauseLock) {
      pauseLock.notifyAll();
    }
  }

  private void awaitNotPaused(java.util.function.BooleanSupplier stopped) {
    synchronized (pauseLock) {
      boolean interrupted = false;
      while (paused && !stopped.getAsBoolean()) {
        try {
          pauseLock.wait();
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
