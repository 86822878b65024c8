package io.pairkit.core.internal.engine;

import java.lang.System.Logger.Level;
import com.google.common.util.concurrent.ThreadFactoryBuilder;
import io.pairkit.api.PairListener;
import io.pairkit.core.config.ControllerConfig;
import io.pairkit.core.internal.engine.bitmap.BitmapJournal;
import io.pairkit.core.internal.engine.copy.CopyScheduler;
import io.pairkit.core.internal.engine.copy.Pacer;
import io.pairkit.core.internal.engine.intent.WriteIntent;
import io.pairkit.core.internal.engine.volume.RetryPolicy;
import io.pairkit.core.internal.metadata.MetadataStore;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/** What all volumes and pairs of one controller share: copy workers, pacing, ids, events. */
final class Engine {
  static final System.Logger LOG = System.getLogger("io.pairkit.core");

  final ControllerConfig config;
  final CopyScheduler scheduler;
  final Pacer pacer;
  final RetryPolicy retry;
  final AtomicLong requestIds = new AtomicLong();
  /** Listeners of every pair of the controller, told after each pair's own. */
  final CopyOnWriteArrayList<PairListener> listeners = new CopyOnWriteArrayList<>();
  private final ExecutorService notifier;
  /**
   * Runs the secondary's half of synchronous mirror writes and flushes, while the host thread
   * does the primary's: threads are made as needed and end after a minute idle.
   */
  final ExecutorService mirrorWriters;
  /** Called at every request instant, under both barriers; for engine tests only. */
  final InstantHook instantHook;
  /** The durable metadata, or null when pairs live in memory only. */
  final MetadataStore store;
  /** Pairs whose metadata bits the lazy clearer visits. */
  final CopyOnWriteArrayList<AbstractPair> durablePairs = new CopyOnWriteArrayList<>();
  private final ScheduledExecutorService clearer;

  /** Seen at a request instant, while host writes to both volumes are held off. */
  @FunctionalInterface
  interface InstantHook {
    InstantHook NONE = (pair, requestId) -> { };

    void atInstant(AbstractPair pair, long requestId);
  }

  Engine(ControllerConfig config, InstantHook instantHook, MetadataStore store) {
    this.config = config;
    this.instantHook = instantHook;
    this.store = store;
    this.scheduler = new CopyScheduler(config.copyThreads());
    this.pacer = new Pacer(config.copyBytesPerSecond(), config.maxTracksInFlight());
    this.retry = new RetryPolicy(config.transientRetries(), config.retryBackoff());
    this.mirrorWriters = Executors.newCachedThreadPool(
        new ThreadFactoryBuilder().setNameFormat("pairkit-mirror-write-%d").setDaemon(true)
            .build());
    this.notifier = Executors.newSingleThreadExecutor(
        new ThreadFactoryBuilder().setNameFormat("pairkit-events").setDaemon(true).build());
    if (store != null) {
      this.clearer = Executors.newSingleThreadScheduledExecutor(
          new ThreadFactoryBuilder().setNameFormat("pairkit-metadata").setDaemon(true).build());
      long ms = config.lazyClearDelay().toMillis();
      clearer.scheduleWithFixedDelay(this::clearLazily, ms, ms, TimeUnit.MILLISECONDS);
    } else {
      this.clearer = null;
    }
  }

  /** The journal a new pair's bitmaps record their bits in. */
  BitmapJournal journalFor(String pairId, WriteIntent intent) {
    return store == null ? BitmapJournal.NONE : new PairJournal(store, pairId, intent);
  }

  /** One round of lazy clearing over every durable pair, then a checkpoint if one is due. */
  private void clearLazily() {
    for (AbstractPair p : durablePairs) {
      try {
        p.lazyRound();
      } catch (RuntimeException e) {
        LOG.log(Level.WARNING, "recording copied tracks and quiet regions of " + p + " in the "
            + "metadata failed; they stay marked (so they are copied again after a crash) and "
            + "are retried", e);
      }
    }
    try {
      store.checkpointIfDue();
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "a metadata checkpoint failed; the journal keeps growing until one "
          + "succeeds", e);
    }
  }

  /** Stops the lazy clearer (before a clean close writes the exact bits). */
  void stopClearer() {
    if (clearer != null) {
      clearer.shutdown();
      try {
        clearer.awaitTermination(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Runs listener code on the event thread, so no listener runs under an engine lock. */
  void notifyListeners(Runnable event) {
    try {
      notifier.execute(() -> {
        try {
          event.run();
        } catch (RuntimeException e) {
          LOG.log(Level.WARNING, "a pair listener threw; ignored", e);
        }
      });
    } catch (RejectedExecutionException closed) {
      // The controller is closed: nobody is left to tell.
    }
  }

  /** Tells one listener; one that throws is logged and does not silence the others. */
  void tell(PairListener listener, io.pairkit.api.Pair pair, io.pairkit.api.PairState from,
      io.pairkit.api.PairState to) {
    try {
      listener.stateChanged(pair, from, to);
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "a listener of pair '" + pair.id() + "' threw on " + from + " -> "
          + to + "; the other listeners are still told", e);
    }
  }

  /** Stops the threads; background copies were told to stop first, so nothing is interrupted. */
  void shutdown() {
    scheduler.shutdown();
    mirrorWriters.shutdown(); // after the volumes' host I/O ended: no write is in flight
    notifier.shutdown();
    try {
      notifier.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
