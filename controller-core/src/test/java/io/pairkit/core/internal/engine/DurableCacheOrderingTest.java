package io.pairkit.core.internal.engine;

import static io.pairkit.core.internal.engine.Rig.WAIT;
import static io.pairkit.core.internal.engine.Rig.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.HostVolume;
import io.pairkit.api.MirrorMode;
import io.pairkit.api.PairOptions;
import io.pairkit.api.VolumePair;
import io.pairkit.api.spi.ProviderContext;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.VolumeProvider;
import io.pairkit.api.spi.VolumeSpec;
import io.pairkit.testkit.MemoryVolume;
import io.pairkit.core.PairKit;
import io.pairkit.core.cache.TrackCacheConfig;
import io.pairkit.core.internal.metadata.MetaStorage;
import io.pairkit.core.registry.VolumeProviders;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * With the write-back track cache, ordering rule 1 is kept by the destager, not by the writer: a
 * host write that sets a new difference bit completes without waiting for the metadata sync, but
 * its data does not reach the backend before that bit is durable.
 */
@Timeout(60)
class DurableCacheOrderingTest {
  private static final int TS = 4096;
  private static final long SIZE = 64L * TS;

  /** Metadata in memory whose syncs wait while the gate is shut. */
  private static final class GatedStorage implements MetaStorage {
    private final Map<String, ByteArrayOutputStream> files = new ConcurrentHashMap<>();
    volatile CountDownLatch gate = new CountDownLatch(0);
    volatile int failSyncs;

    @Override
    public void append(String file, byte[] data) {
      files.computeIfAbsent(file, f -> new ByteArrayOutputStream()).writeBytes(data);
    }

    @Override
    public void sync(String file) throws IOException {
      if (failSyncs > 0) {
        failSyncs--;
        throw new IOException("injected: no space left on device");
      }
      try {
        gate.await();
      } catch (InterruptedException e) {
        throw new IOException(e);
      }
    }

    @Override
    public byte[] read(String file) {
      ByteArrayOutputStream b = files.get(file);
      return b == null ? null : b.toByteArray();
    }

    @Override
    public void replace(String file, byte[] content) {
      ByteArrayOutputStream b = new ByteArrayOutputStream();
      b.writeBytes(content);
      files.put(file, b);
    }

    @Override
    public void delete(String file) {
      files.remove(file);
    }

    @Override
    public List<String> list() {
      return new ArrayList<>(files.keySet());
    }

    @Override
    public String describe() {
      return "memory";
    }

    @Override
    public void close() {
    }
  }

  @Test
  void aWriteNeedingANewBitDoesNotWaitButItsDataWaitsForTheBit() throws Exception {
    Map<String, MemoryVolume> disks = disks();
    VolumeProvider memory = provider(disks);
    GatedStorage meta = new GatedStorage();
    try (DefaultPairController pk = DefaultPairController.withStorage(PairKit.builder()
            .trackSize(TS).trackCache(TrackCacheConfig.defaults().withCapacity(64 * TS))
            .config(), VolumeProviders.of(memory), Engine.InstantHook.NONE, meta)) {
      HostVolume p = pk.openVolume(VolumeSpec.builder("p", "mem").build());
      HostVolume s = pk.openVolume(VolumeSpec.builder("s", "mem").build());
      VolumePair pair = pk.createVolumePair("vp", p, s);
      pair.initialCopy().await(WAIT);
      pair.split().await(WAIT);
      pk.flush();

      meta.gate = new CountDownLatch(1); // metadata syncs hang from now on
      try {
        writeWithoutWaitingForTheSync(pk, p, disks.get("p"), meta);
      } finally {
        meta.gate.countDown();
      }
    }
  }

  @Test
  void theMirrorDoesNotPutDataOnTheSecondaryAheadOfTheBitThatGuardsIt() throws Exception {
    Map<String, MemoryVolume> disks = disks();
    VolumeProvider memory = provider(disks);
    GatedStorage meta = new GatedStorage();
    try (DefaultPairController pk = DefaultPairController.withStorage(PairKit.builder()
            .trackSize(TS).trackCache(TrackCacheConfig.defaults().withCapacity(64 * TS))
            .lazyClearDelay(java.time.Duration.ofHours(1)).config(), VolumeProviders.of(memory),
        Engine.InstantHook.NONE, meta)) {
      HostVolume p = pk.openVolume(VolumeSpec.builder("p", "mem").build());
      HostVolume s = pk.openVolume(VolumeSpec.builder("s", "mem").build());
      VolumePair pair = pk.createVolumePair("vp", p, s,
          PairOptions.defaults().withMirrorMode(MirrorMode.ASYNCHRONOUS)); // the mirror's copy
      pair.initialCopy().await(WAIT);
      pair.mirrorDrained().get();
      AbstractPair ap = (AbstractPair) pair;
      ap.lazyRound();
      ap.lazyRound(); // two rounds: every bit cleared in the metadata

      meta.gate = new CountDownLatch(1); // metadata syncs hang from now on
      try {
        byte[] data = random(9, TS);
        // With the cache the write completes at once; its bit's record is not durable.
        CompletableFuture.runAsync(() -> p.write(5L * TS, data)).get(10, TimeUnit.SECONDS);
        CompletableFuture<Void> drained = pair.mirrorDrained();
        // Bounded look (not a synchronisation): the mirror must wait for the record.
        assertThrows(TimeoutException.class, () -> drained.get(300, TimeUnit.MILLISECONDS));
        s.flush(); // whatever the mirror put on the secondary reaches its disk now
        ByteBuffer onDisk = ByteBuffer.allocate(TS);
        disks.get("s").read(5L * TS, onDisk);
        assertFalse(java.util.Arrays.equals(data, onDisk.array()),
            "the copy reached the secondary's disk before the bit that guards it was durable");
        meta.gate.countDown();
        drained.get(10, TimeUnit.SECONDS);
        assertArrayEquals(data, s.read(5L * TS, TS));
      } finally {
        meta.gate.countDown();
      }
    }
  }

  private static Map<String, MemoryVolume> disks() {
    Map<String, MemoryVolume> disks = new ConcurrentHashMap<>();
    disks.put("p", new MemoryVolume("p", SIZE));
    disks.put("s", new MemoryVolume("s", SIZE));
    return disks;
  }

  private static VolumeProvider provider(Map<String, MemoryVolume> disks) {
    return new VolumeProvider() {
      @Override
      public String type() {
        return "mem";
      }

      @Override
      public Volume open(VolumeSpec spec, ProviderContext context) {
        return disks.get(spec.name());
      }
    };
  }

  @Test
  void aSecondaryWriteWaitsForTheUnsyncedChangeMarkOfAPrimaryWriteOnItsTrack() throws Exception {
    Map<String, MemoryVolume> disks = disks();
    GatedStorage meta = new GatedStorage();
    try (DefaultPairController pk = DefaultPairController.withStorage(PairKit.builder()
            .trackSize(TS).trackCache(TrackCacheConfig.defaults().withCapacity(64 * TS))
            .config(), VolumeProviders.of(provider(disks)), Engine.InstantHook.NONE, meta)) {
      HostVolume p = pk.openVolume(VolumeSpec.builder("p", "mem").build());
      HostVolume s = pk.openVolume(VolumeSpec.builder("s", "mem").build());
      VolumePair pair = pk.createVolumePair("vp", p, s);
      pair.initialCopy().await(WAIT);
      pair.split().await(WAIT);
      pk.flush();
      meta.gate = new CountDownLatch(1);
      try {
        // The cached primary write records "changed" but does not wait for the sync...
        CompletableFuture.runAsync(() -> p.write(3L * TS, random(2, TS)))
            .get(10, TimeUnit.SECONDS);
        // ...so the secondary write on the same track must wait for that record: the bit is
        // set, but not durable.
        CompletableFuture<Void> sw = CompletableFuture.runAsync(() -> s.write(3L * TS,
            random(3, TS)));
        assertThrows(TimeoutException.class, () -> sw.get(300, TimeUnit.MILLISECONDS));
        meta.gate.countDown();
        sw.get(10, TimeUnit.SECONDS);
      } finally {
        meta.gate.countDown();
      }
    }
  }

  @Test
  void aFailedJournalWriteRefusesEveryLaterWriteUntilTheControllerIsReopened()
      throws Exception {
    Map<String, MemoryVolume> disks = disks();
    GatedStorage meta = new GatedStorage();
    try (DefaultPairController pk = DefaultPairController.withStorage(PairKit.builder()
            .trackSize(TS).lazyClearDelay(java.time.Duration.ofHours(1)).config(),
        VolumeProviders.of(provider(disks)), Engine.InstantHook.NONE, meta)) {
      HostVolume p = pk.openVolume(VolumeSpec.builder("p", "mem").build());
      HostVolume s = pk.openVolume(VolumeSpec.builder("s", "mem").build());
      VolumePair pair = pk.createVolumePair("vp", p, s);
      pair.initialCopy().await(WAIT);
      pair.split().await(WAIT); // frozen and copied: the next write records a new mark
      meta.failSyncs = 1;
      io.pairkit.api.error.MetadataException first = assertThrows(
          io.pairkit.api.error.MetadataException.class, () -> p.write(3L * TS, random(2, TS)));
      assertTrue(first.getMessage().contains("reopen"), first.getMessage());
      // Its bit is set in memory but never reached the disk: a retry must not slip through.
      assertThrows(io.pairkit.api.error.MetadataException.class,
          () -> p.write(3L * TS, random(3, TS)));
    } catch (io.pairkit.api.error.VolumeIOException closeFailure) {
      // close cannot make the metadata clean any more; the data it has is on the disks
    }
  }

  private static void writeWithoutWaitingForTheSync(DefaultPairController pk, HostVolume p,
      MemoryVolume disk, GatedStorage meta) throws Exception {
    {
      byte[] data = random(5, TS);
      // Track 7 is split and unchanged: the write sets its changed bit, yet completes without
      // waiting for the sync.
      CompletableFuture.runAsync(() -> p.write(7L * TS, data)).get(10, TimeUnit.SECONDS);
      CompletableFuture<Void> flush = CompletableFuture.runAsync(pk::flush);
      // Bounded look (not a synchronisation): the flush cannot destage track 7 yet.
      assertThrows(TimeoutException.class, () -> flush.get(300, TimeUnit.MILLISECONDS));
      ByteBuffer onDisk = ByteBuffer.allocate(TS);
      disk.read(7L * TS, onDisk);
      assertFalse(java.util.Arrays.equals(data, onDisk.array()),
          "the data reached the backend before its bit was durable");
      meta.gate.countDown();
      flush.get(10, TimeUnit.SECONDS);
      onDisk.clear();
      disk.read(7L * TS, onDisk);
      assertArrayEquals(data, onDisk.array());
    }
  }
}
