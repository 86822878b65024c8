package io.pairkit.backend.s3;

import com.google.common.collect.Range;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * Fills a {@link ChunkBuffer} entry with its <em>base</em>, the stored chunk's bytes it was not
 * written with, when they are needed: an upload of a chunk not written whole, a read where the
 * entry holds nothing, a read-ahead. Readers, uploads and read-ahead of one entry share a single
 * fetch ({@link Chunk#loading}) instead of each asking the store, so that rule lives in one place.
 *
 * <p>Threading: thread-safe; takes only entries' monitors, one at a time, and never while it
 * waits for the store or for another fetch.
 */
final class BaseLoader {
  private final String volume;
  private final ChunkStore store;
  private final ChunkIndex chunks;
  private final ArrayPool arrays;

  BaseLoader(String volume, ChunkStore store, ChunkIndex chunks, ArrayPool arrays) {
    this.volume = volume;
    this.store = store;
    this.chunks = chunks;
    this.arrays = arrays;
  }

  /**
   * Makes every byte of {@code c} known in memory: the bytes never written are read from the
   * stored chunk, or are zeros if there is none. Called without the monitor. One fetch per entry
   * at a time: a caller that finds one in progress (a read-ahead, another reader, an upload)
   * waits for it instead of sending its own request.
   */
  void loadBase(Chunk c) throws IOException {
    CompletableFuture<Void> mine;
    for (;;) {
      CompletableFuture<Void> other;
      synchronized (c) {
        if (c.fullyValid() || c.zero) {
          return;
        }
        if (!chunks.isStored(c.index)) {
          c.valid = null; // the array's zeros are the base
          return;
        }
        other = c.loading;
        if (other == null) {
          mine = new CompletableFuture<>();
          c.loading = mine;
          break;
        }
      }
      awaitQuietly(other); // if it failed, this caller fetches itself (and reports its failure)
    }
    fetchBase(c, mine);
  }

  /**
   * Reads the stored chunk of {@code c} whole and fills what {@code c} does not hold yet;
   * completes {@code loading}, the caller's mark in {@code c.loading}, either way.
   */
  void fetchBase(Chunk c, CompletableFuture<Void> loading) throws IOException {
    try {
      ByteBuffer base = ByteBuffer.wrap(arrays.take(c.length, false));
      store.readStored(c.index, 0, base);
      boolean adopted = false;
      synchronized (c) {
        if (!c.fullyValid() && !c.zero) {
          if (c.data == null) {
            c.data = base.array(); // nothing written yet: the fetched array is the entry's
            c.shared = false;
            adopted = true;
          } else {
            c.ownData(arrays);
            for (Range<Integer> gap : c.valid.complement()
                .subRangeSet(Range.closedOpen(0, c.length)).asRanges()) {
              int from = gap.lowerEndpoint();
              int to = gap.upperEndpoint();
              System.arraycopy(base.array(), from, c.data, from, to - from);
            }
          }
          c.valid = null;
        }
        c.loading = null;
      }
      if (!adopted) {
        arrays.give(base.array());
      }
      loading.complete(null);
    } catch (Throwable t) {
      synchronized (c) {
        c.loading = null;
      }
      loading.completeExceptionally(t);
      throw t;
    }
  }

  /** Waits for {@code f} to end, whatever its outcome. */
  void awaitQuietly(CompletableFuture<Void> f) throws InterruptedIOException {
    try {
      f.get();
    } catch (ExecutionException e) {
      // the caller looks again and goes its own way
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("volume '" + volume + "': interrupted while waiting for "
          + "a chunk to be read from the store");
    }
  }
}
