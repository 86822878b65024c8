package io.pairkit.backend.file;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.error.VolumeConfigException;
import io.pairkit.api.error.VolumeInUseException;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.VolumeCapabilities;
import io.pairkit.api.spi.VolumeProvider;
import io.pairkit.api.spi.VolumeSpec;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

class FileVolumeProviderTest {
  @TempDir
  Path dir;

  private final FileVolumeProvider files = new FileVolumeProvider();
  /** The provider as the engine drives it: open(spec, context); file volumes need no context. */
  private final Opener provider = spec -> files.open(spec, s -> {
    throw new AssertionError("a file volume opens no other volume, yet asked for " + s);
  });

  private interface Opener {
    Volume open(VolumeSpec spec) throws Exception;
  }

  private VolumeSpec spec(String file, String... kv) {
    VolumeSpec.Builder b = VolumeSpec.builder("vol", "file").property("path",
        dir.resolve(file).toString());
    for (int i = 0; i < kv.length; i += 2) {
      b.property(kv[i], kv[i + 1]);
    }
    return b.build();
  }

  private static void assertConfigError(Executable call, String... words) {
    VolumeConfigException e = assertThrows(VolumeConfigException.class, call);
    for (String w : words) {
      assertTrue(e.getMessage().contains(w), "'" + e.getMessage() + "' should mention " + w);
    }
  }

  @Test
  void isFoundByServiceLoaderUnderTypeFile() {
    boolean found = ServiceLoader.load(VolumeProvider.class).stream()
        .anyMatch(p -> p.get().type().equals("file"));
    assertTrue(found);
  }

  @Test
  void createsASparseImageOfTheGivenSize() throws Exception {
    try (Volume v = provider.open(spec("a.img", "mode", "create", "size", "64MiB"))) {
      assertEquals(64L << 20, v.size());
      assertEquals(64L << 20, Files.size(dir.resolve("a.img")));
    }
    // stat(1) reports allocated 512-byte blocks; the JDK has no portable attribute for it.
    Process stat = new ProcessBuilder("stat", "--format=%b", dir.resolve("a.img").toString())
        .redirectErrorStream(true).start();
    long allocatedBlocks = Long.parseLong(new String(stat.getInputStream().readAllBytes()).trim());
    assertEquals(0, stat.waitFor());
    assertTrue(allocatedBlocks * 512 < (1L << 20), "image should be sparse, uses "
        + allocatedBlocks * 512 + " bytes");
  }

  @Test
  void openOrCreateReopensWhatItMade() throws Exception {
    try (Volume v = provider.open(spec("b.img", "mode", "openOrCreate", "size", "1m"))) {
      v.write(10, ByteBuffer.wrap(new byte[] {42}));
      v.flush();
    }
    try (Volume v = provider.open(spec("b.img", "mode", "openOrCreate", "size", "1m"))) {
      ByteBuffer one = ByteBuffer.allocate(1);
      v.read(10, one);
      assertEquals(42, one.get(0));
    }
  }

  @Test
  void missingFileSaysHowToCreateIt() {
    assertConfigError(() -> provider.open(spec("missing.img")), "does not exist", "mode=create");
  }

  @Test
  void createOverAnExistingFileIsRefusedAndLeavesItAlone() throws Exception {
    Files.write(dir.resolve("x.img"), new byte[] {1, 2, 3});
    assertConfigError(() -> provider.open(spec("x.img", "mode", "create", "size", "4k")),
        "already exists");
    assertEquals(3, Files.size(dir.resolve("x.img")));
  }

  @Test
  void wrongSizeNamesBothSizes() throws Exception {
    Files.write(dir.resolve("s.img"), new byte[8192]);
    assertConfigError(() -> provider.open(spec("s.img", "size", "4096")), "8192", "size=4096");
  }

  @Test
  void readOnlyImageIsRefused() throws Exception {
    Path p = dir.resolve("ro.img");
    Files.write(p, new byte[4096]);
    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("r--r--r--"));
    assertConfigError(() -> provider.open(spec("ro.img")), "read-only", "chmod");
  }

  @Test
  void secondOpenOfTheSameImageIsRefusedAsInUse() throws Exception {
    try (Volume first = provider.open(spec("l.img", "mode", "create", "size", "4k"))) {
      VolumeInUseException e = assertThrows(VolumeInUseException.class,
          () -> provider.open(spec("l.img")));
      assertTrue(e.getMessage().contains("held by volume 'vol' in this process"), e.getMessage());
      assertEquals(4096, first.size(), "the first opener keeps working");
    }
  }

  @Test
  void directIoNeedsWholeBlocksAndBypassesThePageCache() throws Exception {
    assertConfigError(() -> provider.open(spec("d.img", "mode", "create", "size", "5000",
        "direct", "true")), "multiple of the file system block");
    try (Volume v = provider.open(spec("d2.img", "mode", "create", "size", "1m", "direct",
        "true"))) {
      assertTrue(((FileVolume) v).isDirect());
      // Direct I/O moves in the device's largest request, within 1..4 MiB.
      int preferred = v.capabilities().preferredIoSize();
      assertEquals(FileVolume.deviceRequestSize(dir.resolve("d2.img")), preferred);
      assertTrue(Integer.bitCount(preferred) == 1 && preferred >= 1 << 20
          && preferred <= 4 << 20, "preferred " + preferred);
      v.write(100, ByteBuffer.wrap(new byte[] {7}));
      ByteBuffer one = ByteBuffer.allocate(1);
      v.read(100, one);
      assertEquals(7, one.get(0));
    }
  }

  @Test
  void directoriesMissingFoldersAndEmptyImagesAreNamed() throws Exception {
    Files.createDirectory(dir.resolve("adir"));
    assertConfigError(() -> provider.open(spec("adir")), "is a directory");
    assertConfigError(() -> provider.open(spec("no/such/folder.img", "mode", "create", "size",
        "4k")), "folder", "does not exist");
    Files.write(dir.resolve("empty.img"), new byte[0]);
    assertConfigError(() -> provider.open(spec("empty.img")), "is empty");
  }

  @Test
  void trackSizeIsRefusedAsAControllerSetting() {
    assertConfigError(() -> provider.open(spec("t.img", "mode", "create", "size", "1m",
        "trackSize", "64k")), "trackSize", "controller setting", "PairKit.builder().trackSize(");
    assertFalse(Files.exists(dir.resolve("t.img")), "nothing is created for a refused spec");
  }

  @Test
  void capabilitiesFollowTheProperties() throws Exception {
    try (Volume v = provider.open(spec("c.img", "mode", "create", "size", "1m"))) {
      VolumeCapabilities caps = v.capabilities();
      assertEquals(1, caps.alignment());
      assertEquals(1 << 20, caps.preferredIoSize());
      assertEquals(8, caps.concurrency());
      assertTrue(caps.durableFlush());
      assertTrue(caps.fencing());
    }
    try (Volume v = provider.open(spec("d.img", "mode", "create", "size", "1m",
        "direct", "true", "concurrency", "3"))) {
      assertEquals(Files.getFileStore(dir).getBlockSize(), v.capabilities().alignment());
      assertEquals(3, v.capabilities().concurrency());
    }
  }

  @Test
  void badPropertiesAreNamed() {
    assertConfigError(() -> provider.open(spec("t.img", "mode", "create", "size", "1m",
        "concurrency", "0")), "concurrency", "1..1024");
    assertConfigError(() -> provider.open(spec("t.img", "mode", "create", "size", "1m",
        "concurrency", "many")), "concurrency", "many");
    assertConfigError(() -> provider.open(spec("t.img", "mode", "create", "size", "lots")),
        "size", "lots");
    assertConfigError(() -> provider.open(spec("t.img", "mode", "sometimes")), "sometimes");
    assertConfigError(() -> provider.open(spec("t.img", "mode", "create", "size", "1m",
        "direct", "yes")), "direct", "true or false");
    assertConfigError(() -> provider.open(spec("t.img", "mode", "create")), "positive size");
    assertConfigError(() -> provider.open(VolumeSpec.builder("v", "file").build()), "path");
  }
}
