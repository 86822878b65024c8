package io.pairkit.backend.file;

import io.pairkit.api.spi.AbstractVolumeContractTest;
import io.pairkit.api.spi.Volume;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

class FileVolumeContractTest extends AbstractVolumeContractTest {
  @TempDir
  Path dir;

  @Override
  protected Volume createVolume(String name, long size, int trackSize) throws Exception {
    return FileVolume.open(name, dir.resolve(name + ".img"), size, trackSize,
        FileVolume.OpenMode.CREATE);
  }

  @Override
  protected boolean supportsReopen() {
    return true;
  }

  @Override
  protected Volume reopen(Volume closed) throws Exception {
    FileVolume f = (FileVolume) closed;
    return FileVolume.open(f.name(), f.path(), f.size(), f.trackSize(), FileVolume.OpenMode.OPEN);
  }
}
