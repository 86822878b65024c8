package io.pairkit.backend.raid;

import io.pairkit.api.error.VolumeConfigException;
import io.pairkit.api.spi.Checksums;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.UUID;

/**
 * One member's superblock: the array's identity and shape, this member's index, and every
 * member's state. Each member keeps two copies (slots A and B at 0 and 4 KiB); an update writes
 * the slot its new generation selects, so a torn write leaves the other, older copy readable.
 * The generation grows with every change of member states; a member whose copy is older than the
 * others' missed a change and is stale.
 *
 * <p>Format (big-endian, 4096 bytes): magic {@code "PKRAID01"}, format version (int), array id
 * (UUID, two longs), level (int), layout (int, 2 = left-symmetric), stripe unit (int), members
 * (int), this member's index (int), generation (long), array size (long), member size (long),
 * data offset (long), rows per bitmap bit (int), PPL slots (int), then per member its state
 * (int) and rebuild cursor row (long), and a CRC-32C of everything before it.
 */
record Superblock(UUID arrayId, RaidLevel level, int unit, int members, int index,
    long generation, long arraySize, long memberSize, long dataOffset, int rowsPerBit,
    int pplSlots, MemberState[] states, long[] rebuildRows) {

  static final long MAGIC = 0x504b524149443031L; // "PKRAID01"
  static final int FORMAT_VERSION = 1;
  static final int LAYOUT_LEFT_SYMMETRIC = 2;
  private static final int MAX_MEMBERS = 64;

  Superblock {
    states = states.clone();
    rebuildRows = rebuildRows.clone();
  }

  Superblock forMember(int memberIndex) {
    return new Superblock(arrayId, level, unit, members, memberIndex, generation, arraySize,
        memberSize, dataOffset, rowsPerBit, pplSlots, states, rebuildRows);
  }

  Superblock withStates(long newGeneration, MemberState[] newStates, long[] newRebuildRows) {
    return new Superblock(arrayId, level, unit, members, index, newGeneration, arraySize,
        memberSize, dataOffset, rowsPerBit, pplSlots, newStates, newRebuildRows);
  }

  /** Slot offset this superblock is written to: A for even generations, B for odd. */
  long slotOffset() {
    return (generation & 1) * RaidGeometry.SUPERBLOCK_SIZE;
  }

  ByteBuffer encode() {
    ByteBuffer b = ByteBuffer.allocate(RaidGeometry.SUPERBLOCK_SIZE);
    b.putLong(MAGIC).putInt(FORMAT_VERSION);
    b.putLong(arrayId.getMostSignificantBits()).putLong(arrayId.getLeastSignificantBits());
    b.putInt(level.number()).putInt(LAYOUT_LEFT_SYMMETRIC).putInt(unit).putInt(members)
        .putInt(index).putLong(generation).putLong(arraySize).putLong(memberSize)
        .putLong(dataOffset).putInt(rowsPerBit).putInt(pplSlots);
    for (int i = 0; i < members; i++) {
      b.putInt(states[i].ordinal()).putLong(rebuildRows[i]);
    }
    Checksums.seal(b, b.position());
    b.clear();
    return b;
  }

  /** What a superblock slot holds: nothing (all zero), a valid superblock, or garbage. */
  sealed interface Decoded permits Blank, Valid, Corrupt {
  }

  record Blank() implements Decoded {
  }

  record Valid(Superblock superblock) implements Decoded {
  }

  record Corrupt(String why) implements Decoded {
  }

  static Decoded decode(byte[] slot) {
    ByteBuffer b = ByteBuffer.wrap(slot);
    long magic = b.getLong();
    if (magic != MAGIC) {
      return Checksums.isBlank(slot) ? new Blank()
          : new Corrupt("no PairKit RAID superblock (wrong magic)");
    }
    int version = b.getInt();
    if (version != FORMAT_VERSION) {
      return new Corrupt("superblock format version " + version + ", this build reads "
          + FORMAT_VERSION);
    }
    UUID id = new UUID(b.getLong(), b.getLong());
    int level = b.getInt();
    int layout = b.getInt();
    int unit = b.getInt();
    int members = b.getInt();
    if (members < 1 || members > MAX_MEMBERS || layout != LAYOUT_LEFT_SYMMETRIC
        || (level != 0 && level != 1 && level != 5)) {
      return new Corrupt("superblock fields out of range (level " + level + ", layout " + layout
          + ", members " + members + ")");
    }
    int index = b.getInt();
    long generation = b.getLong();
    long arraySize = b.getLong();
    long memberSize = b.getLong();
    long dataOffset = b.getLong();
    int rowsPerBit = b.getInt();
    int pplSlots = b.getInt();
    MemberState[] states = new MemberState[members];
    long[] rebuild = new long[members];
    for (int i = 0; i < members; i++) {
      int s = b.getInt();
      if (s < 0 || s >= MemberState.values().length) {
        return new Corrupt("member state code " + s);
      }
      states[i] = MemberState.ofCode(s);
      rebuild[i] = b.getLong();
    }
    if (!Checksums.isIntact(b, b.position())) {
      return new Corrupt("superblock checksum mismatch");
    }
    return new Valid(new Superblock(id, RaidLevel.ofNumber(level), unit, members, index,
        generation, arraySize, memberSize, dataOffset, rowsPerBit, pplSlots, states, rebuild));
  }

  /** Newer valid copy of the two slots, or how both failed. */
  static Decoded newest(byte[] slotA, byte[] slotB) {
    Decoded a = decode(slotA);
    Decoded b = decode(slotB);
    if (a instanceof Valid va && b instanceof Valid vb) {
      return va.superblock.generation >= vb.superblock.generation ? a : b;
    }
    if (a instanceof Valid) {
      return a;
    }
    if (b instanceof Valid) {
      return b;
    }
    if (a instanceof Blank && b instanceof Blank) {
      return a;
    }
    return a instanceof Corrupt ? a : b;
  }

  static void check(boolean ok, String message) {
    if (!ok) {
      throw new VolumeConfigException(message);
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Superblock s && s.arrayId.equals(arrayId) && s.generation == generation
        && s.index == index && Arrays.equals(s.states, states);
  }

  @Override
  public int hashCode() {
    return arrayId.hashCode() * 31 + Long.hashCode(generation);
  }
}
