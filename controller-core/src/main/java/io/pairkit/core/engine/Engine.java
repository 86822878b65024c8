package io.pairkit.core.engine;

import com.google.common.util.concurrent.RateLimiter;
import com.google.common.util.concurrent.ThreadFactoryBuilder;
import io.pairkit.core.ControllerConfig;
import io.pairkit.core.RequestInstantObserver;
import java.nio.ByteBuffer;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;

/** What all volumes and pairs of one controller share: threads, pacing, ids, buffers. */
final class Engine {
  static final Logger LOG = Logger.getLogger("io.pairkit.core");

  final ControllerConfig config;
  final RequestInstantObserver instantObserver;
  final ThreadPoolExecutor copyExecutor;
  final ExecutorService notifier;
  final AtomicLong requestIds = new AtomicLong();
  private final RateLimiter copyRate;
  private final Semaphore tracksInFlight;
  private final ThreadLocal<ByteBuffer> copyBuffers = new ThreadLocal<>();

  Engine(ControllerConfig config, RequestInstantObserver instantObserver) {
    this.config = config;
    this.instantObserver = instantObserver;
    this.copyExecutor = new ThreadPoolExecutor(config.copyThreads(), config.copyThreads(), 0,
        TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(),
        new ThreadFactoryBuilder().setNameFormat("pairkit-copy-%d").setDaemon(true).build());
    this.notifier = Executors.newSingleThreadExecutor(
        new ThreadFactoryBuilder().setNameFormat("pairkit-events").setDaemon(true).build());
    this.copyRate = config.copyBytesPerSecond() > 0
        ? RateLimiter.create(config.copyBytesPerSecond()) : null;
    this.tracksInFlight = new Semaphore(config.maxTracksInFlight());
  }

  private final Object pauseLock = new Object();
  private boolean paused;

  void setPaused(boolean pause) {
    synchronized (pauseLock) {
      paused = pause;
      pauseLock.notifyAll();
    }
  }

  /**
   * Waits while paused, then for a background copy slot and the rate budget for {@code bytes}.
   * Called before any lock is taken, so a paused copy holds nobody up.
   */
  void beginBackgroundCopy(int bytes) {
    synchronized (pauseLock) {
      boolean interrupted = false;
      while (paused) {
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
    tracksInFlight.acquireUninterruptibly();
    if (copyRate != null) {
      copyRate.acquire(Math.max(1, bytes));
    }
  }

  void endBackgroundCopy() {
    tracksInFlight.release();
  }

  /** Alignment of copy buffers: enough for O_DIRECT on common file systems and devices. */
  private static final int BUFFER_ALIGNMENT = 4096;

  /**
   * A direct buffer of at least {@code size} bytes owned by the calling thread. Direct and
   * 4 KiB-aligned, so file backends (even O_DIRECT ones) move bytes without an extra copy.
   */
  ByteBuffer copyBuffer(int size) {
    ByteBuffer b = copyBuffers.get();
    if (b == null || b.capacity() < size) {
      b = ByteBuffer.allocateDirect(size + BUFFER_ALIGNMENT).alignedSlice(BUFFER_ALIGNMENT);
      copyBuffers.set(b);
    }
    b.clear().limit(size);
    return b;
  }

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

  /** Stops the threads; background copies were told to stop first, so nothing is interrupted. */
  void shutdown() {
    copyExecutor.shutdown();
    notifier.shutdown();
    try {
      // No interrupts: an interrupted FileChannel closes itself under the volume.
      if (!copyExecutor.awaitTermination(60, TimeUnit.SECONDS)) {
        LOG.warning("background copies did not stop within 60 s of close");
      }
      notifier.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
