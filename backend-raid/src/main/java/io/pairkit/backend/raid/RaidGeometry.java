package io.pairkit.backend.raid;

/**
 * Where everything lives on the members, and which member holds which array byte. Immutable.
 *
 * <p>Each member is laid out as:
 * <pre>
 *   [0, 4 KiB)        superblock copy A   (the copy with the higher generation wins)
 *   [4 KiB, 8 KiB)    superblock copy B
 *   [8 KiB, ...)      write-intent bitmap, one bit per bitmap chunk (rowsPerBit rows)
 *   [pplOffset, ...)  partial parity log: pplSlots slots of (4 KiB header + one stripe unit)
 *   [dataOffset, ...) data: row r of stripe units at dataOffset + r * stripeUnit
 * </pre>
 * {@code dataOffset} is a multiple of 1 MiB. Array data is cut into stripe units; unit {@code u}
 * belongs to row {@code u / D} as data unit {@code k = u mod D} (D data members per row). Which
 * member holds it:
 * <ul>
 *   <li>RAID-0: member {@code k} (D = N);
 *   <li>RAID-1: every member (D = 1);
 *   <li>RAID-5, md's left-symmetric layout (mdadm's default, {@code ALGORITHM_LEFT_SYMMETRIC}):
 *       the parity unit of row {@code r} is on member {@code P = N - 1 - (r mod N)} and data unit
 *       {@code k} on member {@code (P + 1 + k) mod N}. So parity rotates from the last member to
 *       the first, and each row's data starts just after its parity, wrapping round.
 * </ul>
 * Example, 4 members (D0.. are data units in array order, P parity):
 * <pre>
 *   row 0:  D0  D1  D2  P
 *   row 1:  D4  D5  P   D3
 *   row 2:  D8  P   D6  D7
 *   row 3:  P   D9  D10 D11
 * </pre>
 */
final class RaidGeometry {
  static final int SUPERBLOCK_SIZE = 4096;
  static final int PPL_HEADER_SIZE = 4096;
  static final long BITMAP_OFFSET = 2L * SUPERBLOCK_SIZE;
  private static final long DATA_ALIGN = 1 << 20;

  final RaidLevel level;
  final int members;
  final int unit;
  final int dataMembers;
  final long memberSize;
  final int rowsPerBit;
  final int bitmapBytes;
  final long pplOffset;
  final int pplSlots;
  final long dataOffset;
  /** Rows of stripe units that fit on every member. */
  final long rows;
  /** Bytes of array data the members can hold. */
  final long capacity;

  RaidGeometry(RaidLevel level, int members, int unit, long memberSize, int rowsPerBit,
      int pplSlots) {
    this.level = level;
    this.members = members;
    this.unit = unit;
    this.dataMembers = level.dataMembers(members);
    this.memberSize = memberSize;
    this.rowsPerBit = rowsPerBit;
    long maxRows = memberSize / unit;
    long bits = (maxRows + rowsPerBit - 1) / rowsPerBit;
    this.bitmapBytes = Math.toIntExact(roundUp((bits + 7) / 8, 4096));
    this.pplOffset = BITMAP_OFFSET + bitmapBytes;
    this.pplSlots = level == RaidLevel.RAID5 ? pplSlots : 0;
    this.dataOffset = roundUp(pplOffset + (long) this.pplSlots * pplSlotSize(), DATA_ALIGN);
    this.rows = Math.max(0, (memberSize - dataOffset) / unit);
    this.capacity = rows * unit * dataMembers;
  }

  static long roundUp(long value, long multiple) {
    return (value + multiple - 1) / multiple * multiple;
  }

  /** Member size needed to hold {@code arraySize} bytes. */
  static long memberSizeFor(RaidLevel level, int members, int unit, long arraySize,
      int rowsPerBit, int pplSlots) {
    long rowBytes = (long) unit * level.dataMembers(members);
    long rows = (arraySize + rowBytes - 1) / rowBytes;
    long guess = rows * unit;
    while (true) {
      RaidGeometry g = new RaidGeometry(level, members, unit, guess + DATA_ALIGN * 2, rowsPerBit,
          pplSlots);
      long needed = g.dataOffset + rows * unit;
      RaidGeometry exact = new RaidGeometry(level, members, unit, needed, rowsPerBit, pplSlots);
      if (exact.rows >= rows) {
        return needed;
      }
      guess += DATA_ALIGN;
    }
  }

  int pplSlotSize() {
    return PPL_HEADER_SIZE + unit;
  }

  long pplSlotOffset(int slot) {
    return pplOffset + (long) slot * pplSlotSize();
  }

  long rowBytes() {
    return (long) unit * dataMembers;
  }

  long row(long arrayOffset) {
    return arrayOffset / rowBytes();
  }

  /** The member holding RAID-5 row {@code row}'s parity. */
  int parityMember(long row) {
    return members - 1 - (int) (row % members);
  }

  /** The member holding data unit {@code k} of {@code row} (for RAID-1: member 0's copy). */
  int dataMember(long row, int k) {
    return switch (level) {
      case RAID0 -> k;
      case RAID1 -> 0;
      case RAID5 -> (parityMember(row) + 1 + k) % members;
    };
  }

  /** Which data unit of its row member {@code m} holds (RAID-5), or -1 for the parity member. */
  int dataIndexOf(long row, int member) {
    int p = parityMember(row);
    if (member == p) {
      return -1;
    }
    return Math.floorMod(member - p - 1, members);
  }

  /** Member byte offset of byte {@code inUnit} of {@code row}'s units. */
  long memberOffset(long row, int inUnit) {
    return dataOffset + row * unit + inUnit;
  }

  /** Bitmap chunk guarding {@code row}. */
  long bitOf(long row) {
    return row / rowsPerBit;
  }
}
