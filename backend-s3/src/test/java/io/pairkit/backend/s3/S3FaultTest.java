package io.pairkit.backend.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.pairkit.api.spi.TransientIOException;
import io.pairkit.api.spi.Volume;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Faults between the volume and the store, injected by a {@link FaultProxy} in front of S3Proxy:
 * 503 SlowDown, connection resets before and after the store applied a request, delays. Checked:
 * the SDK's retries absorb them and no flushed write is lost; failures that outlast the retries
 * are {@link TransientIOException}s; after a hard failure the volume reopens with every chunk old
 * or new, and everything flushed before the failure intact.
 */
@Timeout(120)
class S3FaultTest {
  private static final int CHUNK = 16 * 1024;
  private static final long SIZE = 32L * CHUNK;
  private final TestStore direct = S3ProxyServer.get();
  private FaultProxy proxy;
  private String bucket;
  private String prefix;

  @BeforeEach
  void start() throws Exception {
    proxy = new FaultProxy(direct.endpoint());
    bucket = direct.newBucket();
    prefix = "f-" + UUID.randomUUID() + "/";
  }

  @AfterEach
  void stop() throws Exception {
    proxy.close();
  }

  private Volume open(TestStore s, boolean create) throws Exception {
    var spec = s.spec("f", bucket).property("prefix", prefix);
    if (create) {
      spec.property("mode", "create").property("size", SIZE).property("chunkSize", CHUNK);
    }
    return TestStore.open(spec.build());
  }

  private static byte[] readAll(Volume v) throws IOException {
    ByteBuffer b = ByteBuffer.allocate((int) SIZE);
    v.read(0, b);
    return b.array();
  }

  /** Flushes as the engine would: retrying transient failures. */
  private static void flushRetrying(Volume v) throws IOException {
    for (int attempt = 0; ; attempt++) {
      try {
        v.flush();
        return;
      } catch (TransientIOException e) {
        if (attempt == 20) {
          throw e;
        }
      }
    }
  }

  @Test
  void slowDownsResetsAndDelaysLoseNoFlushedWrite() throws Exception {
    proxy.delayMillis(2);
    proxy.policy(r -> switch ((int) (r.number() % 7)) {
      case 1 -> FaultProxy.Fault.SLOW_DOWN;
      case 3 -> FaultProxy.Fault.RESET_BEFORE;
      case 5 -> FaultProxy.Fault.RESET_AFTER; // applied, but the answer is lost
      default -> FaultProxy.Fault.NONE;
    });
    byte[] model = new byte[(int) SIZE];
    Random r = new Random(7);
    try (Volume v = open(direct.through(proxy), true)) {
      for (int round = 0; round < 5; round++) {
        for (int i = 0; i < 20; i++) {
          int len = 1 + r.nextInt(3 * CHUNK);
          int at = r.nextInt((int) SIZE - len);
          byte[] piece = new byte[len];
          r.nextBytes(piece);
          v.write(at, ByteBuffer.wrap(piece));
          System.arraycopy(piece, 0, model, at, len);
        }
        if (round % 3 == 2) {
          int at = r.nextInt((int) SIZE - 2 * CHUNK);
          v.discard(at, 2 * CHUNK);
          Arrays.fill(model, at, at + 2 * CHUNK, (byte) 0);
        }
        flushRetrying(v);
      }
      assertArrayEquals(model, readAll(v));
    }
    assertTrue(proxy.faultsInjected() > 20, "faults injected: " + proxy.faultsInjected());
    try (Volume again = open(direct, false)) {
      assertArrayEquals(model, readAll(again), "reopened without the proxy");
    }
  }

  @Test
  void failuresThatOutlastTheRetriesAreTransient() throws Exception {
    try (Volume v = open(direct.through(proxy), true)) {
      v.write(0, ByteBuffer.wrap(new byte[] {1, 2, 3}));
      proxy.policy(r -> FaultProxy.Fault.SLOW_DOWN);
      TransientIOException slow = assertThrows(TransientIOException.class, v::flush);
      assertTrue(slow.getMessage().contains("503"), slow.getMessage());
      proxy.policy(r -> FaultProxy.Fault.RESET_BEFORE);
      assertThrows(TransientIOException.class, v::flush);
      proxy.policy(r -> FaultProxy.Fault.NONE);
      v.flush(); // the data stayed in the buffer: a later flush stores it
      ByteBuffer b = ByteBuffer.allocate(3);
      try (Volume direct2 = open(direct, false)) {
        direct2.read(0, b);
      }
      assertArrayEquals(new byte[] {1, 2, 3}, b.array());
    }
  }

  @Test
  void afterAHardFailureTheVolumeReopensWithEachChunkOldOrNew() throws Exception {
    byte[] old = new byte[(int) SIZE];
    new Random(8).nextBytes(old);
    byte[] next = new byte[(int) SIZE];
    new Random(9).nextBytes(next);
    byte[] flushedLater = new byte[100];
    new Random(10).nextBytes(flushedLater);
    AtomicInteger allowed = new AtomicInteger(Integer.MAX_VALUE);
    AtomicInteger appliedButLost = new AtomicInteger(3);
    proxy.policy(r -> allowed.getAndDecrement() > 0 ? FaultProxy.Fault.NONE
        : appliedButLost.getAndDecrement() > 0 ? FaultProxy.Fault.RESET_AFTER
        : FaultProxy.Fault.RESET_BEFORE);
    Volume v = open(direct.through(proxy), true);
    v.write(0, ByteBuffer.wrap(old));
    v.flush();
    v.write(5L * CHUNK + 7, ByteBuffer.wrap(flushedLater));
    v.flush();
    System.arraycopy(flushedLater, 0, old, 5 * CHUNK + 7, 100);
    allowed.set(10); // the store dies part way through the next upload
    v.write(0, ByteBuffer.wrap(next));
    assertThrows(IOException.class, v::flush);
    assertThrows(IOException.class, v::close, "close reports the chunks it could not store");
    try (Volume again = open(direct, false)) {
      byte[] got = readAll(again);
      int fresh = 0;
      for (int c = 0; c < SIZE / CHUNK; c++) {
        byte[] chunk = Arrays.copyOfRange(got, c * CHUNK, (c + 1) * CHUNK);
        if (Arrays.equals(chunk, Arrays.copyOfRange(next, c * CHUNK, (c + 1) * CHUNK))) {
          fresh++;
        } else if (!Arrays.equals(chunk, Arrays.copyOfRange(old, c * CHUNK, (c + 1) * CHUNK))) {
          fail("chunk " + c + " is neither the old nor the new data");
        }
      }
      assertTrue(fresh < SIZE / CHUNK, "the failure must have stopped some upload: " + fresh);
    }
  }
}
