package io.pairkit.core.engine.copy;

/**
 * One pair's cap on its background copies, in bytes per second ({@code PairOptions.copyPace}).
 * Unlike the controller's {@link Pacer} it never blocks: a copy source asks {@link #tryStart}
 * before it hands out a run and hands out none while the pair is ahead of its pace, so a slowly
 * paced pair holds no copy worker and other pairs' copies go on. The schedule is strict (no
 * saved-up bursts): a run starts no earlier than the bytes before it allow at the rate.
 *
 * <p>Threading: thread-safe.
 */
public final class PairPace {
  private volatile long bytesPerSecond;
  /** When the next run may start ({@code nanoTime}); guarded by this. */
  private long nextStartNanos = System.nanoTime();

  /** @param bytesPerSecond the cap, 0 for none */
  public PairPace(long bytesPerSecond) {
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

  private static long nanosFor(long bytes, long rate) {
    return (long) (bytes * 1e9 / rate);
  }
}
