package io.pairkit.core.internal.engine;

import static io.pairkit.core.internal.engine.Rig.WAIT;
import static io.pairkit.core.internal.engine.Rig.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.CopyRequest;
import io.pairkit.api.Extent;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.ExtentSplitPair;
import io.pairkit.api.HostVolume;
import io.pairkit.api.Pair;
import io.pairkit.api.PairController;
import io.pairkit.api.PairState;
import io.pairkit.api.RecoveryReport;
import io.pairkit.api.TrackState;
import io.pairkit.api.TrackStates;
import io.pairkit.api.VolumePair;
import io.pairkit.api.spi.ProviderContext;
import io.pairkit.api.spi.VolumeCapabilities;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.VolumeProvider;
import io.pairkit.api.spi.VolumeSpec;
import io.pairkit.backend.file.FileVolumeProvider;
import io.pairkit.core.PairKit;
import io.pairkit.core.internal.metadata.MetadataStore;
import io.pairkit.core.registry.VolumeProviders;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * The checked-in samples {@code src/test/resources/metadata-v1/} to {@code metadata-v4/}: a metadata directory (a checkpoint holding one pair and a journal after
 * it holding another, as an unclean stop leaves them) written by format version 1, by version 2
 * (write-intent regions of two tracks, lazy rounds off) and by version 3 (the same plus a
 * consistency group of each pair, one checkpointed and one in the journal; version 4 the same,
 * its checkpoint with the restore bitmap), with the images of
 * their volumes. Every later version must keep
 * opening them: change the format and this test says whether old directories still open.
 *
 * <p>The sample's volumes are of type {@code sample-file}: file images named relative to the
 * sample (the {@code file} property), so the copy in a temporary directory opens. They give no
 * volume id (the copied images are other inodes), so only their size is checked.
 *
 * <p>To write the sample of a new format version (as {@code metadata-v<version>}):
 * {@code mvn -pl controller-core test -Dtest=FormatSampleTest -Dpairkit.regenerateSample=true}.
 *
 * <p>What it holds: primary {@code p} (8 tracks of 4 KiB, the pattern {@code random(1)}), a
 * volume pair {@code vp} to {@code s1}, split, then track 2 written on P, then a clean close (the
 * checkpoint); after the reopen, in the journal: an extent-split pair
 * {@code xs} to {@code s2} with tracks 4-5 split, then track 5 written on P and 100 bytes at the
 * start of track 4 written on S; then track 0 written on P (mirrored on {@code xs}).
 */
@Timeout(60)
class FormatSampleTest {
  private static final int TS = 4096;
  private static final int TRACKS = 8;
  private static final long SIZE = (long) TS * TRACKS;
  private static final Path SOURCE_V1 = Path.of("src/test/resources/metadata-v1");
  private static final Path SOURCE_V2 = Path.of("src/test/resources/metadata-v2");
  private static final Path SOURCE_V3 = Path.of("src/test/resources/metadata-v3");
  private static final Path SOURCE_V4 = Path.of("src/test/resources/metadata-v4");
  /** The version 2 sample's write-intent regions: two tracks each. */
  private static final long REGION = 2L * TS;

  @TempDir
  Path dir;

  /** File images named relative to a base directory, without a volume id. */
  static final class SampleProvider implements VolumeProvider {
    private final Path base;
    private final boolean create;
    private final FileVolumeProvider files = new FileVolumeProvider();

    SampleProvider(Path base, boolean create) {
      this.base = base;
      this.create = create;
    }

    @Override
    public String type() {
      return "sample-file";
    }

    @Override
    public Volume open(VolumeSpec spec, ProviderContext context) throws IOException {
      VolumeSpec file = VolumeSpec.builder(spec.name(), "file")
          .property("path", base.resolve(spec.requireProperty("file")).toString())
          .property("size", spec.requireProperty("size"))
          .property("mode", create ? "openOrCreate" : "open").build();
      return new NoIdVolume(files.open(file, context));
    }
  }

  /** A volume as its delegate, but with no volume id. */
  record NoIdVolume(Volume v) implements Volume {
    @Override
    public String name() {
      return v.name();
    }

    @Override
    public long size() {
      return v.size();
    }

    @Override
    public VolumeCapabilities capabilities() {
      return v.capabilities();
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
      v.read(offset, dst);
    }

    @Override
    public void write(long offset, ByteBuffer src) throws IOException {
      v.write(offset, src);
    }

    @Override
    public void discard(long offset, long length) throws IOException {
      v.discard(offset, length);
    }

    @Override
    public ExtentSet allocated(long offset, long length) throws IOException {
      return v.allocated(offset, length);
    }

    @Override
    public void flush() throws IOException {
      v.flush();
    }

    @Override
    public void close() throws IOException {
      v.close();
    }
  }

  private static PairController controller(Path sample, boolean create) {
    return PairKit.builder().trackSize(TS).metadataDirectory(sample.resolve("meta"))
        .writeIntentRegionSize(REGION).lazyClearDelay(java.time.Duration.ofHours(1))
        .providers(VolumeProviders.of(new SampleProvider(sample.resolve("images"), create)))
        .build();
  }

  private static VolumeSpec spec(String name) {
    return VolumeSpec.builder(name, "sample-file").property("file", name + ".img")
        .property("size", SIZE).build();
  }

  private static byte[] expectedPrimary() {
    byte[] p = random(1, (int) SIZE);
    System.arraycopy(random(2, TS), 0, p, 2 * TS, TS);
    System.arraycopy(random(5, TS), 0, p, 5 * TS, TS);
    System.arraycopy(random(6, TS), 0, p, 0, TS);
    return p;
  }

  @Test
  @EnabledIfSystemProperty(named = "pairkit.regenerateSample", matches = "true")
  void generateTheSample() throws Exception {
    Path sample = dir.resolve("sample");
    Files.createDirectories(sample.resolve("images"));
    try (PairController pk = controller(sample, true)) {
      HostVolume p = pk.openVolume(spec("p"));
      p.write(0, random(1, (int) SIZE));
      VolumePair vp = pk.createVolumePair("vp", p, pk.openVolume(spec("s1")));
      vp.initialCopy().await(WAIT);
      vp.split().await(WAIT);
      p.write(2L * TS, random(2, TS));
      pk.createGroup("g1", List.of("vp")); // version 3: a group in the checkpoint
    }
    // The clean close checkpointed vp; what follows goes to the journal after that checkpoint.
    try (PairController pk = controller(sample, true)) {
      HostVolume p = pk.volume("p");
      ExtentSplitPair xs = pk.createExtentSplitPair("xs", p, pk.openVolume(spec("s2")));
      xs.initialCopy().await(WAIT);
      xs.extentSplit(ExtentSet.of(4L * TS, 6L * TS)).await(WAIT);
      pk.createGroup("g2", List.of("xs")); // and one in the journal
      p.write(5L * TS, random(5, TS));
      xs.secondary().write(4L * TS, random(4, 100));
      p.write(0, random(6, TS));
      xs.mirrorDrained().get();
      pk.flush();
      // An unclean stop: the metadata as it is now (checkpoint + journal), then the images.
      Path target = Path.of("src/test/resources/metadata-v" + MetadataStore.FORMAT_VERSION);
      copyFiles(sample.resolve("meta"), target.resolve("meta"));
      copyFiles(sample.resolve("images"), target.resolve("images"));
    }
  }

  private static void copyFiles(Path from, Path to) throws IOException {
    Files.createDirectories(to);
    try (Stream<Path> files = Files.list(from)) {
      for (Path f : files.toList()) {
        if (!f.getFileName().toString().equals("LOCK")) {
          Files.copy(f, to.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
        }
      }
    }
  }

  @Test
  void theVersion1SampleOpensWithItsPairsStatesBitsAndData() throws Exception {
    // Version 1 recorded every changed track exactly: vp's are the three written after its split.
    openAndCheck(SOURCE_V1, List.of(0L, 2L, 5L), 0);
  }

  @Test
  void theVersion3SampleOpensWithItsPairsGroupsStatesBitsAndData() throws Exception {
    openAndCheckGroups(SOURCE_V3);
  }

  @Test
  void theVersion4SampleOpensWithItsPairsGroupsStatesBitsAndData() throws Exception {
    // Version 4 adds the tracks a restore has still to copy back to each checkpointed pair.
    assertEquals(4, MetadataStore.FORMAT_VERSION, "a new format: add a metadata-v"
        + MetadataStore.FORMAT_VERSION + " sample and keep the tests of the older ones");
    openAndCheckGroups(SOURCE_V4);
  }

  private void openAndCheckGroups(Path source) throws Exception {
    openAndCheck(source, List.of(0L, 1L, 2L, 4L, 5L), 4);
    Path sample = dir.resolve("sample");
    try (PairController pk = controller(sample, false)) {
      assertEquals(List.of("g1", "g2"), pk.groups().stream()
          .map(io.pairkit.api.ConsistencyGroup::name).toList());
      assertEquals(List.of("vp"), pk.group("g1").pairs().stream().map(Pair::id).toList());
      assertEquals(List.of("xs"), pk.group("g2").pairs().stream().map(Pair::id).toList());
    }
  }

  @Test
  void theVersion2SampleOpensWithItsPairsStatesBitsAndData() throws Exception {
    // Version 2 recorded track 2 exactly (its split copy was still recorded pending) and the
    // writes to tracks 0 and 5 by their regions ({0, 1} and {4, 5}), left dirty by the unclean
    // stop: every split track of a dirty region counts as changed, four of them.
    openAndCheck(SOURCE_V2, List.of(0L, 1L, 2L, 4L, 5L), 4);
  }

  /**
   * Opens a copy of {@code source} and checks its pairs: vp's changed tracks are
   * {@code vpChanged}, {@code vpByIntent} of them counted changed for their dirty region.
   */
  private void openAndCheck(Path source, List<Long> vpChanged, long vpByIntent)
      throws Exception {
    Path sample = dir.resolve("sample");
    copyFiles(source.resolve("meta"), sample.resolve("meta"));
    copyFiles(source.resolve("images"), sample.resolve("images"));
    try (PairController pk = controller(sample, false)) {
      RecoveryReport report = pk.recoveryReport();
      assertFalse(report.cleanStop(), report.toString());
      assertTrue(report.journalRecords() > 0, report.toString());
      assertEquals(0, report.discardedTailBytes(), report.toString());
      assertEquals(List.of("vp", "xs"),
          pk.pairs().stream().map(Pair::id).toList());
      byte[] original = random(1, (int) SIZE);
      byte[] primary = expectedPrimary();
      assertArrayEquals(primary, pk.volume("p").read(0, (int) SIZE));

      VolumePair vp = (VolumePair) pk.pair("vp");
      await(vp);
      assertEquals(PairState.SPLIT, vp.state());
      TrackStates vs = vp.trackStates(Extent.of(0, SIZE));
      assertEquals(vpChanged, vs.tracks(TrackState.SPLIT_CHANGED), vs.toString());
      assertEquals(TRACKS - vpChanged.size(), vs.count(TrackState.SPLIT), vs.toString());
      assertEquals(vpByIntent, report.pairs().get(0).intentTracks(), report.toString());
      assertArrayEquals(original, vp.secondary().read(0, (int) SIZE), "vp's split image");

      ExtentSplitPair xs = (ExtentSplitPair) pk.pair("xs");
      await(xs);
      assertEquals(PairState.EXTENT_SPLIT, xs.state());
      assertEquals(ExtentSet.of(4L * TS, 6L * TS), xs.splitExtents());
      TrackStates xt = xs.trackStates(Extent.of(0, SIZE));
      assertEquals(List.of(4L, 5L), xt.tracks(TrackState.SPLIT_CHANGED), xt.toString());
      assertEquals(6, xt.count(TrackState.IN_SYNC), xt.toString());
      byte[] s2 = xs.secondary().read(0, (int) SIZE);
      byte[] s2Expected = primary.clone();
      System.arraycopy(original, 4 * TS, s2Expected, 4 * TS, 2 * TS); // the frozen extent
      System.arraycopy(random(4, 100), 0, s2Expected, 4 * TS, 100); // written on S
      assertArrayEquals(s2Expected, s2, "xs's secondary");

      // The pairs work on: a join and a resync copy just the changed tracks back.
      assertEquals(2, xs.extentJoin(xs.splitExtents()).await(WAIT).tracksCopied());
      assertEquals(vpChanged.size(), vp.resync().await(WAIT).tracksCopied());
      vp.mirrorDrained().get();
      xs.mirrorDrained().get();
      assertTrue(Arrays.equals(primary, vp.secondary().read(0, (int) SIZE)));
      assertTrue(Arrays.equals(primary, xs.secondary().read(0, (int) SIZE)));
    }
  }

  private static void await(Pair pair) throws Exception {
    for (CopyRequest r : pair.activeRequests()) {
      r.await(WAIT);
    }
    pair.mirrorDrained().get();
  }
}
