package io.pairkit.backend.file;

import io.pairkit.api.error.VolumeInUseException;
import java.nio.file.Path;

/**
 * A second process for lock tests: opens the image file given as its argument, prints
 * {@code holding} once it holds the lock (or {@code refused: <message>}), and keeps the volume
 * open until its standard input ends.
 */
public final class ImageHolder {
  private ImageHolder() {
  }

  public static void main(String[] args) throws Exception {
    try (FileVolume volume = FileVolume.open("child", Path.of(args[0]), -1,
        FileVolume.OpenMode.OPEN)) {
      System.out.println("holding");
      System.out.flush();
      while (System.in.read() >= 0) {
        // hold until the parent closes our standard input
      }
    } catch (VolumeInUseException e) {
      System.out.println("refused: " + e.getMessage());
    }
  }
}
