package io.pairkit.backend.raid;

import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.VolumeSpec;
import io.pairkit.testkit.MemoryVolume;
import io.pairkit.backend.file.FileVolume;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Builds arrays for tests: over memory volumes or image files, at an exact array size. */
final class RaidTesting {
  private RaidTesting() {
  }

  static VolumeSpec spec(String name, RaidLevel level, int unit, long size, String mode,
      Map<String, String> extra) {
    VolumeSpec.Builder b = VolumeSpec.builder(name, "raid")
        .property("level", level.number())
        .property("stripeUnit", unit)
        .property("mode", mode)
        .property("bitmapChunk", 4L * unit * level.dataMembers(5));
    if (size >= 0) {
      b.property("size", size);
    }
    return b.properties(extra).build();
  }

  static long memberSize(RaidLevel level, int members, int unit, long size) {
    VolumeSpec s = spec("x", level, unit, size, "create", Map.of());
    VolumeSpec.Builder b = VolumeSpec.builder(s.name(), s.type()).properties(s.properties());
    for (int i = 0; i < members; i++) {
      b.property("member." + i + ".type", "t").property("member." + i + ".i", i);
    }
    RaidConfig cfg = RaidConfig.parse(b.build());
    return RaidGeometry.memberSizeFor(level, members, unit, Math.max(1, size),
        ArrayAssembler.rowsPerBit(cfg), cfg.pplSlots());
  }

  static List<MemoryVolume> memoryMembers(String name, RaidLevel level, int members, int unit,
      long size) {
    long memberSize = memberSize(level, members, unit, size);
    List<MemoryVolume> list = new ArrayList<>();
    for (int i = 0; i < members; i++) {
      list.add(new MemoryVolume(name + ".m" + i, memberSize));
    }
    return list;
  }

  static RaidVolume memoryArray(String name, RaidLevel level, int members, int unit, long size)
      throws IOException {
    return RaidVolumes.open(spec(name, level, unit, size, "create", Map.of()),
        new ArrayList<Volume>(memoryMembers(name, level, members, unit, size)));
  }

  /** A {@code raid} spec whose members are image files in {@code dir}. */
  static VolumeSpec fileSpec(Path dir, String name, RaidLevel level, int members, int unit,
      long size, String mode, Map<String, String> extra) {
    VolumeSpec base = spec(name, level, unit, size, mode, extra);
    VolumeSpec.Builder b = VolumeSpec.builder(name, "raid").properties(base.properties());
    for (int i = 0; i < members; i++) {
      b.property("member." + i + ".type", "file")
          .property("member." + i + ".path", dir.resolve(name + "-m" + i + ".img").toString());
    }
    return b.build();
  }

  static List<Volume> fileMembers(Path dir, String name, int members, long memberSize,
      FileVolume.OpenMode mode) throws IOException {
    List<Volume> list = new ArrayList<>();
    for (int i = 0; i < members; i++) {
      list.add(FileVolume.open(name + ".m" + i, dir.resolve(name + "-m" + i + ".img"),
          memberSize, mode));
    }
    return list;
  }
}
