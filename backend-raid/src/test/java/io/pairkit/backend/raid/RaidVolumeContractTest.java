package io.pairkit.backend.raid;

import io.pairkit.testkit.AbstractVolumeContractTest;
import io.pairkit.api.spi.Volume;
import io.pairkit.backend.file.FileVolume;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.io.TempDir;

/** The volume contract on every level, over memory members and over image files. */
class RaidVolumeContractTest {

  @Nested
  class Raid0OverMemory extends AbstractVolumeContractTest {
    @Override
    protected Volume createVolume(String name, long size) throws Exception {
      return RaidTesting.memoryArray(name, RaidLevel.RAID0, 2, 16 << 10, size);
    }
  }

  @Nested
  class Raid1OverMemory extends AbstractVolumeContractTest {
    @Override
    protected Volume createVolume(String name, long size) throws Exception {
      return RaidTesting.memoryArray(name, RaidLevel.RAID1, 2, 16 << 10, size);
    }
  }

  @Nested
  class Raid5ThreeMembersOverMemory extends AbstractVolumeContractTest {
    @Override
    protected Volume createVolume(String name, long size) throws Exception {
      return RaidTesting.memoryArray(name, RaidLevel.RAID5, 3, 16 << 10, size);
    }
  }

  @Nested
  class Raid5FiveMembersOverMemory extends AbstractVolumeContractTest {
    @Override
    protected Volume createVolume(String name, long size) throws Exception {
      return RaidTesting.memoryArray(name, RaidLevel.RAID5, 5, 8 << 10, size);
    }
  }

  /** Over image files, reopened from the superblocks; file locks fence a second writer. */
  abstract static class OverFiles extends AbstractVolumeContractTest {
    @TempDir
    Path dir;
    private final RaidLevel level;
    private final int members;

    OverFiles(RaidLevel level, int members) {
      this.level = level;
      this.members = members;
    }

    @Override
    protected Volume createVolume(String name, long size) throws Exception {
      long memberSize = RaidTesting.memberSize(level, members, 64 << 10, size);
      return RaidVolumes.open(RaidTesting.spec(name, level, 64 << 10, size, "create", Map.of()),
          RaidTesting.fileMembers(dir, name, members, memberSize, FileVolume.OpenMode.CREATE));
    }

    @Override
    protected boolean supportsReopen() {
      return true;
    }

    @Override
    protected Volume reopen(Volume closed) throws Exception {
      RaidVolume r = (RaidVolume) closed;
      return RaidVolumes.open(RaidTesting.spec(r.name(), level, 64 << 10, -1, "open", Map.of()),
          RaidTesting.fileMembers(dir, r.name(), members, r.g.memberSize,
              FileVolume.OpenMode.OPEN));
    }

    @Override
    protected Volume openSecondWriter(Volume open) throws Exception {
      return reopen(open);
    }
  }

  @Nested
  class Raid5OverFiles extends OverFiles {
    Raid5OverFiles() {
      super(RaidLevel.RAID5, 4);
    }
  }

  @Nested
  class Raid1OverFiles extends OverFiles {
    Raid1OverFiles() {
      super(RaidLevel.RAID1, 2);
    }
  }

  @Nested
  class Raid0OverFiles extends OverFiles {
    Raid0OverFiles() {
      super(RaidLevel.RAID0, 3);
    }
  }
}
