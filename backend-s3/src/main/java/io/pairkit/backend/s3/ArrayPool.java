package io.pairkit.backend.s3;

import java.util.Arrays;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Spare chunk arrays of a {@link ChunkBuffer}, kept for the next entry: a chunk array is a
 * humongous object to the G1 collector, and allocating one per chunk read ahead or written made
 * the collector run marking cycles back to back (a fifth more CPU on a sequential read,
 * measured).
 *
 * <p>Threading: thread-safe and lock-free, so it may be called under any monitor.
 */
final class ArrayPool {
  private final int chunkSize;
  /** Spare chunk arrays ({@link #give}), and how many. */
  private final ConcurrentLinkedDeque<byte[]> spare = new ConcurrentLinkedDeque<>();
  private final AtomicInteger spareCount = new AtomicInteger();
  /** Spare arrays kept at most. */
  private final int maxSpare;

  ArrayPool(int chunkSize, int maxSpare) {
    this.chunkSize = chunkSize;
    this.maxSpare = maxSpare;
  }

  /**
   * An array for a chunk of {@code length} bytes: a spare one if there is (whole chunks only),
   * zeroed if asked, else a new one.
   */
  byte[] take(int length, boolean zeroed) {
    if (length == chunkSize) {
      byte[] a = spare.pollFirst();
      if (a != null) {
        spareCount.decrementAndGet();
        if (zeroed) {
          Arrays.fill(a, (byte) 0);
        }
        return a;
      }
    }
    return new byte[length];
  }

  /** Keeps an array nothing refers to any more for the next entry, up to {@code maxSpare}. */
  void give(byte[] a) {
    if (a != null && a.length == chunkSize && spareCount.incrementAndGet() <= maxSpare) {
      spare.offerFirst(a);
    } else if (a != null && a.length == chunkSize) {
      spareCount.decrementAndGet();
    }
  }
}
