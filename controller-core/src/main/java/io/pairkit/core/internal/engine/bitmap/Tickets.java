package io.pairkit.core.internal.engine.bitmap;

/**
 * The journal tickets one host I/O must wait for before its data may reach a backend: the
 * largest is enough, since the journal makes records durable in order. Used by one thread.
 */
public final class Tickets {
  private long max;

  /** Adds a ticket (0 adds nothing). */
  public void add(long ticket) {
    if (ticket > max) {
      max = ticket;
    }
  }

  /** The ticket to wait for, 0 if none. */
  public long max() {
    return max;
  }
}
