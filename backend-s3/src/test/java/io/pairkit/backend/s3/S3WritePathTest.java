package io.pairkit.backend.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.ExtentSet;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.TransientIOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * What the write path sends to the store, counted by a {@link FaultProxy} in front of S3Proxy:
 * small writes cost no read-modify-write, a flushed chunk is in the bucket, whole chunks go up in
 * parallel within the declared concurrency, discard deletes whole chunks.
 */
@Timeout(60)
class S3WritePathTest {
  private static final int CHUNK = 64 * 1024;
  private final TestStore direct = S3ProxyServer.get();
  private FaultProxy proxy;
  private TestStore store;
  private String bucket;
  private String prefix;

  @BeforeEach
  void start() throws Exception {
    proxy = new FaultProxy(direct.endpoint());
    store = direct.through(proxy);
    bucket = direct.newBucket();
    prefix = "w-" + UUID.randomUUID() + "/";
  }

  @AfterEach
  void stop() throws Exception {
    proxy.close();
  }

  private Volume create(int concurrency) throws Exception {
    return create(concurrency, 16);
  }

  private Volume create(int concurrency, int chunks) throws Exception {
    Volume v = TestStore.open(store.spec("w", bucket).property("prefix", prefix)
        .property("mode", "create").property("size", (long) chunks * CHUNK)
        .property("chunkSize", CHUNK).property("concurrency", concurrency).build());
    proxy.resetCounters();
    return v;
  }

  private Volume reopen() throws Exception {
    Volume v = TestStore.open(store.spec("w", bucket).property("prefix", prefix).build());
    proxy.resetCounters();
    return v;
  }

  private byte[] storedChunk(long index) {
    try (S3Client c = direct.client()) {
      return c.getObjectAsBytes(b -> b.bucket(bucket).key(prefix + "chunks/"
          + String.format("%016x", index))).asByteArray();
    }
  }

  /**
   * Writes {@code count} random pieces of up to {@code maxLength} bytes at random places of chunk
   * {@code chunk}, and into {@code expected} (the chunk's image).
   */
  private static void scatterSmallWrites(Volume v, long chunk, byte[] expected, int count,
      int maxLength, long seed) throws Exception {
    Random r = new Random(seed);
    for (int i = 0; i < count; i++) {
      byte[] piece = new byte[1 + r.nextInt(maxLength)];
      r.nextBytes(piece);
      int at = r.nextInt(CHUNK - piece.length);
      v.write(chunk * CHUNK + at, ByteBuffer.wrap(piece));
      System.arraycopy(piece, 0, expected, at, piece.length);
    }
  }

  @Test
  void smallWritesToANewChunkCostOnePutAndNoRead() throws Exception {
    byte[] expected = new byte[CHUNK];
    try (Volume v = create(16)) {
      scatterSmallWrites(v, 3, expected, 200, 700, 1);
      v.flush();
      assertEquals(1, proxy.count("PUT"), "one PUT of the whole chunk for 200 small writes");
      assertEquals(0, proxy.count("GET"), "a chunk that was never stored needs no read");
      assertArrayEquals(expected, storedChunk(3), "flush returned: the chunk is in the bucket");
    }
  }

  @Test
  void smallWritesToAStoredChunkReadItOnceAndPutItOnce() throws Exception {
    byte[] base = new byte[CHUNK];
    new Random(2).nextBytes(base);
    try (Volume v = create(16)) {
      v.write(5L * CHUNK, ByteBuffer.wrap(base));
      v.flush();
    }
    try (Volume v = reopen()) {
      byte[] expected = base.clone();
      scatterSmallWrites(v, 5, expected, 50, 300, 3);
      v.flush();
      assertEquals(1, proxy.count("GET"), "the unwritten rest of the chunk is read once");
      assertEquals(1, proxy.count("PUT"));
      assertArrayEquals(expected, storedChunk(5));
    }
  }

  @Test
  void wholeChunksGoUpInParallelWithinTheDeclaredConcurrency() throws Exception {
    proxy.delayMillis(20); // every request takes 20 ms, so uploads overlap if they can
    try (Volume v = create(4)) {
      byte[] data = new byte[16 * CHUNK];
      new Random(4).nextBytes(data);
      v.write(0, ByteBuffer.wrap(data)); // one call, from one thread
      v.flush();
      assertEquals(16, proxy.count("PUT"));
      assertEquals(4, proxy.maxInFlight(), "requests in flight must reach, and never pass, the "
          + "volume's concurrency");
      for (int i = 0; i < 16; i++) {
        byte[] chunk = java.util.Arrays.copyOfRange(data, i * CHUNK, (i + 1) * CHUNK);
        assertArrayEquals(chunk, storedChunk(i), "chunk " + i);
      }
    }
  }

  @Test
  void discardDeletesWholeChunksAndZeroesTheEdges() throws Exception {
    try (Volume v = create(16)) {
      byte[] data = new byte[4 * CHUNK];
      new Random(5).nextBytes(data);
      v.write(0, ByteBuffer.wrap(data));
      v.flush();
      proxy.resetCounters();
      v.discard(CHUNK / 2, 2L * CHUNK); // half of 0, all of 1, half of 2
      v.flush();
      assertEquals(1, proxy.count("DELETE"), "chunk 1 is deleted");
      assertEquals(2, proxy.count("PUT"), "chunks 0 and 2 are rewritten with zeros in part");
      assertEquals(ExtentSet.of(0, CHUNK).union(ExtentSet.of(2L * CHUNK, 4L * CHUNK)),
          v.allocated(0, 16L * CHUNK));
    }
    try (Volume v = reopen()) {
      assertEquals(ExtentSet.of(0, CHUNK).union(ExtentSet.of(2L * CHUNK, 4L * CHUNK)),
          v.allocated(0, 16L * CHUNK), "the allocation is listed from the bucket at open");
      ByteBuffer hole = ByteBuffer.allocate(CHUNK);
      v.read(CHUNK, hole);
      assertArrayEquals(new byte[CHUNK], hole.array());
      assertEquals(0, proxy.count("GET"), "a deleted chunk reads as zeros without a request");
      ByteBuffer b = ByteBuffer.allocate(2 * CHUNK);
      v.read(CHUNK / 2, b);
      assertArrayEquals(new byte[2 * CHUNK], b.array(), "the zeroed halves of chunks 0 and 2");
    }
  }

  @Test
  void closeStoresWhatWasNotFlushed() throws Exception {
    byte[] data = new byte[100];
    new Random(6).nextBytes(data);
    try (Volume v = create(16)) {
      v.write(7L * CHUNK + 10, ByteBuffer.wrap(data));
    }
    byte[] chunk = storedChunk(7);
    assertArrayEquals(data, java.util.Arrays.copyOfRange(chunk, 10, 110));
    assertTrue(proxy.count("PUT") >= 1);
  }

  /** Writes 100 random bytes at a random place of each of the chunks, into {@code image}. */
  private static void partialWrites(Volume v, byte[] image, int from, int to, Random r)
      throws Exception {
    for (int i = from; i < to; i++) {
      byte[] piece = new byte[100];
      r.nextBytes(piece);
      int at = i * CHUNK + r.nextInt(CHUNK - 100);
      v.write(at, ByteBuffer.wrap(piece));
      System.arraycopy(piece, 0, image, at, 100);
    }
  }

  private byte[] readAllReopened(int chunks) throws Exception {
    try (Volume v = reopen()) {
      ByteBuffer all = ByteBuffer.allocate(chunks * CHUNK);
      v.read(0, all);
      return all.array();
    }
  }

  /** concurrency=1: at most 4 chunks in memory, so 24 partly written chunks evict and wait. */
  @Test
  void partialWritesToManyMoreChunksThanTheBufferHoldsAreAllStored() throws Exception {
    int chunks = 24;
    byte[] image = new byte[chunks * CHUNK];
    Random r = new Random(7);
    try (Volume v = create(1, chunks)) {
      partialWrites(v, image, 0, chunks, r);
      partialWrites(v, image, 0, chunks, r); // again: evicted chunks are read back and merged
      v.flush();
      assertTrue(proxy.count("PUT") >= chunks, "every chunk was uploaded");
    }
    assertArrayEquals(image, readAllReopened(chunks));
  }

  /**
   * An outage while the buffer is full of dirty chunks: writes fail (transient) instead of
   * waiting for ever, and once the store answers again writes succeed without a flush first.
   */
  @Test
  void aFullBufferDuringAnOutageRecoversWhenTheStoreDoes() throws Exception {
    int chunks = 24;
    byte[] image = new byte[chunks * CHUNK];
    Random r = new Random(8);
    try (Volume v = create(1, chunks)) {
      proxy.policy(q -> FaultProxy.Fault.RESET_BEFORE);
      TransientIOException failed = null;
      for (int i = 0; i < chunks && failed == null; i++) {
        try {
          partialWrites(v, image, i, i + 1, r);
        } catch (TransientIOException e) {
          failed = e;
        }
      }
      assertTrue(failed != null, "a writer needing room during the outage gets the failure");
      proxy.policy(q -> FaultProxy.Fault.NONE);
      partialWrites(v, image, 0, chunks, r); // no flush in between: the buffer is not wedged
      v.flush();
    }
    byte[] stored = readAllReopened(chunks);
    for (int i = 0; i < chunks; i++) {
      // The write that failed may or may not be stored; every later one must be.
      assertArrayEquals(java.util.Arrays.copyOfRange(image, i * CHUNK, (i + 1) * CHUNK),
          java.util.Arrays.copyOfRange(stored, i * CHUNK, (i + 1) * CHUNK), "chunk " + i);
    }
  }

  /** A write to a chunk whose upload is in flight reaches the store with the next upload. */
  @Test
  void aWriteDuringTheChunksUploadIsStoredByTheFlush() throws Exception {
    try (Volume v = create(4)) {
      proxy.policy(q -> q.method().equals("PUT") && q.path().endsWith("0000000000000002")
          ? FaultProxy.Fault.HOLD : FaultProxy.Fault.NONE);
      byte[] first = new byte[CHUNK];
      new Random(9).nextBytes(first);
      v.write(2L * CHUNK, ByteBuffer.wrap(first)); // whole chunk: its upload starts
      assertTrue(proxy.awaitHeld(20), "the upload of chunk 2 is in flight");
      proxy.policy(q -> FaultProxy.Fault.NONE);
      byte[] expected = first.clone();
      byte[] piece = {1, 2, 3, 4, 5};
      v.write(2L * CHUNK + 1000, ByteBuffer.wrap(piece));
      System.arraycopy(piece, 0, expected, 1000, piece.length);
      java.util.concurrent.CompletableFuture<Void> flushed =
          java.util.concurrent.CompletableFuture.runAsync(() -> {
            try {
              v.flush();
            } catch (java.io.IOException e) {
              throw new java.io.UncheckedIOException(e);
            }
          });
      assertTrue(proxy.releaseHeld(20));
      flushed.get(30, java.util.concurrent.TimeUnit.SECONDS);
      assertArrayEquals(expected, storedChunk(2), "the held PUT carried the first version; the "
          + "flush stores the second");
    }
  }

  /**
   * Writers racing close: each write either completes (and is stored by close) or throws
   * AlreadyClosedException.
   */
  @Test
  void writesRacingCloseAreStoredOrRefused() throws Exception {
    int writers = 4;
    int[] lastDone = new int[writers];
    Volume v = create(4);
    java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(writers);
    java.util.concurrent.ExecutorService pool =
        java.util.concurrent.Executors.newFixedThreadPool(writers);
    try {
      List<java.util.concurrent.Future<?>> done = new java.util.ArrayList<>();
      for (int w = 0; w < writers; w++) {
        int me = w;
        done.add(pool.submit(() -> {
          for (int n = 1; ; n++) {
            byte[] chunk = new byte[CHUNK / 2];
            java.util.Arrays.fill(chunk, (byte) n);
            try {
              v.write((long) me * CHUNK, ByteBuffer.wrap(chunk));
            } catch (io.pairkit.api.error.AlreadyClosedException e) {
              return null;
            }
            lastDone[me] = n;
            if (n == 3) {
              started.countDown();
            }
          }
        }));
      }
      assertTrue(started.await(20, java.util.concurrent.TimeUnit.SECONDS));
      v.close();
      for (java.util.concurrent.Future<?> f : done) {
        f.get(20, java.util.concurrent.TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    for (int w = 0; w < writers; w++) {
      assertEquals((byte) lastDone[w], storedChunk(w)[0], "writer " + w);
    }
  }

  /**
   * Discarding part of a chunk never written costs nothing; discarding a stored chunk in parts
   * until it is all zeros deletes it instead of storing zeros.
   */
  @Test
  void partialDiscardsStoreNoZerosAndDeleteAChunkLeftAllZero() throws Exception {
    try (Volume v = create(4)) {
      v.discard(3L * CHUNK + 100, CHUNK / 2);
      v.flush();
      assertEquals(0, proxy.count("PUT"), "a never-written chunk needs no object of zeros");
      byte[] data = new byte[CHUNK];
      new Random(10).nextBytes(data);
      v.write(4L * CHUNK, ByteBuffer.wrap(data));
      v.flush();
      proxy.resetCounters();
      v.discard(4L * CHUNK, CHUNK / 2);
      v.discard(4L * CHUNK + CHUNK / 2, CHUNK / 2 - 1);
      v.discard(5L * CHUNK - 1, 1);
      v.flush();
      assertEquals(0, proxy.count("PUT"), "no PUT of zeros");
      assertEquals(1, proxy.count("DELETE"), "the chunk left all zeros is deleted");
    }
    try (Volume v = reopen()) {
      assertEquals(ExtentSet.empty(), v.allocated(0, 16L * CHUNK));
    }
  }
}
