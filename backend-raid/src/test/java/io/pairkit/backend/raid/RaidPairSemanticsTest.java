package io.pairkit.backend.raid;

import io.pairkit.api.spi.Volume;
import io.pairkit.backend.file.FileVolume;
import io.pairkit.testkit.pairs.AbstractPairSemanticsTest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Nested;

/**
 * The shared pair-semantics suite (every strategy, a reference model, host writers racing
 * requests) with RAID volumes as primary and secondary, and paired with a file volume each way.
 */
class RaidPairSemanticsTest {
  private static final int UNIT = 16 << 10;

  /** Runs the suite with primary {@code "p"} and secondary {@code "s"} made as each says. */
  abstract static class Variant extends AbstractPairSemanticsTest {
    private Path dir;

    abstract String primary();

    abstract String secondary();

    @Override
    protected Volume createVolume(String name, long size) throws Exception {
      String kind = name.equals("p") ? primary() : secondary();
      return switch (kind) {
        case "file" -> {
          if (dir == null) {
            dir = Files.createTempDirectory("pairkit-raid-semantics");
          }
          yield FileVolume.open(name, dir.resolve(name + ".img"), size,
              FileVolume.OpenMode.CREATE);
        }
        case "raid0" -> RaidTesting.memoryArray(name, RaidLevel.RAID0, 2, UNIT, size);
        case "raid1" -> RaidTesting.memoryArray(name, RaidLevel.RAID1, 2, UNIT, size);
        case "raid5x3" -> RaidTesting.memoryArray(name, RaidLevel.RAID5, 3, UNIT, size);
        case "raid5x5" -> RaidTesting.memoryArray(name, RaidLevel.RAID5, 5, 8 << 10, size);
        default -> throw new IllegalArgumentException(kind);
      };
    }

    @Override
    protected void cleanUp() throws Exception {
      if (dir != null) {
        try (Stream<Path> files = Files.walk(dir)) {
          for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
            Files.deleteIfExists(f);
          }
        }
        dir = null;
      }
    }

    @Override
    protected List<Long> seeds() {
      return List.of(11L);
    }

    @Override
    protected List<Long> trackCacheSeeds() {
      return List.of();
    }
  }

  @Nested
  class Raid0Pair extends Variant {
    String primary() {
      return "raid0";
    }

    String secondary() {
      return "raid0";
    }
  }

  @Nested
  class Raid1Pair extends Variant {
    String primary() {
      return "raid1";
    }

    String secondary() {
      return "raid1";
    }
  }

  @Nested
  class Raid5ThreeMembersPair extends Variant {
    String primary() {
      return "raid5x3";
    }

    String secondary() {
      return "raid5x3";
    }

    @Override
    protected List<Long> trackCacheSeeds() {
      return List.of(12L);
    }
  }

  @Nested
  class Raid5FiveMembersPair extends Variant {
    String primary() {
      return "raid5x5";
    }

    String secondary() {
      return "raid5x5";
    }
  }

  @Nested
  class Raid5PrimaryFileSecondary extends Variant {
    String primary() {
      return "raid5x3";
    }

    String secondary() {
      return "file";
    }
  }

  @Nested
  class Raid1PrimaryFileSecondary extends Variant {
    String primary() {
      return "raid1";
    }

    String secondary() {
      return "file";
    }
  }

  @Nested
  class FilePrimaryRaid0Secondary extends Variant {
    String primary() {
      return "file";
    }

    String secondary() {
      return "raid0";
    }
  }

  @Nested
  class FilePrimaryRaid5Secondary extends Variant {
    String primary() {
      return "file";
    }

    String secondary() {
      return "raid5x3";
    }
  }
}
