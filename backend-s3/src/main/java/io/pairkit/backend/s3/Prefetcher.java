package io.pairkit.backend.s3;

import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Read-ahead into a {@link ChunkBuffer}: a stored chunk that the volume expects to be read soon
 * is fetched whole, on up to {@code concurrency} threads of its own, into a clean entry; readers
 * of it wait for that fetch instead of sending their own requests. At most {@link #maxPrefetch}
 * entries are fetched ahead and not yet read, and a prefetch never waits for room nor takes an
 * entry a writer waits for, so read-ahead cannot hold up writes. Which chunks to fetch is the
 * volume's choice ({@link ReadAhead}); this is how they are fetched.
 *
 * <p>Threading: thread-safe; no lock of its own. It takes {@code space} (through
 * {@link BufferRoom}) and an entry's monitor, never one while holding the other.
 */
final class Prefetcher {
  private final String volume;
  private final ChunkIndex chunks;
  private final BufferRoom room;
  private final BaseLoader bases;
  /** Entries fetched ahead and not yet read, at most. */
  private final int maxPrefetch;
  /** Read-ahead fetches. */
  private final ExecutorService fetchers;
  /** Read-ahead fetches started (tests count them). */
  private final AtomicInteger prefetchesStarted = new AtomicInteger();

  Prefetcher(String volume, int concurrency, int maxChunks, ChunkIndex chunks, BufferRoom room,
      BaseLoader bases) {
    this.volume = volume;
    this.chunks = chunks;
    this.room = room;
    this.bases = bases;
    this.maxPrefetch = Math.max(1, Math.min(concurrency, maxChunks / 2));
    AtomicInteger f = new AtomicInteger();
    this.fetchers = Executors.newFixedThreadPool(concurrency, r -> {
      Thread t = new Thread(r, "pairkit-s3-readahead-" + volume + "-" + f.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
  }

  /** Read-ahead fetches started so far. */
  int prefetchesStarted() {
    return prefetchesStarted.get();
  }

  /** How many entries read-ahead may hold that were not read yet. */
  int maxPrefetch() {
    return maxPrefetch;
  }

  /** See {@link ChunkBuffer#prefetch}. */
  boolean prefetch(long index) {
    if (chunks.contains(index) || !chunks.isStored(index)) {
      return true;
    }
    if (!chunks.reservePrefetch(maxPrefetch)) {
      return false;
    }
    if (!room.tryReserve()) {
      chunks.releasePrefetch();
      return false;
    }
    Chunk made = new Chunk(index, chunks.lengthOf(index));
    made.lastUse = chunks.tick();
    made.prefetched = true;
    CompletableFuture<Void> f = new CompletableFuture<>();
    made.loading = f; // before it is published: readers wait for this fetch
    if (chunks.putIfAbsent(index, made) != null) {
      chunks.releasePrefetch();
      room.unreserve();
      return true;
    }
    prefetchesStarted.incrementAndGet();
    try {
      fetchers.execute(() -> prefetched(made, f));
    } catch (RejectedExecutionException e) {
      dropFailedPrefetch(made, f, new IOException("volume '" + volume + "' is closed"));
    }
    return true;
  }

  /** The read-ahead fetch of {@code c}, on a read-ahead thread. */
  private void prefetched(Chunk c, CompletableFuture<Void> f) {
    try {
      bases.fetchBase(c, f);
    } catch (Throwable t) {
      // Its reader reads the store itself and reports the failure; nothing is lost here.
      dropFailedPrefetch(c, f, t);
      if (t instanceof Error e) {
        throw e;
      }
    }
  }

  /** Removes a read-ahead entry whose fetch failed, unless it was written meanwhile. */
  private void dropFailedPrefetch(Chunk c, CompletableFuture<Void> f, Throwable why) {
    boolean dropped = false;
    synchronized (c) {
      if (c.loading == f) {
        c.loading = null;
      }
      chunks.noLongerPrefetched(c);
      if (c.evictable() && c.data == null && !c.zero) {
        c.evicted = true;
        chunks.remove(c.index, c);
        dropped = true;
      }
    }
    if (dropped) {
      room.unreserve();
    }
    f.completeExceptionally(why);
  }

  /** Stops the read-ahead threads: a fetch in flight only fills memory nobody reads any more. */
  void close() {
    fetchers.shutdownNow();
  }
}
