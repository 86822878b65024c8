package io.pairkit.backend.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The buffer against stores in memory: one that fails on demand, and one whose PUTs wait at a
 * gate the test opens one at a time (so the test sees which uploads are in flight, and in which
 * order writers waiting for room get it). The write-back time is an hour in the tests of
 * write-back under pressure, so only that mechanism can start an upload.
 */
@Timeout(60)
class ChunkBufferTest {
  private static final int CHUNK = 4096;

  private static final class FailingStore implements ChunkStore {
    volatile Throwable fail;
    final CountDownLatch put = new CountDownLatch(1);

    @Override
    public void readStored(long index, int offset, ByteBuffer dst) {
      while (dst.hasRemaining()) {
        dst.put((byte) 0);
      }
    }

    @Override
    public void put(long index, byte[] data, int length) throws IOException {
      put.countDown();
      Throwable t = fail;
      if (t instanceof Error e) {
        throw e;
      }
      if (t instanceof IOException e) {
        throw e;
      }
    }

    @Override
    public void delete(long index) {
    }
  }

  @Test
  void anErrorInAnUploadFailsTheFlushInsteadOfHangingIt() throws Exception {
    FailingStore store = new FailingStore();
    store.fail = new OutOfMemoryError("simulated");
    ChunkBuffer b = new ChunkBuffer("t", 8L * CHUNK, CHUNK, new BitSet(), store, 2, 4);
    b.write(0, 0, ByteBuffer.wrap(new byte[CHUNK]), CHUNK);
    IOException e = assertThrows(IOException.class, b::flush);
    assertTrue(e.getMessage().contains("OutOfMemoryError"), e.getMessage());
    store.fail = null;
    b.flush(); // the entry stayed dirty and is free for the next upload
    assertTrue(b.dirtyChunks() == 0);
    assertTrue(b.close(Duration.ofSeconds(5)));
  }

  @Test
  void aPartlyWrittenChunkIsUploadedAfterTheWriteBackTimeWithoutAFlush() throws Exception {
    FailingStore store = new FailingStore();
    ChunkBuffer b = new ChunkBuffer("t", 8L * CHUNK, CHUNK, new BitSet(), store, 2, 4,
        Duration.ofMillis(200));
    b.write(1, 10, ByteBuffer.wrap(new byte[] {1, 2, 3}), 3);
    assertTrue(store.put.await(10, TimeUnit.SECONDS), "uploaded without a flush");
    assertTrue(b.close(Duration.ofSeconds(5)));
  }

  /**
   * A store in memory whose PUTs report their chunk and then wait until the test lets one
   * through ({@link #release}); stored chunks are kept, so the test can check what arrived.
   */
  private static final class GatedStore implements ChunkStore {
    final Semaphore gate = new Semaphore(0);
    /** The chunk of each PUT, in the order they reached the store. */
    final BlockingQueue<Long> arrived = new LinkedBlockingQueue<>();
    final ConcurrentHashMap<Long, byte[]> stored = new ConcurrentHashMap<>();

    @Override
    public void readStored(long index, int offset, ByteBuffer dst) {
      byte[] s = stored.get(index);
      if (s == null) {
        while (dst.hasRemaining()) {
          dst.put((byte) 0);
        }
      } else {
        dst.put(s, offset, dst.remaining());
      }
    }

    @Override
    public void put(long index, byte[] data, int length) throws IOException {
      arrived.add(index);
      try {
        gate.acquire();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new java.io.InterruptedIOException("gate");
      }
      stored.put(index, java.util.Arrays.copyOf(data, length));
    }

    @Override
    public void delete(long index) {
      stored.remove(index);
    }

    /** Lets {@code n} PUTs through. */
    void release(int n) {
      gate.release(n);
    }

    /** The chunk of the next PUT to reach the store, waiting up to 20 s for it. */
    long nextPut() throws InterruptedException {
      Long index = arrived.poll(20, TimeUnit.SECONDS);
      assertNotNull(index, "no upload reached the store");
      return index;
    }
  }

  /** A buffer of 8 chunks (high-water mark 4) uploading on 2 threads, write-back after 1 h. */
  private static ChunkBuffer gated(GatedStore store, int maxChunks, int concurrency) {
    return new ChunkBuffer("t", 64L * CHUNK, CHUNK, new BitSet(), store, concurrency, maxChunks,
        Duration.ofHours(1));
  }

  private static byte[] piece(long chunk) {
    byte[] p = new byte[100];
    java.util.Arrays.fill(p, (byte) (chunk + 1));
    return p;
  }

  /** Writes 100 bytes (the chunk's number + 1) at offset 10 of {@code chunk}: a partial write. */
  private static void writePart(ChunkBuffer b, long chunk) throws IOException {
    b.write(chunk, 10, ByteBuffer.wrap(piece(chunk)), 100);
  }

  private static CompletableFuture<Void> writePartAsync(ChunkBuffer b, long chunk) {
    return CompletableFuture.runAsync(() -> {
      try {
        writePart(b, chunk);
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }, r -> {
      Thread t = new Thread(r, "writer-" + chunk);
      t.setDaemon(true);
      t.start();
    });
  }

  @Test
  void partlyWrittenChunksPastTheHighWaterMarkAreUploadedBeforeTheBufferIsFull()
      throws Exception {
    GatedStore store = new GatedStore();
    ChunkBuffer b = gated(store, 8, 2);
    for (long chunk = 0; chunk < 4; chunk++) {
      writePart(b, chunk);
    }
    assertEquals(0, b.uploadsStarted(), "4 dirty chunks of 8: at the mark, nothing uploads yet");
    writePart(b, 0); // chunk 0 is now the most recently used
    writePart(b, 4); // 5 dirty: past the mark
    assertEquals(2, b.uploadsStarted(), "write-back started by the write that passed the mark, "
        + "on both upload threads");
    assertEquals(5, b.entries(), "the buffer (8 chunks) is not full");
    assertEquals(java.util.Set.of(1L, 2L), java.util.Set.of(store.nextPut(), store.nextPut()),
        "the least recently used dirty chunks go first");
    store.release(100);
    b.flush();
    for (long chunk = 0; chunk < 5; chunk++) {
      byte[] expected = new byte[CHUNK];
      System.arraycopy(piece(chunk), 0, expected, 10, 100);
      assertArrayEquals(expected, store.stored.get(chunk), "chunk " + chunk);
    }
    assertTrue(b.close(Duration.ofSeconds(5)));
  }

  /**
   * With the buffer full of partly written chunks, a writer that needs room waits for an upload
   * that was already in flight before it came: letting exactly one PUT through lets it go on.
   */
  @Test
  void aWriterNeedingRoomWaitsOnlyForAnUploadAlreadyInFlight() throws Exception {
    GatedStore store = new GatedStore();
    ChunkBuffer b = gated(store, 8, 2);
    for (long chunk = 0; chunk < 8; chunk++) {
      writePart(b, chunk);
    }
    assertEquals(8, b.entries(), "full");
    // Both upload threads are busy before any writer has to wait for room.
    java.util.Set<Long> inFlight = java.util.Set.of(store.nextPut(), store.nextPut());
    assertEquals(java.util.Set.of(0L, 1L), inFlight, "the least recently used chunks first");
    CompletableFuture<Void> writer = writePartAsync(b, 20);
    assertFalse(writer.isDone(), "no room until an upload ends");
    store.release(1);
    writer.get(20, TimeUnit.SECONDS);
    store.release(100);
    b.flush();
    assertEquals(0, b.dirtyChunks());
    assertTrue(b.close(Duration.ofSeconds(5)));
  }

  /** Writers waiting for room get it in the order they came, one per upload that ends. */
  @Test
  void writersWaitingForRoomGetItInArrivalOrder() throws Exception {
    GatedStore store = new GatedStore();
    ChunkBuffer b = gated(store, 4, 1);
    for (long chunk = 0; chunk < 4; chunk++) {
      writePart(b, chunk);
    }
    List<CompletableFuture<Void>> writers = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      CountDownLatch waiting = new CountDownLatch(1);
      b.roomWaitHook = waiting::countDown;
      writers.add(writePartAsync(b, 10 + i));
      assertTrue(waiting.await(20, TimeUnit.SECONDS), "writer " + i + " waits for room");
    }
    b.roomWaitHook = null;
    for (int i = 0; i < writers.size(); i++) {
      store.release(1); // one upload ends: one entry is free
      writers.get(i).get(20, TimeUnit.SECONDS);
      for (int later = i + 1; later < writers.size(); later++) {
        assertFalse(writers.get(later).isDone(), "writer " + later + " overtook writer " + i);
      }
    }
    store.release(100);
    b.flush();
    assertTrue(b.close(Duration.ofSeconds(5)));
  }

  /** Read-ahead fetches a stored chunk whole once; its readers wait for that fetch. */
  @Test
  void aPrefetchedChunkIsFetchedOnceAndServesItsReaders() throws Exception {
    byte[] chunk = new byte[CHUNK];
    new java.util.Random(3).nextBytes(chunk);
    CountDownLatch fetching = new CountDownLatch(1);
    CountDownLatch finish = new CountDownLatch(1);
    java.util.concurrent.atomic.AtomicInteger gets = new java.util.concurrent.atomic.AtomicInteger();
    ChunkStore store = new ChunkStore() {
      @Override
      public void readStored(long index, int offset, ByteBuffer dst) throws IOException {
        gets.incrementAndGet();
        fetching.countDown();
        try {
          finish.await();
        } catch (InterruptedException e) {
          throw new java.io.InterruptedIOException();
        }
        dst.put(chunk, offset, dst.remaining());
      }

      @Override
      public void put(long index, byte[] data, int length) {
      }

      @Override
      public void delete(long index) {
      }
    };
    BitSet stored = new BitSet();
    stored.set(2);
    ChunkBuffer b = new ChunkBuffer("t", 8L * CHUNK, CHUNK, stored, store, 2, 4);
    assertTrue(b.prefetch(2));
    assertTrue(fetching.await(20, TimeUnit.SECONDS));
    List<CompletableFuture<byte[]>> readers = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      int at = i * (CHUNK / 4);
      readers.add(CompletableFuture.supplyAsync(() -> {
        ByteBuffer dst = ByteBuffer.allocate(CHUNK / 4);
        try {
          b.read(2, at, dst);
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
        return dst.array();
      }));
    }
    assertTrue(b.prefetch(3), "chunk 3 is not stored: nothing to fetch");
    finish.countDown();
    for (int i = 0; i < 4; i++) {
      assertArrayEquals(java.util.Arrays.copyOfRange(chunk, i * (CHUNK / 4), (i + 1)
          * (CHUNK / 4)), readers.get(i).get(20, TimeUnit.SECONDS), "quarter " + i);
    }
    assertEquals(1, gets.get(), "one fetch of chunk 2 for all its readers");
    assertEquals(1, b.prefetchesStarted());
    assertEquals(0, b.prefetchedUnread(), "read: no longer counted as fetched ahead");
    assertTrue(b.close(Duration.ofSeconds(5)));
  }
}
