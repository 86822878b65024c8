package io.pairkit.backend.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Write-back before the buffer is full, seen from the store: a {@link FaultProxy} in front of
 * S3Proxy holds every chunk PUT at a gate the test opens one request at a time, so the test knows
 * which uploads are in flight. The volume's time-based write-back is set to an hour, so only
 * write-back under pressure can start an upload. Partly written chunks of a volume never stored
 * need no GET, so each upload is one PUT.
 */
@Timeout(120)
class S3WriteBackTest {
  private static final int CHUNK = 64 * 1024;
  private static final int CONCURRENCY = 4; // the buffer holds 2 * 4 = 8 chunks, mark at 4
  private final TestStore direct = S3ProxyServer.get();
  private FaultProxy proxy;
  private S3VolumeProvider.Clients clients;
  private String bucket;
  private String prefix;
  /** Chunk PUTs pass it one permit each; the test hands out permits. */
  private final Semaphore gate = new Semaphore(0);
  /** Chunk PUTs that reached the proxy. */
  private final Semaphore arrived = new Semaphore(0);

  @BeforeEach
  void start() throws Exception {
    proxy = new FaultProxy(direct.endpoint());
    bucket = direct.newBucket();
    prefix = "wb-" + UUID.randomUUID() + "/";
  }

  @AfterEach
  void stop() throws Exception {
    gate.release(10_000); // nothing stays held
    proxy.close();
    if (clients != null) {
      clients.close();
    }
  }

  private S3Volume create(int chunks) throws IOException {
    S3Settings settings = S3Settings.parse(direct.through(proxy).spec("wb", bucket)
        .property("prefix", prefix).property("mode", "create")
        .property("size", (long) chunks * CHUNK).property("chunkSize", CHUNK)
        .property("concurrency", CONCURRENCY).build());
    clients = S3VolumeProvider.newClients(settings);
    S3Volume v = S3Volume.open(settings, new ObjectStore(clients.retrying(),
        clients.chunkWrites(), settings.name(), settings.bucket(), settings.concurrency()),
        Duration.ofHours(1));
    proxy.policy(q -> {
      if (q.method().equals("PUT") && q.path().contains("/chunks/")) {
        arrived.release();
        gate.acquireUninterruptibly(); // the proxy's thread for this request waits here
      }
      return FaultProxy.Fault.NONE;
    });
    return v;
  }

  /** Waits until {@code n} more chunk PUTs have reached the proxy. */
  private void awaitPuts(int n) throws InterruptedException {
    assertTrue(arrived.tryAcquire(n, 30, TimeUnit.SECONDS), n + " chunk PUTs did not arrive");
  }

  private static byte[] part(Random r) {
    byte[] p = new byte[500];
    r.nextBytes(p);
    return p;
  }

  @Test
  void uploadsBeginBeforeTheBufferIsFullAndAWriterWaitsForOneInFlight() throws Exception {
    int chunks = 16;
    byte[] image = new byte[chunks * CHUNK];
    Random r = new Random(21);
    try (S3Volume v = create(chunks)) {
      int max = v.buffer().maxChunks();
      assertEquals(2 * CONCURRENCY, max);
      for (int i = 0; i <= max / 2; i++) { // one past the high-water mark
        byte[] p = part(r);
        v.write((long) i * CHUNK + 1000, ByteBuffer.wrap(p));
        System.arraycopy(p, 0, image, i * CHUNK + 1000, p.length);
      }
      assertTrue(v.uploadsStarted() > 0, "write-back began once more than half the buffer was "
          + "dirty");
      assertTrue(v.buffer().entries() < max, "before the buffer is full");
      awaitPuts(1); // and the upload reached the store
      for (int i = max / 2 + 1; i < max; i++) {
        byte[] p = part(r);
        v.write((long) i * CHUNK + 1000, ByteBuffer.wrap(p));
        System.arraycopy(p, 0, image, i * CHUNK + 1000, p.length);
      }
      assertEquals(max, v.buffer().entries(), "full");
      awaitPuts(CONCURRENCY - 1); // every upload slot is busy before any writer waits
      byte[] p = part(r);
      java.util.concurrent.CountDownLatch waiting = new java.util.concurrent.CountDownLatch(1);
      v.buffer().roomWaitHook = waiting::countDown;
      CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
        try {
          v.write((long) max * CHUNK + 1000, ByteBuffer.wrap(p));
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      });
      System.arraycopy(p, 0, image, max * CHUNK + 1000, p.length);
      assertTrue(waiting.await(30, TimeUnit.SECONDS), "the writer waits for room");
      assertFalse(writer.isDone(), "no clean chunk to evict until an upload ends");
      gate.release(1); // one upload in flight ends
      writer.get(30, TimeUnit.SECONDS);
      gate.release(10_000);
      v.flush();
      assertEquals(0, v.buffer().dirtyChunks());
    }
    try (var reopened = TestStore.open(direct.spec("wb", bucket).property("prefix", prefix)
        .build())) {
      ByteBuffer all = ByteBuffer.allocate(image.length);
      reopened.read(0, all);
      assertArrayEquals(image, all.array(), "every write stored");
    }
  }
}
