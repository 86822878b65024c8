package io.pairkit.core.engine;

import com.google.common.util.concurrent.ThreadFactoryBuilder;
import io.pairkit.core.config.ControllerConfig;
import io.pairkit.core.engine.copy.CopyScheduler;
import io.pairkit.core.engine.copy.Pacer;
import io.pairkit.core.engine.volume.RetryPolicy;
import io.pairkit.api.PairListener;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;

/** What all volumes and pairs of one controller share: copy workers, pacing, ids, events. */
final class Engine {
  static final Logger LOG = Logger.getLogger("io.pairkit.core");

  final ControllerConfig config;
  final CopyScheduler scheduler;
  final Pacer pacer;
  final RetryPolicy retry;
  final AtomicLong requestIds = new AtomicLong();
  /** Listeners of every pair of the controller, told after each pair's own. */
  final CopyOnWriteArrayList<PairListener> listeners = new CopyOnWriteArrayList<>();
  private final ExecutorService notifier;
  /** Called at every request instant, under both barriers; for engine tests only. */
  final InstantHook instantHook;

  /** Seen at a request instant, while host writes to both volumes are held off. */
  @FunctionalInterface
  interface InstantHook {
    InstantHook NONE = (pair, requestId) -> { };

    void atInstant(AbstractPair pair, long requestId);
  }

  Engine(ControllerConfig config, InstantHook instantHook) {
    this.config = config;
    this.instantHook = instantHook;
    this.scheduler = new CopyScheduler(config.copyThreads());
    this.pacer = new Pacer(config.copyBytesPerSecond(), config.maxTracksInFlight());
    this.retry = new RetryPolicy(config.transientRetries(), config.retryBackoff());
    this.notifier = Executors.newSingleThreadExecutor(
        new ThreadFactoryBuilder().setNameFormat("pairkit-events").setDaemon(true).build());
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
    notifier.shutdown();
    try {
      notifier.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
