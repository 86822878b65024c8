package io.pairkit.backend.s3;

import io.pairkit.api.spi.TransientIOException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.ArrayDeque;
import java.util.function.Supplier;

/**
 * The memory bound of a {@link ChunkBuffer}: at most {@code maxChunks} entries exist; writers
 * that need one more wait in arrival order (a freed entry goes to the longest waiting), and room
 * is made by evicting the least recently used stored entry. The outcome of each upload is
 * recorded here because it is what a waiting writer waits for: a clean entry to evict, or a
 * failure to report instead of waiting for ever.
 *
 * <p>Threading: thread-safe. {@link #space} guards {@link #entries}, {@link #roomQueue},
 * {@link #failing} and {@link #failures}, and is what waiting writers wait on;
 * {@link #storeFailing} is volatile for the write-back, which reads it without {@code space}.
 * Lock order: {@code space} before an entry's monitor (eviction looks at the entries, and a
 * waiting writer starts uploads, under it); nothing takes {@code space} while holding an entry's
 * monitor.
 */
final class BufferRoom {
  private final String volume;
  private final int maxChunks;
  private final ChunkIndex chunks;
  private final ArrayPool arrays;
  /** The buffer's hook, run (holding {@link #space}) when a writer starts waiting for room. */
  private final Supplier<Runnable> roomWaitHook;
  private final Object space = new Object();
  /** Writers waiting for an entry, in arrival order; guarded by {@link #space}. */
  private final ArrayDeque<Object> roomQueue = new ArrayDeque<>();
  /** Entries in the buffer; guarded by {@link #space}. */
  private int entries;
  /** The last upload failure, or null; guarded by {@link #space}. */
  private IOException failing;
  /** The last upload failed (read without {@link #space} by the write-back). */
  private volatile boolean storeFailing;
  /** Upload failures so far; guarded by {@link #space}. */
  private long failures;

  BufferRoom(String volume, int maxChunks, ChunkIndex chunks, ArrayPool arrays,
      Supplier<Runnable> roomWaitHook) {
    this.volume = volume;
    this.maxChunks = maxChunks;
    this.chunks = chunks;
    this.arrays = arrays;
    this.roomWaitHook = roomWaitHook;
  }

  /** Entries in memory (at most {@code maxChunks}). */
  int entries() {
    synchronized (space) {
      return entries;
    }
  }

  /** Whether the last upload failed: the write-back leaves the retry to others then. */
  boolean storeFailing() {
    return storeFailing;
  }

  /**
   * Waits for room for one more entry. Writers get room in arrival order: only the longest
   * waiting one takes an entry, evicting the least recently used clean one; if there is none, it
   * makes sure {@code uploads} are in flight (the least recently used dirty chunks) and waits for
   * one to end. Throws only if an upload failed after this writer began waiting and no upload is
   * in flight any more (so none can make room); a store that recovers makes room again at the
   * next call.
   */
  void reserve(Uploads uploads) throws IOException {
    synchronized (space) {
      if (roomQueue.isEmpty() && entries < maxChunks) {
        entries++;
        return;
      }
      Object me = new Object();
      roomQueue.addLast(me);
      Runnable hook = roomWaitHook.get();
      if (hook != null) {
        hook.run();
      }
      long failuresBefore = failures;
      try {
        for (;;) {
          if (roomQueue.peekFirst() == me) {
            if (entries < maxChunks) {
              entries++;
              return;
            }
            if (evictOne(false)) {
              continue;
            }
            if (failures != failuresBefore && uploads.running() == 0 && failing != null) {
              String msg = "volume '" + volume + "': the write buffer is full (" + maxChunks
                  + " chunks) and uploads fail: " + failing.getMessage() + "; writes can go on "
                  + "once the store answers again";
              throw failing instanceof TransientIOException
                  ? new TransientIOException(msg, failing) : new IOException(msg, failing);
            }
            if (failures == failuresBefore) {
              // After a failure, only wait for the uploads in flight, then throw.
              uploads.fillUploadSlots();
            }
          }
          try {
            space.wait(1000);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("volume '" + volume + "': interrupted while "
                + "waiting for room in the write buffer");
          }
        }
      } finally {
        roomQueue.remove(me);
        space.notifyAll(); // the next in line, if room is left
      }
    }
  }

  /**
   * Takes room for a read-ahead entry without waiting: never while writers wait, and evicting
   * only entries that are not read-ahead entries still waiting for their reader.
   *
   * @return false if there is no room now
   */
  boolean tryReserve() {
    synchronized (space) {
      if (!roomQueue.isEmpty()) {
        return false;
      }
      while (entries >= maxChunks) {
        if (!evictOne(true)) {
          return false;
        }
      }
      entries++;
      return true;
    }
  }

  /** Gives back the room of an entry that was not made or has left the buffer. */
  void unreserve() {
    synchronized (space) {
      entries--;
      space.notifyAll();
    }
  }

  /**
   * Records how an upload ended ({@code failure} null if it stored its chunk) and wakes the
   * waiting writers: a clean entry may now make room, or the failure is theirs to report. The
   * caller holds no entry's monitor.
   */
  void uploadEnded(IOException failure) {
    synchronized (space) {
      if (failure == null) {
        failing = null;
      } else {
        failing = failure;
        failures++;
      }
      storeFailing = failure != null;
      space.notifyAll(); // a clean entry may now make room
    }
  }

  /**
   * Drops the least recently used entry that is stored and neither being uploaded nor loading;
   * the caller holds {@link #space}.
   *
   * @param spareUnread leave read-ahead entries that were not read yet
   * @return false if there is none
   */
  private boolean evictOne(boolean spareUnread) {
    Chunk best = null;
    long bestUse = Long.MAX_VALUE;
    for (Chunk c : chunks.values()) {
      synchronized (c) {
        if (c.evictable() && !(spareUnread && c.prefetched) && c.lastUse < bestUse) {
          best = c;
          bestUse = c.lastUse;
        }
      }
    }
    if (best == null) {
      return false;
    }
    synchronized (best) {
      if (!best.evictable()) {
        return true; // changed meanwhile: look again
      }
      best.evicted = true;
      arrays.give(best.data); // stored and not being uploaded: only the entry refers to it
      best.data = null;
      chunks.noLongerPrefetched(best);
      chunks.remove(best.index, best);
    }
    entries--;
    return true;
  }
}
