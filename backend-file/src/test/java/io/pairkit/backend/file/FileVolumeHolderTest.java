package io.pairkit.backend.file;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.error.VolumeInUseException;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A refused opener learns who holds the image: a volume here, or another process and host. */
@Timeout(60)
class FileVolumeHolderTest {
  @TempDir
  Path dir;

  @Test
  void imageHeldByAnotherProcess_isRefusedNamingItsPidAndHost() throws Exception {
    Assumptions.assumeTrue(NativeFiles.load().isPresent(), "no fcntl here to ask for the holder");
    Path image = image("held.img");
    try (Child child = Child.start(image)) {
      assertEquals("holding", child.firstLine());
      VolumeInUseException e = assertThrows(VolumeInUseException.class,
          () -> FileVolume.open("second", image, -1, FileVolume.OpenMode.OPEN));
      assertTrue(e.getMessage().contains("held by process " + child.pid() + " on host "
          + FileVolume.hostName()), e.getMessage());
    }
    FileVolume.open("after", image, -1, FileVolume.OpenMode.OPEN).close(); // the child let go
  }

  @Test
  void imageHeldInThisProcess_isRefusedNamingTheVolumeAndThisProcess() throws Exception {
    Path image = image("here.img");
    try (FileVolume first = FileVolume.open("first", image, -1, FileVolume.OpenMode.OPEN)) {
      VolumeInUseException e = assertThrows(VolumeInUseException.class,
          () -> FileVolume.open("second", image, -1, FileVolume.OpenMode.OPEN));
      assertTrue(e.getMessage().contains("held by volume 'first' in this process (process "
          + ProcessHandle.current().pid() + " on host " + FileVolume.hostName()), e.getMessage());
    }
  }

  @Test
  void refusedOpenerInThisProcess_leavesTheImageLockedAgainstOtherProcesses() throws Exception {
    Path image = image("still-locked.img");
    try (FileVolume first = FileVolume.open("first", image, -1, FileVolume.OpenMode.OPEN)) {
      assertThrows(VolumeInUseException.class,
          () -> FileVolume.open("second", image, -1, FileVolume.OpenMode.OPEN));
      try (Child child = Child.start(image)) {
        String line = child.firstLine();
        assertTrue(line.startsWith("refused: "), line);
        if (NativeFiles.load().isPresent()) {
          assertTrue(line.contains("held by process " + ProcessHandle.current().pid()), line);
        }
      }
    }
  }

  private Path image(String name) throws Exception {
    Path image = dir.resolve(name);
    FileVolume.open("seed", image, 1 << 20, FileVolume.OpenMode.CREATE).close();
    return image;
  }

  /** An {@link ImageHolder} in another JVM; closing ends its standard input, and so the child. */
  private static final class Child implements AutoCloseable {
    private final Process process;
    private final BufferedReader out;

    private Child(Process process) {
      this.process = process;
      this.out = new BufferedReader(
          new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    }

    static Child start(Path image) throws Exception {
      String java = ProcessHandle.current().info().command()
          .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      return new Child(new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
          ImageHolder.class.getName(), image.toString()).redirectErrorStream(true).start());
    }

    long pid() {
      return process.pid();
    }

    /** The child's first line of its own (JVM warnings skipped); fails if it ends without one. */
    String firstLine() throws Exception {
      StringBuilder other = new StringBuilder();
      for (String line = out.readLine(); line != null; line = out.readLine()) {
        if (line.equals("holding") || line.startsWith("refused: ")) {
          return line;
        }
        other.append(line).append('\n');
      }
      throw new AssertionError("the child exited (" + process.waitFor() + ") without a word:\n"
          + other);
    }

    @Override
    public void close() throws Exception {
      process.getOutputStream().close();
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new AssertionError("the child did not exit when its standard input ended");
      }
    }
  }
}
