package io.pairkit.backend.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.error.VolumeConfigException;
import io.pairkit.api.error.VolumeInUseException;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.VolumeSpec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Fencing on Ceph RGW (which honours conditional writes): openers racing for one volume, each
 * through a provider of its own (as two controllers on two hosts would be), get exactly one
 * winner; a stale lease is taken over; a writer cut off from the store stops writing once its
 * lease runs out and never overwrites the writer that took over; a lease object that is not
 * PairKit's is refused. Skipped, printing why, when no RGW runs.
 */
@Timeout(120)
class RgwFencingTest {
  private static final int CHUNK = 16 * 1024;
  private TestStore store;
  private String bucket;
  private String prefix;

  @BeforeEach
  void rgw() throws Exception {
    store = RgwStore.assume();
    bucket = store.newBucket();
    prefix = "fence-" + UUID.randomUUID() + "/";
    try (Volume v = TestStore.open(spec(store).property("mode", "create")
        .property("size", 8L * CHUNK).property("chunkSize", CHUNK).build())) {
      assertTrue(v.capabilities().fencing(), "RGW honours conditional writes: fencing is on");
    }
  }

  private VolumeSpec.Builder spec(TestStore s) {
    return s.spec("fenced", bucket).property("prefix", prefix);
  }

  private byte[] storedChunk(long index) {
    try (S3Client c = store.client()) {
      return c.getObjectAsBytes(b -> b.bucket(bucket).key(prefix + "chunks/"
          + String.format("%016x", index))).asByteArray();
    }
  }

  private void putLease(String text) {
    try (S3Client c = store.client()) {
      c.putObject(b -> b.bucket(bucket).key(prefix + "lease"),
          RequestBody.fromString(text, StandardCharsets.UTF_8));
    }
  }

  @Test
  void racingOpenersGetExactlyOneWinner() throws Exception {
    int openers = 4;
    CyclicBarrier start = new CyclicBarrier(openers);
    ExecutorService pool = Executors.newFixedThreadPool(openers);
    List<S3VolumeProvider> providers = new ArrayList<>();
    List<Future<Volume>> results = new ArrayList<>();
    try {
      for (int i = 0; i < openers; i++) {
        S3VolumeProvider p = new S3VolumeProvider();
        providers.add(p);
        results.add(pool.submit(() -> {
          start.await();
          return p.open(spec(store).build(), null);
        }));
      }
      Volume winner = null;
      int refused = 0;
      for (Future<Volume> f : results) {
        try {
          Volume v = f.get();
          assertEquals(null, winner, "two openers won the same volume");
          winner = v;
        } catch (java.util.concurrent.ExecutionException e) {
          VolumeInUseException lost = assertInstanceOf(VolumeInUseException.class, e.getCause());
          assertTrue(lost.getMessage().contains("is held for writing by 'volume 'fenced' in "
              + "process"), lost.getMessage());
          refused++;
        }
      }
      assertTrue(winner != null, "one opener must win");
      assertEquals(openers - 1, refused);
      winner.write(0, ByteBuffer.wrap(new byte[] {42}));
      winner.flush();
      assertEquals(42, storedChunk(0)[0]);
      winner.close();
    } finally {
      pool.shutdownNow();
      providers.forEach(S3VolumeProvider::close);
    }
  }

  private static <T> T assertInstanceOf(Class<T> type, Throwable t) {
    assertTrue(type.isInstance(t), "expected " + type.getSimpleName() + ", got " + t);
    return type.cast(t);
  }

  @Test
  void aLiveForeignLeaseIsRefusedNamingItsHolderAndAStaleOneIsTakenOver() throws Exception {
    long future = System.currentTimeMillis() + 600_000;
    putLease("pairkit-s3-lease\nholder=host-b pid 77\nexpires=" + future + "\nreleased=false\n");
    VolumeInUseException e = assertThrows(VolumeInUseException.class,
        () -> TestStore.open(spec(store).build()));
    assertTrue(e.getMessage().contains("'host-b pid 77'"), e.getMessage());

    long past = System.currentTimeMillis() - 1000;
    putLease("pairkit-s3-lease\nholder=crashed host\nexpires=" + past + "\nreleased=false\n");
    // Taken over once it stayed unchanged for a lease time on this host's clock, plus a grace.
    try (Volume v = TestStore.open(spec(store).property("leaseSeconds", "2").build())) {
      v.write(0, ByteBuffer.wrap(new byte[] {7}));
      v.flush();
      assertEquals(7, storedChunk(0)[0]);
      VolumeInUseException second = assertThrows(VolumeInUseException.class,
          () -> TestStore.open(spec(store).build()));
      assertFalse(second.getMessage().contains("crashed host"), "the stale holder was replaced");
    }
  }

  @Test
  void aLeaseObjectThatIsNotPairKitsIsRefused() {
    putLease("{\"owner\": \"some other tool\"}");
    VolumeConfigException e = assertThrows(VolumeConfigException.class,
        () -> TestStore.open(spec(store).build()));
    assertTrue(e.getMessage().contains(prefix + "lease is not a PairKit lease"), e.getMessage());
  }

  @Test
  void aWriterCutOffFromTheStoreNeverOverwritesTheWriterThatTookOver() throws Exception {
    try (FaultProxy proxy = new FaultProxy(store.endpoint());
        S3VolumeProvider hostA = new S3VolumeProvider()) {
      Volume a = hostA.open(spec(store.through(proxy)).property("leaseSeconds", "2").build(),
          null);
      byte[] first = {1, 1, 1};
      a.write(0, ByteBuffer.wrap(first));
      a.flush();
      proxy.policy(r -> FaultProxy.Fault.RESET_BEFORE); // A is cut off: no renewal gets through
      a.write(CHUNK, ByteBuffer.wrap(new byte[] {9})); // buffered only: nothing reaches the store
      Volume b = openWhenLeaseRunsOut();
      byte[] second = {2, 2, 2};
      b.write(0, ByteBuffer.wrap(second));
      b.flush();
      proxy.policy(r -> FaultProxy.Fault.NONE); // A is back
      IOException stopped = assertThrows(IOException.class, () -> {
        a.write(0, ByteBuffer.wrap(new byte[] {3, 3, 3}));
        a.flush();
      });
      assertTrue(stopped.getMessage().contains("stopped writing"), stopped.getMessage());
      assertArrayEquals(second, java.util.Arrays.copyOf(storedChunk(0), 3),
          "the cut-off writer must not overwrite the new holder's chunk");
      try (S3Client c = store.client()) {
        assertFalse(c.listObjectsV2(l -> l.bucket(bucket).prefix(prefix + "chunks/"))
            .contents().stream().anyMatch(o -> o.key().endsWith("0000000000000001")),
            "A's buffered write to chunk 1 never reached the store");
      }
      b.close();
      assertThrows(IOException.class, a::close);
      try (S3Client c = store.client()) {
        assertFalse(c.listObjectsV2(l -> l.bucket(bucket).prefix(prefix + "chunks/"))
            .contents().stream().anyMatch(o -> o.key().endsWith("0000000000000001")),
            "A's buffered write to chunk 1 never reached the store, not even at close");
      }
    }
  }

  /**
   * A's PUT of a chunk is held in the network longer than A's lease; B takes over and writes the
   * chunk; then A's PUT reaches the store. It must not replace B's chunk (the conditional chunk
   * PUT fails), and A must report the failure.
   */
  @Test
  void aStalePutDelayedInTheNetworkNeverOverwritesTheNewHolder() throws Exception {
    try (FaultProxy proxy = new FaultProxy(store.endpoint());
        S3VolumeProvider hostA = new S3VolumeProvider()) {
      Volume a = hostA.open(spec(store.through(proxy)).property("leaseSeconds", "2").build(),
          null);
      proxy.policy(r -> r.method().equals("PUT") && r.path().contains("chunks/0000000000000001")
          ? FaultProxy.Fault.HOLD : FaultProxy.Fault.RESET_BEFORE); // A is cut off, its PUT held
      byte[] stale = new byte[CHUNK];
      java.util.Arrays.fill(stale, (byte) 1);
      a.write(CHUNK, ByteBuffer.wrap(stale)); // a whole chunk: its upload starts at once
      assertTrue(proxy.awaitHeld(30), "A's PUT of chunk 1 reached the proxy");
      Volume b = openWhenLeaseRunsOut();
      byte[] fresh = new byte[CHUNK];
      java.util.Arrays.fill(fresh, (byte) 2);
      b.write(CHUNK, ByteBuffer.wrap(fresh));
      b.flush();
      assertTrue(proxy.releaseHeld(30), "the held PUT reached the store");
      assertArrayEquals(fresh, storedChunk(1), "A's delayed PUT replaced B's chunk");
      proxy.policy(r -> FaultProxy.Fault.NONE);
      assertThrows(IOException.class, a::flush, "A must report that chunk 1 was not stored");
      assertThrows(IOException.class, a::close);
      assertArrayEquals(fresh, storedChunk(1));
      b.close();
    }
  }

  /**
   * Every renewal answered 500 (as RGW answers a failed compare-and-swap): the lease is not
   * extended, so the volume stops storing chunks within three quarters of the lease time.
   */
  @Test
  void renewalsThatAlwaysFailDoNotExtendTheLease() throws Exception {
    try (FaultProxy proxy = new FaultProxy(store.endpoint());
        S3VolumeProvider host = new S3VolumeProvider()) {
      Volume a = host.open(spec(store.through(proxy)).property("leaseSeconds", "2").build(),
          null);
      proxy.policy(r -> r.method().equals("PUT") && r.path().endsWith("/lease")
          ? FaultProxy.Fault.INTERNAL_ERROR : FaultProxy.Fault.NONE);
      long deadline = System.nanoTime() + 10_000_000_000L;
      IOException stopped = null;
      int lastWritten = -1; // the last round whose write the volume accepted
      for (int round = 0; stopped == null; round++) {
        assertTrue(System.nanoTime() - deadline < 0, "still writing after 10 s of failed "
            + "renewals (lease time 2 s)");
        try {
          a.write(0, ByteBuffer.wrap(new byte[] {(byte) round}));
          lastWritten = round; // a write refused for the lease stores nothing to compare
          a.flush();
        } catch (IOException e) {
          stopped = e;
        }
      }
      assertTrue(stopped.getMessage().contains("could not be renewed"), stopped.getMessage());
      // An upload started while the lease still held may store the last write after the failed
      // flush (its PUT is conditional, so that is safe): then close has nothing left and
      // succeeds. Either close reports what it could not store, or the write is in the bucket.
      try {
        a.close();
        assertTrue(lastWritten >= 0, "the first write was accepted while the lease held");
        assertEquals((byte) lastWritten, storedChunk(0)[0],
            "close succeeded, so the last write must be stored");
      } catch (IOException reported) {
        // what close could not store, or the lease it could not release: reported, as it must be
      }
    }
  }

  /** A lease renewed while the volume writes: a second opener is refused throughout. */
  @Test
  void aRenewedLeaseKeepsOtherOpenersOut() throws Exception {
    try (Volume a = TestStore.open(spec(store).property("leaseSeconds", "2").build())) {
      long end = System.nanoTime() + 6_000_000_000L;
      int round = 0;
      while (System.nanoTime() - end < 0) {
        a.write((round % 8) * CHUNK, ByteBuffer.wrap(new byte[] {(byte) round}));
        a.flush();
        assertThrows(VolumeInUseException.class, () -> TestStore.open(spec(store)
            .property("leaseSeconds", "2").build()), "round " + round);
        round++;
      }
      a.write(0, ByteBuffer.wrap(new byte[] {5}));
      a.flush(); // still writable after three lease times
      assertEquals(5, storedChunk(0)[0]);
    }
  }

  /** Takers racing for one expired lease: exactly one wins each round. */
  @Test
  void takersRacingForAnExpiredLeaseGetExactlyOneWinner() throws Exception {
    int takers = 4;
    S3Settings settings = S3Settings.parse(spec(store).property("leaseSeconds", "2").build());
    ExecutorService pool = Executors.newFixedThreadPool(takers);
    try (S3Client client = store.client()) {
      for (int round = 0; round < 2; round++) {
        putLease("pairkit-s3-lease\nholder=dead " + round + "\nexpires="
            + (System.currentTimeMillis() - 1000) + "\nreleased=false\n");
        CyclicBarrier start = new CyclicBarrier(takers);
        List<Future<Lease>> results = new ArrayList<>();
        for (int i = 0; i < takers; i++) {
          String holder = "taker " + round + "." + i;
          results.add(pool.submit(() -> {
            start.await();
            return Lease.take(new ObjectStore(client, "fenced", bucket, 4), settings, holder);
          }));
        }
        List<Lease> won = new ArrayList<>();
        int refused = 0;
        for (Future<Lease> f : results) {
          try {
            won.add(f.get());
          } catch (java.util.concurrent.ExecutionException e) {
            assertInstanceOf(VolumeInUseException.class, e.getCause());
            refused++;
          }
        }
        assertEquals(1, won.size(), "round " + round + ": exactly one taker wins");
        assertEquals(takers - 1, refused);
        won.get(0).checkWritable();
        won.get(0).close(false); // left to run out: the next round takes it over
      }
    } finally {
      pool.shutdownNow();
    }
  }

  /** Opens the volume as soon as the cut-off holder's lease has run out. */
  private Volume openWhenLeaseRunsOut() throws Exception {
    for (;;) {
      try {
        return TestStore.open(spec(store).property("leaseSeconds", "2").build());
      } catch (VolumeInUseException stillHeld) {
        // the lease is still valid; each try costs two small requests, so this is no busy loop
      }
    }
  }
}
