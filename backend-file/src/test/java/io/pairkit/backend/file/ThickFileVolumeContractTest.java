package io.pairkit.backend.file;

import static org.junit.jupiter.api.Assertions.assertFalse;

import io.pairkit.testkit.AbstractVolumeContractTest;
import io.pairkit.api.spi.Volume;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/**
 * The contract on an image opened without the native calls, as on a platform where JNA cannot
 * load or the file system cannot punch holes: discard writes zeros, everything is allocated.
 */
class ThickFileVolumeContractTest extends AbstractVolumeContractTest {
  @TempDir
  Path dir;

  private static FileVolume open(String name, Path path, long size, FileVolume.OpenMode mode)
      throws Exception {
    FileVolume v = FileVolume.open(name, path, size, mode, false,
        FileVolume.DEFAULT_CONCURRENCY, false);
    assertFalse(v.capabilities().thin());
    return v;
  }

  @Override
  protected Volume createVolume(String name, long size) throws Exception {
    return open(name, dir.resolve(name + ".img"), size, FileVolume.OpenMode.CREATE);
  }

  @Override
  protected boolean supportsReopen() {
    return true;
  }

  @Override
  protected Volume reopen(Volume closed) throws Exception {
    FileVolume f = (FileVolume) closed;
    return open(f.name(), f.path(), f.size(), FileVolume.OpenMode.OPEN);
  }

  @Override
  protected Volume openSecondWriter(Volume open) throws Exception {
    FileVolume f = (FileVolume) open;
    return open(f.name(), f.path(), f.size(), FileVolume.OpenMode.OPEN);
  }
}
