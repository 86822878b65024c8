package io.pairkit.backend.raid;

import io.pairkit.api.spi.ScrubReport;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A scrub of a RAID-1 or RAID-5 volume, md's {@code check} / {@code repair}: batches of rows are
 * locked (as a host write locks them, so no write is half applied), every member's units of the
 * rows are read, and each row's redundancy is compared with its data. RAID-5: the XOR of a row's
 * units must be zero; repair rewrites the parity from the data. RAID-1: every mirror must equal
 * the first; repair copies the first over the others (md's choice: with two disagreeing copies
 * nothing tells which is right). A repair marks its rows in the write-intent bitmap first, so a
 * crash in the middle resyncs them. The array must not be degraded: with a member out of sync
 * there is nothing to compare.
 */
final class Scrubber {
  private static final System.Logger LOG = System.getLogger(Scrubber.class.getName());
  private static final int BATCH_BYTES = 1 << 20;
  private static final int KEPT_OFFSETS = 16;

  private final String name;
  private final long size;
  private final RaidGeometry g;
  private final ArrayState state;
  private final MemberIo io;
  private final RowLocks rowLocks;
  private final WriteHoleGuard guard;
  private final boolean repair;
  private long mismatches;
  private long repaired;
  private final List<Long> offsets = new ArrayList<>();

  Scrubber(String name, long size, RaidGeometry g, ArrayState state, MemberIo io,
      RowLocks rowLocks, WriteHoleGuard guard, boolean repair) {
    this.name = name;
    this.size = size;
    this.g = g;
    this.state = state;
    this.io = io;
    this.rowLocks = rowLocks;
    this.guard = guard;
    this.repair = repair;
  }

  ScrubReport run() throws IOException {
    if (g.level == RaidLevel.RAID0) {
      throw new UnsupportedOperationException("RAID volume '" + name + "' is RAID-0: "
          + "it keeps no redundancy to scrub");
    }
    long batchRows = Math.max(1, BATCH_BYTES / g.unit);
    for (long row = 0; row < g.rows; row += batchRows) {
      long n = Math.min(batchRows, g.rows - row);
      batch(row, n);
    }
    String what = repair ? "repair" : "check";
    String summary = mismatches == 0
        ? what + " of " + g.rows + " rows: every stripe consistent"
        : what + " of " + g.rows + " rows: " + mismatches + " inconsistent"
            + (repair ? ", " + repaired + " repaired" : " (scrub with repair to fix them)");
    LOG.log(mismatches == 0 ? Level.INFO : Level.WARNING, "RAID volume '" + name
        + "': " + summary + (offsets.isEmpty() ? "" : ", first at bytes " + offsets));
    return new ScrubReport(size, mismatches, repaired, offsets, summary);
  }

  private void batch(long row, long n) throws IOException {
    state.sharedOpLock().lock();
    int[] stripes = rowLocks.lock(row, row + n - 1);
    try {
      state.checkScrubbable();
      int bytes = (int) (n * g.unit);
      byte[][] units = new byte[g.members][];
      List<MemberIo.IoTask> reads = new ArrayList<>();
      long at = g.memberOffset(row, 0);
      for (int m = 0; m < g.members; m++) {
        byte[] b = new byte[bytes];
        units[m] = b;
        int mm = m;
        reads.add(() -> io.read(mm, at, b, 0, bytes));
      }
      io.runAll(reads);
      List<Long> bad = new ArrayList<>();
      for (long r = row; r < row + n; r++) {
        if (!consistent(units, (int) (r - row) * g.unit)) {
          bad.add(r);
        }
      }
      for (long r : bad) {
        mismatches++;
        if (offsets.size() < KEPT_OFFSETS) {
          offsets.add(r * g.rowBytes());
        }
      }
      if (repair && !bad.isEmpty()) {
        fix(bad, row, units);
      }
    } catch (MemberIo.MemberFailure f) {
      state.memberFailed(f);
      throw new IOException("RAID volume '" + name + "': the scrub stopped at row " + row
          + ": member " + (f.member >= 0 ? state.memberName(f.member) : "?") + " failed ("
          + f.getCause().getMessage() + "); replace it, let it rebuild, then scrub again", f);
    } finally {
      rowLocks.unlock(stripes);
      state.sharedOpLock().unlock();
    }
  }

  private boolean consistent(byte[][] units, int at) {
    if (g.level == RaidLevel.RAID1) {
      for (int m = 1; m < g.members; m++) {
        if (!Arrays.equals(units[0], at, at + g.unit, units[m], at, at + g.unit)) {
          return false;
        }
      }
      return true;
    }
    byte[] x = new byte[g.unit];
    for (byte[] u : units) {
      Xor.into(x, 0, u, at, g.unit);
    }
    for (byte b : x) {
      if (b != 0) {
        return false;
      }
    }
    return true;
  }

  /** Rewrites the redundancy of rows {@code bad} (a batch starting at {@code row}). */
  private void fix(List<Long> bad, long row, byte[][] units)
      throws IOException, MemberIo.MemberFailure {
    guard.beginIntent(bad.get(0), bad.get(bad.size() - 1));
    try {
      List<MemberIo.IoTask> writes = new ArrayList<>();
      for (long r : bad) {
        int at = (int) (r - row) * g.unit;
        long off = g.memberOffset(r, 0);
        if (g.level == RaidLevel.RAID1) {
          for (int m = 1; m < g.members; m++) {
            int mm = m;
            writes.add(() -> io.write(mm, off, units[0], at, g.unit));
          }
        } else {
          int p = g.parityMember(r);
          byte[] parity = new byte[g.unit];
          for (int m = 0; m < g.members; m++) {
            if (m != p) {
              Xor.into(parity, 0, units[m], at, g.unit);
            }
          }
          writes.add(() -> io.write(p, off, parity, 0, g.unit));
        }
      }
      io.runAll(writes);
      guard.flushMembers();
      repaired += bad.size();
    } finally {
      guard.endIntent(bad.get(0), bad.get(bad.size() - 1));
    }
  }
}
