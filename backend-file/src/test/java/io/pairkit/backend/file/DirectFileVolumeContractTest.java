package io.pairkit.backend.file;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.spi.AbstractVolumeContractTest;
import io.pairkit.api.spi.Volume;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The same contract with O_DIRECT, whose unaligned I/O takes the read-modify-write path. */
class DirectFileVolumeContractTest extends AbstractVolumeContractTest {
  @TempDir
  Path dir;

  @Override
  protected Volume createVolume(String name, long size, int trackSize) throws Exception {
    long blockMultiple = (size + 4095) / 4096 * 4096; // direct I/O needs whole blocks
    FileVolume v = FileVolume.open(name, dir.resolve(name + ".img"), blockMultiple, trackSize,
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
    return new SizedView(FileVolume.open(f.name(), f.path(), f.size(), f.trackSize(),
        FileVolume.OpenMode.OPEN, true), view.size);
  }

  /** Presents the contract's odd size on a block-multiple direct image. */
  private static final class SizedView extends io.pairkit.api.testing.ForwardingVolume {
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
    public void read(long offset, java.nio.ByteBuffer dst) throws java.io.IOException {
      check(offset, dst.remaining());
      super.read(offset, dst);
    }

    @Override
    public void write(long offset, java.nio.ByteBuffer src) throws java.io.IOException {
      check(offset, src.remaining());
      super.write(offset, src);
    }

    private void check(long offset, int length) {
      if (offset < 0 || offset > size - length) {
        throw new IndexOutOfBoundsException("[" + offset + ", " + (offset + length) + ")");
      }
    }
  }
}
