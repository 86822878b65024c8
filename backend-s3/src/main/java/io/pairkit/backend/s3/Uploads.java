package io.pairkit.backend.s3;

import com.google.common.collect.TreeRangeSet;
import io.pairkit.api.spi.TransientIOException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The uploads of a {@link ChunkBuffer}'s dirty chunks, and when they start: at once for a chunk
 * written whole (the caller starts those), after the write-back time, and under memory pressure
 * (past the high-water mark, least recently used first, down to the low-water mark). Each upload
 * is one whole-object PUT, or a DELETE for a chunk that is all zeros, tried {@link #ATTEMPTS}
 * times; its outcome goes to {@link BufferRoom}, where writers wait for it. Kept together because
 * the scheduling rules all count the same uploads in flight.
 *
 * <p>Threading: thread-safe; no lock of its own ({@link #running}, {@link #uploadsStarted} and
 * {@link #choosing} are atomics). {@link #startUpload} runs under the entry's monitor; an upload
 * takes its entry's monitor and then, without it, {@code space}; it never holds both.
 */
final class Uploads {
  /** Attempts per chunk upload (the lease is checked before each). */
  static final int ATTEMPTS = 4;

  private final String volume;
  private final ChunkStore store;
  private final ChunkIndex chunks;
  private final ArrayPool arrays;
  private final BaseLoader bases;
  private final BufferRoom room;
  private final int concurrency;
  /** Dirty entries not being uploaded above which write-back starts (half the entries). */
  private final int highWater;
  /** Write-back under pressure stops once this many idle dirty entries are left. */
  private final int lowWater;
  private final ExecutorService uploaders;
  /** One thread at a time picks chunks for the pressure write-back (others need not wait). */
  private final AtomicBoolean choosing = new AtomicBoolean();
  private final AtomicInteger uploadsStarted = new AtomicInteger();
  /** Uploads started and not ended (started under a chunk's monitor, so not under space). */
  private final AtomicInteger running = new AtomicInteger();
  /** Starts the uploads of chunks dirty for longer than {@link #writeBackNanos}. */
  private final ScheduledExecutorService writeBack;
  private final long writeBackNanos;

  /**
   * @param writeBack how long a chunk may stay dirty before it is uploaded without a flush
   */
  Uploads(String volume, ChunkStore store, ChunkIndex chunks, ArrayPool arrays,
      BaseLoader bases, BufferRoom room, int concurrency, int maxChunks, Duration writeBack) {
    this.volume = volume;
    this.store = store;
    this.chunks = chunks;
    this.arrays = arrays;
    this.bases = bases;
    this.room = room;
    this.concurrency = concurrency;
    this.highWater = Math.max(1, maxChunks / 2);
    this.lowWater = Math.max(0, maxChunks / 4);
    AtomicInteger n = new AtomicInteger();
    this.uploaders = Executors.newFixedThreadPool(concurrency, r -> {
      Thread t = new Thread(r, "pairkit-s3-upload-" + volume + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    this.writeBackNanos = writeBack.toNanos();
    this.writeBack = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "pairkit-s3-writeback-" + volume);
      t.setDaemon(true);
      return t;
    });
    long period = Math.max(50, writeBack.toMillis() / 2);
    this.writeBack.scheduleWithFixedDelay(this::writeBackOld, period, period,
        TimeUnit.MILLISECONDS);
  }

  /** Uploads started so far. */
  int uploadsStarted() {
    return uploadsStarted.get();
  }

  /** Uploads started and not ended. */
  int running() {
    return running.get();
  }

  /** Starts the uploads of chunks that have been dirty for longer than the write-back time. */
  private void writeBackOld() {
    if (room.storeFailing()) {
      return; // the next flush, or a writer needing room, tries again
    }
    long now = System.nanoTime();
    for (Chunk c : chunks.values()) {
      synchronized (c) {
        if (!c.evicted && c.dirty() && c.upload == null && now - c.dirtySince >= writeBackNanos) {
          startUpload(c);
        }
      }
    }
  }

  /**
   * Write-back before the buffer is full: once more than {@link #highWater} entries are dirty
   * and not being uploaded, uploads the least recently used of them, down to {@link #lowWater}
   * and never more than {@code concurrency} uploads in flight. Cheap when there is nothing to do
   * (two counters); one thread chooses at a time, the others go on. Called without any monitor.
   */
  void writeBackUnderPressure() {
    if (room.storeFailing()) {
      return; // a writer needing room, the timer or a flush tries again
    }
    int inFlight = running.get();
    int idle = chunks.dirty() - inFlight;
    if (idle <= highWater || inFlight >= concurrency) {
      return;
    }
    if (!choosing.compareAndSet(false, true)) {
      return;
    }
    try {
      startLeastRecentlyUsedUploads(Math.min(concurrency - inFlight, idle - lowWater));
    } finally {
      choosing.set(false);
    }
  }

  /** Starts uploads of the least recently used dirty chunks until {@code concurrency} run. */
  void fillUploadSlots() {
    startLeastRecentlyUsedUploads(concurrency - running.get());
  }

  /**
   * Starts uploads of up to {@code n} dirty chunks not being uploaded, least recently used first
   * (those are the least likely to be written again during their upload, which would leave
   * them dirty and so not evictable), while fewer than {@code concurrency} uploads run.
   */
  private void startLeastRecentlyUsedUploads(int n) {
    if (n <= 0) {
      return;
    }
    List<Chunk> idle = new ArrayList<>();
    List<Long> uses = new ArrayList<>();
    for (Chunk c : chunks.values()) {
      synchronized (c) {
        if (!c.evicted && c.dirty() && c.upload == null) {
          idle.add(c);
          uses.add(c.lastUse);
        }
      }
    }
    Integer[] order = new Integer[idle.size()];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    Arrays.sort(order, Comparator.comparingLong(uses::get));
    int started = 0;
    for (Integer i : order) {
      if (started >= n || running.get() >= concurrency) {
        return;
      }
      Chunk c = idle.get(i);
      synchronized (c) {
        if (!c.evicted && c.dirty() && c.upload == null) {
          startUpload(c);
          started++;
        }
      }
    }
  }

  /**
   * Starts an upload of {@code c}'s current version; the caller holds {@code c}'s monitor. Once
   * the upload threads are shut down, {@code c.upload} stays null.
   */
  void startUpload(Chunk c) {
    CompletableFuture<Void> f = new CompletableFuture<>();
    c.upload = f;
    uploadsStarted.incrementAndGet();
    running.incrementAndGet();
    try {
      uploaders.execute(() -> upload(c, f));
    } catch (RejectedExecutionException e) {
      running.decrementAndGet();
      c.upload = null;
      f.completeExceptionally(new IOException("volume '" + volume + "' is closed"));
      return;
    }
  }

  private void upload(Chunk c, CompletableFuture<Void> f) {
    Throwable failure = null;
    byte[] data = null;
    try {
      bases.loadBase(c);
      long version;
      synchronized (c) {
        version = c.version;
        data = c.data;
        if (data != null && c.partDiscarded) {
          c.partDiscarded = false;
          if (allZero(data)) {
            data = null; // discarded down to zeros: a DELETE, not a PUT of zeros
          }
        }
        c.shared = data != null;
        c.written = TreeRangeSet.create(); // writes from now on count towards the next upload
      }
      for (int attempt = 1; ; attempt++) {
        try {
          if (data == null) {
            store.delete(c.index);
            chunks.setStored(c.index, false);
          } else {
            store.put(c.index, data, c.length);
            chunks.setStored(c.index, true);
          }
          break;
        } catch (TransientIOException e) {
          if (attempt >= ATTEMPTS) {
            throw e;
          }
          // Back off (100, 200, 400 ms, jittered); the store re-checks the lease each attempt.
          Thread.sleep((50L << attempt) + ThreadLocalRandom.current()
              .nextLong(50L << attempt));
        }
      }
      synchronized (c) {
        if (c.data == data) {
          c.shared = false;
        }
        chunks.storedVersion(c, version);
      }
    } catch (Throwable e) {
      failure = e;
    } finally {
      // Whatever happened (an Error included), the future completes and the entry is free.
      IOException io = failure == null ? null : failure instanceof IOException ioe ? ioe
          : failure instanceof InterruptedException
          ? new InterruptedIOException("volume '" + volume + "': upload of chunk " + c.index
              + " interrupted")
          : new IOException("volume '" + volume + "': upload of chunk " + c.index + " failed: "
              + failure, failure);
      synchronized (c) {
        if (io != null) {
          c.shared = false;
        } else if (data != null && c.data != data) {
          arrays.give(data); // the entry moved on to a copy (or was discarded): nobody refers to it
        }
        c.upload = null;
        if (io == null && c.dirty() && c.written == null) {
          startUpload(c); // rewritten whole while it was uploading
        }
      }
      running.decrementAndGet();
      room.uploadEnded(io);
      if (io == null) {
        f.complete(null);
      } else {
        f.completeExceptionally(io);
      }
      if (failure instanceof Error err) {
        throw err;
      }
      writeBackUnderPressure(); // keep the uploads going while the buffer is past its mark
    }
  }

  private static boolean allZero(byte[] data) {
    for (byte b : data) {
      if (b != 0) {
        return false;
      }
    }
    return true;
  }

  /** Stops the time-based write-back: no upload starts by age any more. */
  void stopWriteBack() {
    writeBack.shutdownNow();
  }

  /**
   * Stops the upload threads after the uploads in flight; no upload starts afterwards.
   *
   * @return whether every upload thread has ended (none can still store a chunk)
   */
  boolean close(Duration wait) {
    uploaders.shutdown();
    try {
      if (!uploaders.awaitTermination(wait.toMillis(), TimeUnit.MILLISECONDS)) {
        uploaders.shutdownNow();
        return uploaders.awaitTermination(1, TimeUnit.SECONDS);
      }
      return true;
    } catch (InterruptedException e) {
      uploaders.shutdownNow();
      Thread.currentThread().interrupt();
      return false;
    }
  }
}
