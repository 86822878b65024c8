package io.pairkit.backend.raid;

import io.pairkit.api.spi.Volume;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Makes a RAID volume's rows consistent again after an unclean stop, before it serves any I/O,
 * as md does at assembly: rows under set write-intent bits are resynchronised from their data
 * when every member is in sync for them, else repaired from the partial parity log; the log is
 * then zeroed (durably) and only then the bitmap cleared. Also computes the redundancy of a new
 * array whose members already hold data.
 *
 * <p>Threading: runs during assembly, before the volume is handed out; nothing else runs.
 */
final class ArrayRecovery {
  private static final System.Logger LOG = System.getLogger(ArrayRecovery.class.getName());

  private final String name;
  private final RaidGeometry g;
  private final ArrayState state;
  private final MemberIo io;
  private final WriteHoleGuard guard;

  ArrayRecovery(RaidVolume volume) {
    this.name = volume.name();
    this.g = volume.g;
    this.state = volume.arrayState();
    this.io = volume.memberIo();
    this.guard = volume.writeHoleGuard();
  }

  /**
   * Makes rows a crash may have left inconsistent consistent again, before any I/O: resync rows
   * under set bits from their data, or replay the partial parity log where a member is missing;
   * then zero the log (durably) and only then clear the bitmap. Runs at every assembly, clean
   * or not, so no log entry outlives the session that wrote it.
   */
  void recover(Volume[] members) throws IOException {
    if (g.level == RaidLevel.RAID0) {
      return;
    }
    BitSet dirty = new BitSet();
    List<PartialParityLog.Entry> entries = new ArrayList<>();
    UUID arrayId = state.arrayId();
    for (int m = 0; m < members.length; m++) {
      if (members[m] == null || state.cursor(m) == 0) {
        continue;
      }
      byte[] bitmap = new byte[g.bitmapBytes];
      members[m].read(RaidGeometry.BITMAP_OFFSET, java.nio.ByteBuffer.wrap(bitmap));
      dirty.or(WriteIntentBitmap.decode(bitmap));
      for (int s = 0; s < g.pplSlots; s++) {
        byte[] slot = new byte[g.pplSlotSize()];
        members[m].read(g.pplSlotOffset(s), java.nio.ByteBuffer.wrap(slot));
        PartialParityLog.Entry e = PartialParityLog.decode(slot, arrayId, g.dataMembers, g.unit);
        if (e != null) {
          entries.add(e);
        }
      }
    }
    if (guard.ppl() != null) {
      guard.ppl().continueAfter(PartialParityLog.highestSeq(entries));
    }
    if (dirty.isEmpty() && entries.isEmpty()) {
      return;
    }
    Map<Long, List<PartialParityLog.Entry>> replay = PartialParityLog.toReplay(entries);
    long resynced = 0;
    long replayed = 0;
    for (int b = dirty.nextSetBit(0); b >= 0; b = dirty.nextSetBit(b + 1)) {
      long first = (long) b * g.rowsPerBit;
      long end = Math.min(g.rows, first + g.rowsPerBit);
      for (long row = first; row < end; row++) {
        if (g.level == RaidLevel.RAID1 || allInSync(row)) {
          resync(row, row + 1); // RAID-1: from the first in-sync mirror to the others
          resynced++;
        } else {
          for (PartialParityLog.Entry e : replay.getOrDefault(row, List.of())) {
            if (replay(e)) {
              replayed++;
            }
          }
        }
      }
    }
    guard.flushMembers();
    byte[] zero = new byte[RaidGeometry.PPL_HEADER_SIZE];
    for (int m = 0; m < members.length && !entries.isEmpty(); m++) {
      if (members[m] == null || state.cursor(m) == 0) {
        continue;
      }
      for (int s = 0; s < g.pplSlots; s++) {
        members[m].write(g.pplSlotOffset(s), java.nio.ByteBuffer.wrap(zero));
      }
      members[m].flush();
    }
    if (guard.bitmap() != null) {
      guard.bitmap().writeClear();
    }
    if (!dirty.isEmpty()) {
      LOG.log(Level.INFO, "RAID volume '" + name + "' recovered after an unclean stop: " + resynced
          + " rows resynchronised, " + replayed + " log entries replayed");
    }
  }

  private boolean allInSync(long row) {
    for (int m = 0; m < state.memberCount(); m++) {
      if (state.cursor(m) <= row) {
        return false;
      }
    }
    return true;
  }

  /** Recomputes rows {@code [from, to)}: parity from the data, or mirror 0's copy to the rest. */
  void resync(long from, long to) throws IOException {
    int batch = (int) Math.max(1, (1 << 20) / g.unit);
    for (long row = from; row < to; row += batch) {
      long rows = Math.min(batch, to - row);
      int bytes = (int) (rows * g.unit);
      long off = g.memberOffset(row, 0);
      try {
        if (g.level == RaidLevel.RAID1) {
          int source = -1;
          for (int m = 0; m < state.memberCount() && source < 0; m++) {
            if (state.cursor(m) >= row + rows) {
              source = m;
            }
          }
          if (source < 0) {
            continue; // no mirror in sync here: nothing to copy from
          }
          byte[] data = new byte[bytes];
          io.read(source, off, data, 0, bytes);
          for (int m = 0; m < state.memberCount(); m++) {
            if (m != source && state.cursor(m) >= row + rows) {
              io.write(m, off, data, 0, bytes);
            }
          }
        } else {
          byte[][] units = new byte[state.memberCount()][];
          List<MemberIo.IoTask> reads = new ArrayList<>();
          for (int m = 0; m < state.memberCount(); m++) {
            byte[] u = new byte[bytes];
            units[m] = u;
            int mm = m;
            reads.add(() -> io.read(mm, off, u, 0, bytes));
          }
          io.runAll(reads);
          for (long r = row; r < row + rows; r++) {
            int p = g.parityMember(r);
            int at = (int) ((r - row) * g.unit);
            byte[] parity = new byte[g.unit];
            for (int m = 0; m < state.memberCount(); m++) {
              if (m != p) {
                Xor.into(parity, 0, units[m], at, g.unit);
              }
            }
            io.write(p, g.memberOffset(r, 0), parity, 0, g.unit);
          }
        }
      } catch (MemberIo.MemberFailure f) {
        throw new IOException("RAID volume '" + name + "': resynchronising rows from "
            + row + " failed on member " + f.member + ": " + f.getCause().getMessage(),
            f.getCause());
      }
    }
  }

  /** Parity = partial parity XOR the modified data as it is now. */
  private boolean replay(PartialParityLog.Entry e) throws IOException {
    int p = g.parityMember(e.row());
    if (state.cursor(p) <= e.row()) {
      return false;
    }
    byte[] parity = e.partialParity().clone();
    int lostFrom = e.hi();
    int lostTo = e.hi();
    try {
      for (int k = 0; k < g.dataMembers; k++) {
        int len = e.to()[k] - e.from()[k];
        if (len <= 0) {
          continue;
        }
        int m = g.dataMember(e.row(), k);
        if (state.cursor(m) <= e.row()) {
          // This write's own bytes on the lost member cannot be repaired (as in md); the parity
          // of the rest of the band still can, and must be, or its innocent bytes come out wrong.
          lostFrom = e.from()[k];
          lostTo = e.to()[k];
          continue;
        }
        byte[] d = new byte[len];
        io.read(m, g.memberOffset(e.row(), e.from()[k]), d, 0, len);
        Xor.into(parity, e.from()[k] - e.lo(), d, 0, len);
      }
      if (lostFrom > e.lo()) {
        io.write(p, g.memberOffset(e.row(), e.lo()), parity, 0, lostFrom - e.lo());
      }
      if (lostTo < e.hi()) {
        io.write(p, g.memberOffset(e.row(), lostTo), parity, lostTo - e.lo(),
            e.hi() - lostTo);
      }
      return true;
    } catch (MemberIo.MemberFailure f) {
      throw new IOException("RAID volume '" + name + "': replaying the partial parity "
          + "log for row " + e.row() + " failed on member " + f.member + ": "
          + f.getCause().getMessage(), f.getCause());
    }
  }
}
