package io.pairkit.backend.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.ExtentSet;
import io.pairkit.api.spi.Volume;
import java.nio.ByteBuffer;
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
    Volume v = TestStore.open(store.spec("w", bucket).property("prefix", prefix)
        .property("mode", "create").property("size", 16L * CHUNK)
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
}
