package io.pairkit.core.internal.engine.copy;

import java.util.concurrent.atomic.AtomicLong;

/** Tracks copied for one pair, by reason. Thread-safe. */
public final class CopyCounters {
  final AtomicLong job = new AtomicLong();
  final AtomicLong mirror = new AtomicLong();
  final AtomicLong copyOnWrite = new AtomicLong();
  final AtomicLong secondaryBase = new AtomicLong();
  final AtomicLong skipped = new AtomicLong();

  /** Counts a copy-on-write of one track. */
  public void countCopyOnWrite() {
    copyOnWrite.incrementAndGet();
  }

  /** Counts a base copy of one track before a partial secondary write. */
  public void countSecondaryBase() {
    secondaryBase.incrementAndGet();
  }

  public long job() {
    return job.get();
  }

  public long mirror() {
    return mirror.get();
  }

  public long copyOnWrite() {
    return copyOnWrite.get();
  }

  public long secondaryBase() {
    return secondaryBase.get();
  }

  public long skipped() {
    return skipped.get();
  }
}
