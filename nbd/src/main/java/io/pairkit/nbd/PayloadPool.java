package io.pairkit.nbd;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Reusable arrays for large NBD payloads. Allocating a fresh array per request made a JVM serving
 * 1 MiB requests allocate humongous objects by the gigabyte, and the garbage collector's work
 * after such a burst (concurrent marking on 2 cores) halved the 4 KiB random-write rate of the
 * next seconds (docs/BENCHMARKS.md, the NBD section). Payloads from 64 KiB up come from power-of-
 * two size classes kept here, a few arrays per class; smaller ones are cheap to allocate.
 *
 * <p>Threading: thread-safe.
 */
final class PayloadPool {
  private static final int SMALLEST = 64 << 10;
  private static final int CLASSES = 10; // 64 KiB .. 32 MiB
  private static final int KEPT_PER_CLASS = 16;

  @SuppressWarnings("unchecked")
  private final ConcurrentLinkedQueue<byte[]>[] free = new ConcurrentLinkedQueue[CLASSES];
  private final AtomicInteger[] kept = new AtomicInteger[CLASSES];

  PayloadPool() {
    for (int i = 0; i < CLASSES; i++) {
      free[i] = new ConcurrentLinkedQueue<>();
      kept[i] = new AtomicInteger();
    }
  }

  /** An array of at least {@code length} bytes (its first {@code length} bytes are used). */
  byte[] take(int length) {
    int c = sizeClass(length);
    if (c < 0) {
      return new byte[length];
    }
    byte[] b = free[c].poll();
    if (b != null) {
      kept[c].decrementAndGet();
      return b;
    }
    return new byte[SMALLEST << c];
  }

  /** Returns an array from {@link #take}; kept for reuse unless its class is full. */
  void give(byte[] b) {
    int c = sizeClass(b.length);
    if (c < 0 || b.length != SMALLEST << c) {
      return;
    }
    if (kept[c].incrementAndGet() <= KEPT_PER_CLASS) {
      free[c].offer(b);
    } else {
      kept[c].decrementAndGet();
    }
  }

  private static int sizeClass(int length) {
    if (length < SMALLEST) {
      return -1;
    }
    int c = 32 - Integer.numberOfLeadingZeros((length - 1) / SMALLEST);
    return c < CLASSES ? c : -1;
  }
}
