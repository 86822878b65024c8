package io.pairkit.core.internal.engine;

import static io.pairkit.core.internal.engine.Rig.WAIT;
import static io.pairkit.core.internal.engine.Rig.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pairkit.api.CopyRequest;
import io.pairkit.api.Extent;
import io.pairkit.api.HostVolume;
import io.pairkit.api.Pair;
import io.pairkit.api.PairController;
import io.pairkit.api.spi.ProviderContext;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.VolumeProvider;
import io.pairkit.api.spi.VolumeSpec;
import io.pairkit.testkit.MemoryVolume;
import io.pairkit.testkit.VolatileCacheVolume;
import io.pairkit.core.PairKit;
import io.pairkit.core.cache.TrackCacheConfig;
import io.pairkit.core.registry.VolumeProviders;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Ordering rule 2 under the write-back track cache, deterministically (the kill test found it by
 * chance): a copied track's pending bit may be cleared durably only once the data the copy read
 * from the primary is durable too. The disks are {@link VolatileCacheVolume}s that lose every
 * unflushed block at the power cut; the metadata is a real directory, snapshotted at the cut.
 * Verified to fail (S holds the new track 3, P the old one, no bit) without the primary flush in
 * {@code AbstractPair.lazyRound}.
 */
@Timeout(60)
class LazyClearingPowerCutTest {
  private static final int TS = 4096;
  private static final int SIZE = 16 * TS;

  @TempDir
  Path dir;

  /** Volumes of type "disk", by name, from a map the test fills (a disk survives its open). */
  static final class Disks implements VolumeProvider {
    final Map<String, VolatileCacheVolume> disks = new HashMap<>();

    @Override
    public String type() {
      return "disk";
    }

    @Override
    public Volume open(VolumeSpec spec, ProviderContext context) {
      return disks.get(spec.name());
    }
  }

  private static PairKit.Builder builder(Path meta, Disks disks) {
    return PairKit.builder().trackSize(TS).metadataDirectory(meta)
        .lazyClearDelay(Duration.ofHours(1)) // rounds run only when the test calls them
        .providers(VolumeProviders.of(disks));
  }

  @Test
  void aCopiedTracksBitIsNotClearedBeforeThePrimaryDataTheCopyReadIsDurable() throws Exception {
    Path meta = dir.resolve("meta");
    Path snapshot = dir.resolve("snapshot");
    Disks disks = new Disks();
    disks.disks.put("p", new VolatileCacheVolume(new MemoryVolume("p", SIZE)));
    disks.disks.put("s", new VolatileCacheVolume(new MemoryVolume("s", SIZE)));
    byte[] before = random(1, SIZE);
    try (PairController pk = builder(meta, disks)
        .trackCache(TrackCacheConfig.defaults().withCapacity(64L * TS)).build()) {
      HostVolume p = pk.openVolume(VolumeSpec.builder("p", "disk").build());
      HostVolume s = pk.openVolume(VolumeSpec.builder("s", "disk").build());
      p.write(0, before);
      Pair pair = pk.createVolumePair("vp", p, s);
      pair.initialCopy().await(WAIT);
      pk.flush();
      ((AbstractPair) pair).lazyRound();

      p.write(3L * TS, random(2, TS)); // acknowledged, not flushed: a power cut may lose it
      pair.mirrorDrained().get();
      // A bit is cleared only at the second round after its track's last write: two rounds.
      ((AbstractPair) pair).lazyRound();
      ((AbstractPair) pair).lazyRound(); // clears track 3's bit in the metadata
      p.write(10L * TS, random(3, TS)); // its mark's sync makes the clear durable too

      pk.pauseBackgroundCopies();
      copy(meta, snapshot); // the metadata as the power cut leaves it
      disks.disks.get("p").powerCut(new Random(1), 0.0); // every unflushed block is lost
      disks.disks.get("s").powerCut(new Random(1), 0.0);
    } catch (RuntimeException closeOnDeadDisks) {
      // the close cannot flush dead disks; the snapshot is what counts
    }
    try (Stream<Path> files = Files.walk(meta)) {
      files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    }
    copy(snapshot, meta);
    disks.disks.replaceAll((name, disk) -> {
      try {
        return disk.reopen();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    try (PairController pk = builder(meta, disks).build()) {
      Pair pair = pk.pair("vp");
      for (CopyRequest r : pair.activeRequests()) {
        r.await(WAIT);
      }
      pair.mirrorDrained().get();
      byte[] p = pk.volume("p").read(0, SIZE);
      byte[] s = pk.volume("s").read(0, SIZE);
      assertArrayEquals(p, s, "I1: the secondary differs from the primary with no bit set "
          + "after the power cut (" + pair.trackStates(Extent.of(0, SIZE)) + ")");
      assertEquals(0, pair.stats().pendingTracks());
    }
  }

  private static void copy(Path from, Path to) throws Exception {
    Files.createDirectories(to);
    try (Stream<Path> files = Files.list(from)) {
      for (Path f : files.toList()) {
        Files.copy(f, to.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
      }
    }
  }
}
