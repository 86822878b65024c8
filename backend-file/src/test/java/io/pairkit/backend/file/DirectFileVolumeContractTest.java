package io.pairkit.backend.file;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.ExtentSet;
import io.pairkit.testkit.AbstractVolumeContractTest;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.Volumes;
import io.pairkit.testkit.ForwardingVolume;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The same contract with O_DIRECT, whose unaligned I/O takes the read-modify-write path. */
class DirectFileVolumeContractTest extends AbstractVolumeContractTest {
  @TempDir
  Path dir;

  @Override
  protected Volume createVolume(String name, long size) throws Exception {
    long blockMultiple = (size + 4095) / 4096 * 4096; // direct I/O needs whole blocks
    FileVolume v = FileVolume.open(name, dir.resolve(name + ".img"), blockMultiple,
        FileVolume.OpenMode.CREATE, true);
    assertTrue(v.isDirect());
    return new SizedView(v, size);
  }

  @Override
  protected boolean supportsReopen() {
    return true;
  }

  @Override
  protected Volume reopen(Volume closed) throws Exception {
    SizedView view = (SizedView) closed;
    FileVolume f = view.file;
    return new SizedView(FileVolume.open(f.name(), f.path(), f.size(), FileVolume.OpenMode.OPEN,
        true), view.size);
  }

  @Override
  protected Volume openSecondWriter(Volume open) throws Exception {
    FileVolume f = ((SizedView) open).file;
    return FileVolume.open(f.name(), f.path(), f.size(), FileVolume.OpenMode.OPEN, true);
  }

  /** Presents the contract's odd size on a block-multiple direct image. */
  private static final class SizedView extends ForwardingVolume {
    final FileVolume file;
    final long size;

    SizedView(FileVolume file, long size) {
      super(file);
      this.file = file;
      this.size = size;
    }

    @Override
    public long size() {
      return size;
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
      Volumes.checkRange(name(), size, offset, dst.remaining());
      super.read(offset, dst);
    }

    @Override
    public void write(long offset, ByteBuffer src) throws IOException {
      Volumes.checkRange(name(), size, offset, src.remaining());
      super.write(offset, src);
    }

    @Override
    public void discard(long offset, long length) throws IOException {
      Volumes.checkRange(name(), size, offset, length);
      super.discard(offset, length);
    }

    @Override
    public ExtentSet allocated(long offset, long length) throws IOException {
      Volumes.checkRange(name(), size, offset, length);
      return super.allocated(offset, length);
    }
  }
}
