package io.pairkit.backend.raid;

import io.pairkit.api.error.VolumeConfigException;
import java.util.Locale;

/** The array levels PairKit builds, with the member counts each needs. */
public enum RaidLevel {
  /** Striping without redundancy: chunk {@code c} lives on member {@code c mod N}. */
  RAID0(0, 2),
  /** Mirroring: every member holds all the data. */
  RAID1(1, 2),
  /** Striping with one rotating parity chunk per row, md's left-symmetric layout. */
  RAID5(5, 3);

  private final int number;
  private final int minMembers;

  RaidLevel(int number, int minMembers) {
    this.number = number;
    this.minMembers = minMembers;
  }

  /** The level's number, as md and mdadm name it (0, 1, 5). */
  public int number() {
    return number;
  }

  /** Fewest members the level works with. */
  public int minMembers() {
    return minMembers;
  }

  /** Members holding distinct data in one row of chunks. */
  int dataMembers(int members) {
    return switch (this) {
      case RAID0 -> members;
      case RAID1 -> 1;
      case RAID5 -> members - 1;
    };
  }

  /** Members that may be lost while every byte stays readable. */
  int redundancy(int members) {
    return switch (this) {
      case RAID0 -> 0;
      case RAID1 -> members - 1;
      case RAID5 -> 1;
    };
  }

  /** Parses {@code 0}, {@code 1}, {@code 5}, or {@code raid0}/{@code raid1}/{@code raid5}. */
  static RaidLevel parse(String volume, String raw) {
    String s = raw.trim().toLowerCase(Locale.ROOT);
    if (s.startsWith("raid")) {
      s = s.substring(4);
    }
    for (RaidLevel level : values()) {
      if (Integer.toString(level.number).equals(s)) {
        return level;
      }
    }
    throw new VolumeConfigException("volume '" + volume + "' property 'level' is '" + raw
        + "': use 0, 1 or 5 (RAID-0 striping, RAID-1 mirroring, RAID-5 striping with parity)");
  }

  static RaidLevel ofNumber(int number) {
    for (RaidLevel level : values()) {
      if (level.number == number) {
        return level;
      }
    }
    throw new IllegalArgumentException("no RAID level " + number);
  }

  @Override
  public String toString() {
    return "RAID-" + number;
  }
}
