package io.pairkit.backend.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.spi.Volume;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Read-ahead, seen from the store through a {@link FaultProxy} in front of S3Proxy that counts
 * GETs: a sequential reader makes the volume fetch the chunks ahead of it, whole and several at
 * once, so it sends about one GET per chunk; a random reader sends exactly one GET per read and
 * fetches nothing ahead; what is held stays within the buffer's bounds; the data is right.
 */
@Timeout(120)
class S3ReadAheadTest {
  private static final int CONCURRENCY = 4;
  private final TestStore direct = S3ProxyServer.get();
  private FaultProxy proxy;
  private String bucket;
  private String prefix;

  @BeforeEach
  void start() throws Exception {
    proxy = new FaultProxy(direct.endpoint());
    bucket = direct.newBucket();
    prefix = "ra-" + UUID.randomUUID() + "/";
  }

  @AfterEach
  void stop() throws Exception {
    proxy.close();
  }

  /** Writes a volume of random data directly (not through the proxy); returns its bytes. */
  private byte[] stored(int chunks, int chunk) throws Exception {
    byte[] image = new byte[chunks * chunk];
    new Random(31).nextBytes(image);
    try (Volume v = TestStore.open(direct.spec("ra", bucket).property("prefix", prefix)
        .property("mode", "create").property("size", (long) image.length)
        .property("chunkSize", chunk).property("concurrency", 16).build())) {
      v.write(0, ByteBuffer.wrap(image));
      v.flush();
    }
    return image;
  }

  /** Opens it again through the proxy: nothing in memory. */
  private S3Volume reopen() throws Exception {
    S3Volume v = (S3Volume) TestStore.open(direct.through(proxy).spec("ra", bucket)
        .property("prefix", prefix).property("concurrency", CONCURRENCY).build());
    proxy.resetCounters();
    return v;
  }

  @Test
  void aSequentialReaderFetchesTheChunksAheadWholeAndInParallel() throws Exception {
    int chunk = 64 * 1024;
    int chunks = 32;
    byte[] image = stored(chunks, chunk);
    // GETs of chunks 2 to 5 wait here until four of them are in flight at once: a reader that
    // fetches one chunk at a time would be held until the timeout and fail the check below.
    CountDownLatch together = new CountDownLatch(CONCURRENCY);
    try (S3Volume v = reopen()) {
      proxy.policy(q -> {
        if (q.method().equals("GET") && q.path().matches(".*/chunks/0*[2-5]$")) {
          together.countDown();
          try {
            together.await(5, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
        return FaultProxy.Fault.NONE;
      });
      int read = chunk / 2;
      ByteBuffer all = ByteBuffer.allocate(image.length);
      int maxHeld = 0;
      int maxUnread = 0;
      for (int at = 0; at < image.length; at += read) {
        v.read(at, all.slice(at, read));
        maxHeld = Math.max(maxHeld, v.buffer().entries());
        maxUnread = Math.max(maxUnread, v.buffer().prefetchedUnread());
      }
      assertArrayEquals(image, all.array());
      assertTrue(proxy.maxInFlight() >= CONCURRENCY, "chunks ahead are fetched in parallel: "
          + proxy.maxInFlight() + " GETs in flight at most");
      int gets = proxy.count("GET");
      assertTrue(gets >= chunks && gets <= chunks + 4, gets + " GETs for " + chunks + " chunks "
          + "read in " + (image.length / read) + " reads: about one whole GET per chunk");
      assertTrue(v.buffer().prefetchesStarted() >= chunks - 4);
      assertTrue(maxHeld <= v.buffer().maxChunks(), "memory bounded: " + maxHeld + " chunks");
      assertTrue(maxUnread <= v.buffer().maxPrefetch(), maxUnread + " chunks fetched ahead");
      assertEquals(0, v.buffer().prefetchedUnread(), "nothing fetched that was not read");
    }
  }

  @Test
  void aRandomReaderDoesNotReadAhead() throws Exception {
    int chunk = 16 * 1024;
    int chunks = 256;
    byte[] image = stored(chunks, chunk);
    try (S3Volume v = reopen()) {
      Random r = new Random(32);
      int reads = 400;
      for (int i = 0; i < reads; i++) {
        long at = (long) r.nextInt(image.length / 4096) * 4096;
        ByteBuffer b = ByteBuffer.allocate(4096);
        v.read(at, b);
        assertArrayEquals(Arrays.copyOfRange(image, (int) at, (int) at + 4096), b.array());
      }
      assertEquals(0, v.buffer().prefetchesStarted(), "nothing fetched ahead");
      assertEquals(reads, proxy.count("GET"), "one ranged GET per read, no more");
    }
  }

  /** Sequential reads interleaved with writes to the chunks ahead: read-ahead keeps the writes. */
  @Test
  void writesToChunksBeingFetchedAheadAreKept() throws Exception {
    int chunk = 64 * 1024;
    int chunks = 16;
    byte[] image = stored(chunks, chunk);
    try (S3Volume v = reopen()) {
      proxy.delayMillis(5); // fetches are still in flight when the writes come
      Random r = new Random(33);
      int read = 16 * 1024;
      for (int at = 0; at < image.length; at += read) {
        v.read(at, ByteBuffer.allocate(read));
        int ahead = at + 2 * chunk + r.nextInt(chunk - 100);
        if (ahead + 100 <= image.length) {
          byte[] p = new byte[100];
          r.nextBytes(p);
          v.write(ahead, ByteBuffer.wrap(p));
          System.arraycopy(p, 0, image, ahead, 100);
        }
      }
      ByteBuffer all = ByteBuffer.allocate(image.length);
      v.read(0, all);
      assertArrayEquals(image, all.array(), "before the flush");
      assertTrue(v.buffer().prefetchesStarted() > 0);
      v.flush();
    }
    try (Volume v = TestStore.open(direct.spec("ra", bucket).property("prefix", prefix)
        .build())) {
      ByteBuffer all = ByteBuffer.allocate(image.length);
      v.read(0, all);
      assertArrayEquals(image, all.array(), "stored");
    }
  }
}
