package io.pairkit.backend.raid;

import io.pairkit.api.error.VolumeConfigException;
import io.pairkit.api.spi.VolumeSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * A RAID volume's settings, parsed and checked from its spec (properties listed in the package
 * documentation). Immutable.
 */
record RaidConfig(String name, RaidLevel level, boolean unitGiven, int unit, boolean create,
    long size, WriteHoleProtection writeHole, long bitmapChunk, long rebuildBytesPerSecond,
    int pplSlots, Duration bitmapClearDelay, List<VolumeSpec> members) {

  static final int DEFAULT_UNIT = 64 << 10;
  static final long DEFAULT_BITMAP_CHUNK = 4L << 20;
  static final long DEFAULT_REBUILD_RATE = 200L << 20;
  static final int DEFAULT_PPL_SLOTS = 64;
  static final long DEFAULT_CLEAR_DELAY_MS = 2000;

  /** What protects a parity or mirror row against a crash in the middle of its update. */
  enum WriteHoleProtection {
    /** Nothing: after a crash, rows may disagree until a full resync (not done automatically). */
    NONE,
    /** Write-intent bitmap: a crash with all members present is repaired at assembly. */
    BITMAP,
    /** Bitmap plus partial parity log (RAID-5): a crash together with a member loss as well. */
    PPL
  }

  static RaidConfig parse(VolumeSpec spec) {
    String name = spec.name();
    RaidLevel level = RaidLevel.parse(name, spec.requireProperty("level"));
    boolean unitGiven = spec.property("stripeUnit").isPresent();
    long unit = spec.sizeProperty("stripeUnit").orElse((long) DEFAULT_UNIT);
    if (unit < 4096 || unit > (16 << 20) || Long.bitCount(unit) != 1) {
      throw new VolumeConfigException("volume '" + name + "' property 'stripeUnit' is '"
          + spec.property("stripeUnit").orElse("") + "': give a power of two from 4KiB to 16MiB "
          + "(default 64KiB)");
    }
    String mode = spec.property("mode").orElse("open").trim().toLowerCase(Locale.ROOT);
    if (!mode.equals("open") && !mode.equals("create")) {
      throw new VolumeConfigException("volume '" + name + "' mode '" + mode
          + "' is not one of open, create");
    }
    boolean create = mode.equals("create");
    long size = spec.sizeProperty("size").orElse(-1L);
    WriteHoleProtection defaultProtection = switch (level) {
      case RAID0 -> WriteHoleProtection.NONE;
      case RAID1 -> WriteHoleProtection.BITMAP;
      case RAID5 -> WriteHoleProtection.PPL;
    };
    WriteHoleProtection writeHole = spec.property("writeHole").map(v -> {
      try {
        return WriteHoleProtection.valueOf(v.trim().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new VolumeConfigException("volume '" + name + "' property 'writeHole' is '" + v
            + "': use ppl (RAID-5), bitmap or none");
      }
    }).orElse(defaultProtection);
    if (writeHole == WriteHoleProtection.PPL && level != RaidLevel.RAID5) {
      throw new VolumeConfigException("volume '" + name + "' sets writeHole=ppl, but a partial "
          + "parity log only exists for RAID-5: use writeHole=bitmap for " + level);
    }
    if (writeHole != WriteHoleProtection.NONE && level == RaidLevel.RAID0) {
      throw new VolumeConfigException("volume '" + name + "' sets writeHole=" + writeHole
          + ", but RAID-0 has no redundancy to keep consistent: remove the property");
    }
    long bitmapChunk = spec.sizeProperty("bitmapChunk").orElse(DEFAULT_BITMAP_CHUNK);
    if (bitmapChunk < 4096) {
      throw new VolumeConfigException("volume '" + name + "' property 'bitmapChunk' must be at "
          + "least 4KiB (default 4MiB)");
    }
    long rate = spec.sizeProperty("rebuildSpeedLimit").orElse(DEFAULT_REBUILD_RATE);
    if (rate < 4096) {
      throw new VolumeConfigException("volume '" + name + "' property 'rebuildSpeedLimit' is "
          + rate + " bytes/s: give at least 4KiB (per second; default 200MiB)");
    }
    int slots = intProperty(spec, "pplSlots", DEFAULT_PPL_SLOTS, 4, 4096);
    long clearMs = intProperty(spec, "bitmapClearDelayMs", (int) DEFAULT_CLEAR_DELAY_MS, 0,
        3_600_000);
    List<VolumeSpec> members = memberSpecs(spec, level);
    return new RaidConfig(name, level, unitGiven, (int) unit, create, size, writeHole,
        bitmapChunk, rate, slots, Duration.ofMillis(clearMs), members);
  }

  private static int intProperty(VolumeSpec spec, String key, int dflt, int min, int max) {
    String raw = spec.property(key).orElse(null);
    if (raw == null) {
      return dflt;
    }
    try {
      int v = Integer.parseInt(raw.trim());
      if (v >= min && v <= max) {
        return v;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new VolumeConfigException("volume '" + spec.name() + "' property '" + key + "' is '"
        + raw + "': give a whole number from " + min + " to " + max + " (default " + dflt + ")");
  }

  /** Member specs from {@code member.<i>.<key>} properties, named {@code <array>.m<i>}. */
  private static List<VolumeSpec> memberSpecs(VolumeSpec spec, RaidLevel level) {
    TreeMap<Integer, Map<String, String>> byIndex = new TreeMap<>();
    for (Map.Entry<String, String> e : spec.properties().entrySet()) {
      String key = e.getKey();
      if (!key.startsWith("member.")) {
        continue;
      }
      int dot = key.indexOf('.', 7);
      int index;
      try {
        index = Integer.parseInt(key.substring(7, dot < 0 ? key.length() : dot));
      } catch (NumberFormatException ex) {
        index = -1;
      }
      if (dot < 0 || index < 0 || dot == key.length() - 1) {
        throw new VolumeConfigException("volume '" + spec.name() + "' property '" + key
            + "' is not of the form member.<index>.<property>, e.g. member.0.path");
      }
      byIndex.computeIfAbsent(index, i -> new HashMap<>()).put(key.substring(dot + 1),
          e.getValue());
    }
    List<VolumeSpec> members = new ArrayList<>();
    for (int i = 0; i < byIndex.size(); i++) {
      Map<String, String> props = byIndex.get(i);
      if (props == null) {
        throw new VolumeConfigException("volume '" + spec.name() + "' lists members "
            + byIndex.keySet() + ": member indexes must run 0, 1, 2, ... without gaps");
      }
      String type = props.remove("type");
      if (type == null) {
        throw new VolumeConfigException("volume '" + spec.name() + "' member " + i
            + " has no type: set member." + i + ".type, e.g. file");
      }
      members.add(VolumeSpec.builder(spec.name() + ".m" + i, type).properties(props).build());
    }
    if (members.size() < level.minMembers()) {
      throw new VolumeConfigException("volume '" + spec.name() + "' is " + level + " with "
          + members.size() + " member(s); it needs at least " + level.minMembers()
          + ": add member.<i>.type and its properties for each");
    }
    for (int i = 0; i < members.size(); i++) {
      for (int j = 0; j < i; j++) {
        if (members.get(i).type().equals(members.get(j).type())
            && members.get(i).properties().equals(members.get(j).properties())) {
          throw new VolumeConfigException("volume '" + spec.name() + "' lists the same member "
              + "twice: member " + j + " and member " + i + " are both " + members.get(i).type()
              + " " + members.get(i).properties() + "; give each member its own image");
        }
      }
    }
    return members;
  }
}
