package io.pairkit.backend.file;

import io.pairkit.testkit.AbstractVolumeContractTest;
import io.pairkit.api.spi.Volume;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The contract on a buffered image file (thin where the temp folder's file system punches holes). */
class FileVolumeContractTest extends AbstractVolumeContractTest {
  @TempDir
  Path dir;

  @Override
  protected Volume createVolume(String name, long size) throws Exception {
    return FileVolume.open(name, dir.resolve(name + ".img"), size, FileVolume.OpenMode.CREATE);
  }

  @Override
  protected boolean supportsReopen() {
    return true;
  }

  @Override
  protected Volume reopen(Volume closed) throws Exception {
    FileVolume f = (FileVolume) closed;
    return FileVolume.open(f.name(), f.path(), f.size(), FileVolume.OpenMode.OPEN);
  }

  @Override
  protected Volume openSecondWriter(Volume open) throws Exception {
    FileVolume f = (FileVolume) open;
    return FileVolume.open(f.name(), f.path(), f.size(), FileVolume.OpenMode.OPEN);
  }
}
