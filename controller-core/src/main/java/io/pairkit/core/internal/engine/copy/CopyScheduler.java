package io.pairkit.core.internal.engine.copy;

import io.pairkit.api.spi.RateSchedule;
import java.lang.System.Logger.Level;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs the background copies of a controller on {@code copyThreads} workers, one copy run (at
 * most the volumes' preferred I/O size) at a time, fairly: a worker takes its next run from the
 * request jobs first (round-robin among them) and only then from the mirrors (round-robin among
 * pairs), and gives the worker back after each run. So no request waits behind the mirror, however
 * long host writes keep the mirror busy: a request needing T seconds of copying at the configured
 * rate finishes in about T plus one run.
 *
 * <p>Threading: thread-safe. {@link #shutdown()} lets runs in progress end, starts none after, and
 * never interrupts a worker (an interrupted FileChannel closes itself under its volume).
 */
public final class CopyScheduler {
  private static final System.Logger LOG = System.getLogger("io.pairkit.core");

  /** Something with copy runs to hand out. */
  public interface Source {
    /** The next run to execute now, or null if there is none now (or too many in flight). */
    Runnable poll();

    /** True once the source will never hand out another run; the scheduler then drops it. */
    boolean exhausted();
  }

  private final ArrayDeque<Source> requests = new ArrayDeque<>();
  private final ArrayDeque<Source> mirrors = new ArrayDeque<>();
  private final List<Thread> workers = new ArrayList<>();
  /**
   * Workers looking for work or waiting for it. Counted before a worker polls, so a host write
   * that makes work after the poll looked sees the worker and wakes it (no lost wake-up), while a
   * host write with every worker busy takes no lock at all.
   */
  private final AtomicInteger idle = new AtomicInteger();
  private boolean running = true;
  /**
   * When a source held back by its pair's pace ({@link RateSchedule}) may hand out a run
   * ({@code nanoTime}), 0 for none; an idle worker waits no longer than that. Guarded by this.
   */
  private long wakeAtNanos;

  public CopyScheduler(int threads) {
    for (int i = 0; i < threads; i++) {
      Thread t = new Thread(this::work, "pairkit-copy-" + i);
      t.setDaemon(true);
      workers.add(t);
      t.start();
    }
  }

  /** Adds a request job; its runs go before any mirror run. */
  public synchronized void submitRequest(Source job) {
    requests.addLast(job);
    notifyAll();
  }

  /** Adds a pair's mirror; it stays until it reports itself exhausted. */
  public synchronized void submitMirror(Source mirror) {
    mirrors.addLast(mirror);
    notifyAll();
  }

  /** The sources changed (a request ended, a pair may mirror again): wake every idle worker. */
  public void signal() {
    if (idle.get() > 0) {
      synchronized (this) {
        notifyAll();
      }
    }
  }

  /** A host write made a mirror busy: wake one idle worker, if any (no lock when none is idle). */
  public void signalOne() {
    if (idle.get() > 0) {
      synchronized (this) {
        notify();
      }
    }
  }

  private void work() {
    while (true) {
      Runnable run;
      synchronized (this) {
        idle.incrementAndGet();
        try {
          while ((run = nextSafely()) == null) {
            if (!running) {
              return;
            }
            try {
              waitForWork();
            } catch (InterruptedException e) {
              // Workers are never interrupted on purpose; keep serving until shutdown.
            }
          }
        } finally {
          idle.decrementAndGet();
        }
      }
      try {
        run.run();
      } catch (RuntimeException | Error e) {
        LOG.log(Level.ERROR, "a background copy run failed unexpectedly", e);
      }
      // No signal here: this worker looks for the next run itself.
    }
  }

  /**
   * A source has a run for {@code nanoTime} {@code at} but not before (its pair's pace): an
   * idle worker looks again then. Called from a source's {@code poll()}.
   */
  public synchronized void wakeAt(long at) {
    if (wakeAtNanos == 0 || at - wakeAtNanos < 0) {
      wakeAtNanos = at;
    }
  }

  /** Waits to be signalled, or until a paced source may hand out a run. */
  private void waitForWork() throws InterruptedException {
    if (wakeAtNanos == 0) {
      wait();
      return;
    }
    long millis = TimeUnit.NANOSECONDS.toMillis(wakeAtNanos - System.nanoTime()) + 1;
    if (millis > 0) {
      wait(millis);
    }
    if (wakeAtNanos - System.nanoTime() <= 0) {
      wakeAtNanos = 0; // its time came: the sources that are still held back say so again
    }
  }

  /** {@link #next()}, logging a source that failed to hand out a run (the worker lives on). */
  private Runnable nextSafely() {
    try {
      return next();
    } catch (RuntimeException e) {
      LOG.log(Level.ERROR, "a copy source failed to hand out a run", e);
      return null;
    }
  }

  /** Requests first, then mirrors, each round-robin; null if nobody has a run now. */
  private Runnable next() {
    Runnable r = pollFrom(requests);
    return r != null ? r : pollFrom(mirrors);
  }

  private static Runnable pollFrom(ArrayDeque<Source> queue) {
    for (int i = queue.size(); i > 0; i--) {
      Source s = queue.pollFirst();
      Runnable r;
      try {
        r = s.poll();
      } finally {
        if (!s.exhausted()) {
          queue.addLast(s);
        }
      }
      if (r != null) {
        return r;
      }
    }
    return null;
  }

  /** Stops handing out runs once the queues are empty and waits up to 60 s for the workers. */
  public void shutdown() {
    synchronized (this) {
      running = false;
      notifyAll();
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    for (Thread t : workers) {
      try {
        t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
      if (t.isAlive()) {
        LOG.log(Level.WARNING, "background copies did not stop within 60 s of close");
        return;
      }
    }
  }
}
