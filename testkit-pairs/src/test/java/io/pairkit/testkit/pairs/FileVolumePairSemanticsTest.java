package io.pairkit.testkit.pairs;

import io.pairkit.api.spi.Volume;
import io.pairkit.backend.file.FileVolume;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.LongStream;
import java.util.stream.Stream;

/**
 * The pair-semantics suite over file volumes (sparse image files in a fresh temporary directory
 * per run). It lives here, not in backend-file, because backends depend only on controller-api.
 */
class FileVolumePairSemanticsTest extends AbstractPairSemanticsTest {
  private Path dir;

  @Override
  protected Volume createVolume(String name, long size) throws Exception {
    if (dir == null) {
      dir = Files.createTempDirectory("pairkit-semantics");
    }
    return FileVolume.open(name, dir.resolve(name + ".img"), size, FileVolume.OpenMode.CREATE);
  }

  @Override
  protected void cleanUp() throws Exception {
    if (dir == null) {
      return;
    }
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.toList()) {
        Files.deleteIfExists(f);
      }
    }
    Files.deleteIfExists(dir);
    dir = null;
  }

  @Override
  protected List<Long> seeds() {
    return List.of(100L);
  }

  @Override
  protected List<Long> trackCacheSeeds() {
    return List.of(300L);
  }

  /** Soak seeds are shared out between memory and file volumes, with and without the cache. */
  @Override
  protected List<Long> soakSeeds() {
    return LongStream.range(1000, 1040).filter(s -> s % 4 == 0).boxed().toList();
  }

  @Override
  protected List<Long> soakTrackCacheSeeds() {
    return LongStream.range(1000, 1040).filter(s -> s % 4 == 2).boxed().toList();
  }
}
