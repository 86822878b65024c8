package io.pairkit.testkit.pairs;

import static io.pairkit.testkit.pairs.AbstractPairSemanticsTest.TS;

import io.pairkit.api.CopyRequest;
import io.pairkit.api.PairState;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * What one run did, for its failure message: every request and step of the main thread, and a
 * summary of host writes (counts, and the last {@value #RECENT_WRITES} begun) in a bounded ring.
 * Thread-safe.
 */
final class OperationLog {
  static final int RECENT_WRITES = 24;
  private static final int MAX_STEPS = 1000;

  private record HostWrite(long seq, String volume, long offset, int length, String thread) {
  }

  private final Deque<String> steps = new ArrayDeque<>();
  private long stepCount;
  private final AtomicLong writes = new AtomicLong();
  private final AtomicLong primaryWrites = new AtomicLong();
  private final AtomicLong secondaryWrites = new AtomicLong();
  private final AtomicLong secondaryRefused = new AtomicLong();
  private final AtomicReferenceArray<HostWrite> recent =
      new AtomicReferenceArray<>(RECENT_WRITES);
  /** Set at the first failure: later host writes are not logged, so the log ends there. */
  private volatile boolean stopped;

  synchronized void step(String what) {
    stepCount++;
    steps.addLast(stepCount + ". " + what);
    if (steps.size() > MAX_STEPS) {
      steps.removeFirst();
    }
  }

  /** Marks where a failure was seen, and keeps the host-write summary as it was then. */
  void failure(String what) {
    if (!stopped) {
      stopped = true;
      step("FAILURE seen here: " + what);
    }
  }

  void request(CopyRequest r, PairState before, PairState after) {
    step(r.kind() + " " + r.region() + " id=" + r.id() + " state " + before + " -> " + after);
  }

  /** Called as a host write begins (a write still in flight at a failure shows). */
  void hostWrite(String volume, long offset, int length) {
    if (stopped) {
      return;
    }
    long seq = writes.incrementAndGet();
    (volume.equals("P") ? primaryWrites : secondaryWrites).incrementAndGet();
    recent.set((int) (seq % RECENT_WRITES), new HostWrite(seq, volume, offset, length,
        Thread.currentThread().getName()));
  }

  void secondaryWriteRefused() {
    if (stopped) {
      return;
    }
    secondaryRefused.incrementAndGet();
  }

  synchronized String render() {
    StringBuilder b = new StringBuilder("operation log:\n  requests and steps (")
        .append(stepCount).append(stepCount > steps.size()
            ? ", the first " + (stepCount - steps.size()) + " dropped" : "").append("):\n");
    for (String s : steps) {
      b.append("    ").append(s).append('\n');
    }
    b.append("  host writes: ").append(writes.get()).append(" (P ").append(primaryWrites.get())
        .append(", S ").append(secondaryWrites.get()).append(" of which ")
        .append(secondaryRefused.get()).append(" refused as joined meanwhile); the last ones "
            + "begun" + (stopped ? " before the failure" : "") + ", oldest first:\n");
    List<HostWrite> last = new ArrayList<>();
    for (int i = 0; i < RECENT_WRITES; i++) {
      HostWrite w = recent.get(i);
      if (w != null) {
        last.add(w);
      }
    }
    last.sort(Comparator.comparingLong(HostWrite::seq));
    for (HostWrite w : last) {
      b.append("    #").append(w.seq()).append(' ').append(w.volume()).append(" [")
          .append(w.offset()).append(", ").append(w.offset() + w.length()).append(") tracks ")
          .append(w.offset() / TS).append('-').append((w.offset() + w.length() - 1) / TS)
          .append(' ').append(w.thread()).append('\n');
    }
    return b.toString();
  }
}
