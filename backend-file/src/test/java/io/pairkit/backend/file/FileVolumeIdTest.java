package io.pairkit.backend.file;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.spi.Volume;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The id tells this image file from any other, even one copied to the same path. */
@Timeout(60)
class FileVolumeIdTest {
  @TempDir
  Path dir;

  @Test
  void imageReplacedByACopyAtTheSamePath_answersAnotherId() throws Exception {
    Path a = dir.resolve("a.img");
    Path b = dir.resolve("b.img");
    Optional<String> idA = idOfNewImage(a, 1);
    Optional<String> idB = idOfNewImage(b, 2);
    Assumptions.assumeTrue(idA.isPresent(), "no file identity on this platform");
    Files.delete(a);
    cp(b, a);
    try (Volume again = open(a)) {
      assertNotEquals(idA, again.volumeId(), "another image at the same path");
      assertNotEquals(idB, again.volumeId(), "a copy is another image");
    }
  }

  @Test
  void copyWithAllAttributes_answersAnotherId() throws Exception {
    Path a = dir.resolve("a.img");
    Path c = dir.resolve("c.img");
    Optional<String> idA = idOfNewImage(a, 3);
    Assumptions.assumeTrue(idA.isPresent(), "no file identity on this platform");
    cp(a, c, "-a");
    try (Volume copy = open(c)) {
      assertNotEquals(idA, copy.volumeId());
    }
  }

  @Test
  void idStaysWithTheFileAcrossReopensAndRenames() throws Exception {
    Path a = dir.resolve("a.img");
    Optional<String> idA = idOfNewImage(a, 4);
    Assumptions.assumeTrue(idA.isPresent(), "no file identity on this platform");
    assertTrue(idA.get().startsWith("file:"), idA.get());
    try (Volume again = open(a)) {
      assertEquals(idA, again.volumeId());
    }
    Path moved = Files.move(a, dir.resolve("moved.img"));
    try (Volume again = open(moved)) {
      assertEquals(idA, again.volumeId(), "a rename keeps the file");
    }
  }

  private Optional<String> idOfNewImage(Path path, int fill) throws Exception {
    try (FileVolume v = FileVolume.open("v", path, 1 << 20, FileVolume.OpenMode.CREATE)) {
      v.write(0, ByteBuffer.wrap(new byte[] {(byte) fill, 1, 2, 3}));
      v.flush();
      return v.volumeId();
    }
  }

  private static FileVolume open(Path path) throws Exception {
    return FileVolume.open("v", path, -1, FileVolume.OpenMode.OPEN);
  }

  /** Copies with the system's {@code cp}, as an operator would. */
  private static void cp(Path from, Path to, String... options) throws Exception {
    Assumptions.assumeTrue(Files.isExecutable(Path.of("/bin/cp")), "no /bin/cp here");
    String[] cmd = new String[options.length + 3];
    cmd[0] = "/bin/cp";
    System.arraycopy(options, 0, cmd, 1, options.length);
    cmd[options.length + 1] = from.toString();
    cmd[options.length + 2] = to.toString();
    Process p = new ProcessBuilder(cmd).inheritIO().start();
    assertTrue(p.waitFor(30, TimeUnit.SECONDS), "cp did not finish");
    assertEquals(0, p.exitValue(), "cp failed");
  }
}
