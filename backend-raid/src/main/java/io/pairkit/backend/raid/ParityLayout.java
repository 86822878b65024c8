package io.pairkit.backend.raid;

import io.pairkit.backend.raid.MemberIo.IoTask;
import io.pairkit.backend.raid.MemberIo.MemberFailure;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * RAID-5: a row is one stripe unit on each member, one of them parity (rotating, as
 * {@link RaidGeometry} places it). Writes of whole rows compute parity from the new data alone;
 * a partial row reads either the old data and parity (read-modify-write) or the rest of the row
 * (reconstruct-write), whichever reads less, and logs its partial parity first when the
 * {@link PartialParityLog} is on. With a member not in sync for some rows, reads and writes of
 * those rows rebuild the missing member's share from the others under the rows' locks.
 */
final class ParityLayout extends RaidLayout {

  ParityLayout(RaidGeometry g, ArrayState state, MemberIo io, RowLocks rowLocks,
      WriteHoleGuard guard) {
    super(g, state, io, rowLocks, guard);
  }

  @Override
  int dataIndexOf(long row, int member) {
    return g.dataIndexOf(row, member);
  }

  // ---------------------------------------------------------------- reads

  @Override
  void read(long offset, byte[] out, int outOff, int len) throws MemberFailure {
    long[] c = state.cursors();
    long firstRow = offset / g.rowBytes();
    long lastRow = (offset + len - 1) / g.rowBytes();
    for (int m = 0; m < memberCount; m++) {
      if (c[m] <= lastRow) {
        readDegraded(offset, out, outOff, len, firstRow, lastRow);
        return;
      }
    }
    readDirect(offset, out, outOff, len);
  }

  /**
   * A member not in sync for some of the rows: in one pass, under the rows' locks, every other
   * member's units of those rows are read as one I/O each, the missing member's units are
   * rebuilt from them by XOR, and the request is served from those buffers (one I/O per member
   * instead of one per piece, and no piece read twice).
   */
  private void readDegraded(long offset, byte[] out, int outOff, int len, long firstRow,
      long lastRow) throws MemberFailure {
    int[] stripes = rowLocks.lock(firstRow, lastRow);
    try {
      long[] c = state.cursors();
      int rows = (int) (lastRow - firstRow + 1);
      int bytes = rows * g.unit;
      int missing = -1;
      for (int m = 0; m < memberCount; m++) {
        if (c[m] <= lastRow) {
          if (missing >= 0) {
            throw new MemberFailure(m, new IOException("a second member is not in sync"));
          }
          missing = m;
        }
      }
      byte[][] units = new byte[memberCount][];
      List<IoTask> tasks = new ArrayList<>();
      long at = g.memberOffset(firstRow, 0);
      for (int m = 0; m < memberCount; m++) {
        if (m == missing) {
          continue;
        }
        byte[] b = new byte[bytes];
        units[m] = b;
        int mm = m;
        tasks.add(() -> io.read(mm, at, b, 0, bytes));
      }
      io.runAll(tasks);
      if (missing >= 0) {
        byte[] rebuilt = new byte[bytes];
        for (byte[] b : units) {
          if (b != null) {
            Xor.into(rebuilt, 0, b, 0, bytes);
          }
        }
        // Rows below a rebuilding member's cursor are in sync on it, but XOR gives the same.
        units[missing] = rebuilt;
      }
      for (List<Piece> pieces : piecesByMember(offset, len, outOff)) {
        for (Piece p : pieces) {
          System.arraycopy(units[p.member()], (int) (p.row() - firstRow) * g.unit + p.inUnit(),
              out, p.outOff(), p.length());
        }
      }
    } finally {
      rowLocks.unlock(stripes);
    }
  }

  // ---------------------------------------------------------------- writes

  @Override
  void write(long offset, byte[] data, int dataOff, int len) throws MemberFailure, IOException {
    long rowBytes = g.rowBytes();
    long firstRow = offset / rowBytes;
    long lastRow = (offset + len - 1) / rowBytes;
    int[] stripes = rowLocks.lock(firstRow, lastRow);
    try {
      guard.beginIntent(firstRow, lastRow);
      try {
        forEachRowRun(offset, len,
            (row, rows, pos) -> writeFullRows(row, rows, data, dataOff + (int) pos),
            (row, inRow, n, pos) -> writePartialRow(row, inRow, n, data, dataOff + (int) pos));
      } finally {
        guard.endIntent(firstRow, lastRow);
      }
    } finally {
      rowLocks.unlock(stripes);
    }
  }

  /** Whole rows: parity from the new data alone, one write per member. */
  private void writeFullRows(long row0, long rows, byte[] data, int dataOff)
      throws MemberFailure, IOException {
    guard.invalidateLogged(row0, rows);
    int unit = g.unit;
    byte[][] bufs = new byte[memberCount][(int) (rows * unit)];
    for (long r = row0; r < row0 + rows; r++) {
      int at = (int) ((r - row0) * unit);
      int p = g.parityMember(r);
      for (int k = 0; k < g.dataMembers; k++) {
        int m = g.dataMember(r, k);
        int src = dataOff + (int) ((r - row0) * g.rowBytes()) + k * unit;
        System.arraycopy(data, src, bufs[m], at, unit);
        Xor.into(bufs[p], at, data, src, unit);
      }
    }
    long[] c = state.cursors();
    List<IoTask> tasks = new ArrayList<>();
    for (int m = 0; m < memberCount; m++) {
      if (c[m] <= row0) {
        continue;
      }
      int n = (int) (Math.min(rows, c[m] - row0) * unit);
      int mm = m;
      tasks.add(() -> io.write(mm, g.memberOffset(row0, 0), bufs[mm], 0, n));
    }
    io.runAll(tasks);
    long e = guard.epoch();
    long all = (1L << g.dataMembers) - 1;
    for (long r = row0; r < row0 + rows; r++) {
      guard.noteUnflushed(r, all, e);
    }
  }

  /** Part of one row: read-modify-write or reconstruct-write, logged in the PPL first. */
  private void writePartialRow(long row, int inRow, int n, byte[] data, int dataOff)
      throws MemberFailure, IOException {
    int unit = g.unit;
    int units = g.dataMembers;
    int[] from = new int[units];
    int[] to = new int[units];
    int kFirst = inRow / unit;
    int kLast = (inRow + n - 1) / unit;
    int lo = unit;
    int hi = 0;
    long modifiedMask = 0;
    long coveringMask = 0;
    for (int k = kFirst; k <= kLast; k++) {
      from[k] = k == kFirst ? inRow % unit : 0;
      to[k] = k == kLast ? (inRow + n - 1) % unit + 1 : unit;
      lo = Math.min(lo, from[k]);
      hi = Math.max(hi, to[k]);
      modifiedMask |= 1L << k;
    }
    for (int k = kFirst; k <= kLast; k++) {
      if (from[k] <= lo && to[k] >= hi) {
        coveringMask |= 1L << k;
      }
    }
    int w = hi - lo;
    int p = g.parityMember(row);
    long[] c = state.cursors();
    boolean healthy = true;
    for (int m = 0; m < memberCount; m++) {
      healthy &= row < c[m];
    }
    PartialParityLog ppl = guard.ppl();
    if (ppl != null && row < c[p]
        && guard.mustFlushBeforeLogging(row, coveringMask, healthy, from, to)) {
      guard.flushMembers();
    }
    byte[] pp = healthy
        ? partialParity(row, from, to, kFirst, kLast, lo, w)
        : degradedPartialParity(row, from, to, lo, w, c);
    byte[] parity = pp.clone();
    for (int k = kFirst; k <= kLast; k++) {
      int src = dataOff + k * unit + from[k] - inRow;
      Xor.into(parity, from[k] - lo, data, src, to[k] - from[k]);
    }
    PartialParityLog.Ticket ticket = null;
    if (ppl != null && row < c[p]) {
      ticket = ppl.log(row, lo, hi, from, to, pp);
    }
    try {
      List<IoTask> tasks = new ArrayList<>();
      for (int k = kFirst; k <= kLast; k++) {
        int m = g.dataMember(row, k);
        if (row >= c[m]) {
          continue;
        }
        int src = dataOff + k * unit + from[k] - inRow;
        long off = g.memberOffset(row, from[k]);
        int len = to[k] - from[k];
        tasks.add(() -> io.write(m, off, data, src, len));
      }
      if (row < c[p]) {
        long off = g.memberOffset(row, lo);
        tasks.add(() -> io.write(p, off, parity, 0, w));
      }
      io.runAll(tasks);
      guard.noteUnflushed(row, modifiedMask, guard.epoch());
    } finally {
      if (ticket != null) {
        ppl.complete(ticket, guard.epoch());
      }
    }
  }

  /**
   * The parity of band {@code [lo, lo + w)} of a healthy row without the bytes being modified,
   * from the old data and parity or from the rest of the row, whichever reads less.
   */
  private byte[] partialParity(long row, int[] from, int[] to, int kFirst, int kLast, int lo,
      int w) throws MemberFailure {
    int units = g.dataMembers;
    int hi = lo + w;
    int p = g.parityMember(row);
    byte[] pp = new byte[w];
    long rmwReads = w;
    long rcwReads = 0;
    for (int k = 0; k < units; k++) {
      rmwReads += to[k] - from[k];
      rcwReads += w - (to[k] - from[k]);
    }
    List<IoTask> tasks = new ArrayList<>();
    if (rmwReads <= rcwReads) {
      byte[][] old = new byte[units][];
      for (int k = kFirst; k <= kLast; k++) {
        byte[] o = new byte[to[k] - from[k]];
        old[k] = o;
        int m = g.dataMember(row, k);
        long off = g.memberOffset(row, from[k]);
        tasks.add(() -> io.read(m, off, o, 0, o.length));
      }
      long pOff = g.memberOffset(row, lo);
      tasks.add(() -> io.read(p, pOff, pp, 0, w));
      io.runAll(tasks);
      for (int k = kFirst; k <= kLast; k++) {
        Xor.into(pp, from[k] - lo, old[k], 0, old[k].length);
      }
      return pp;
    }
    byte[][] rest = new byte[units][];
    for (int k = 0; k < units; k++) {
      if (to[k] - from[k] == w) {
        continue;
      }
      byte[] r = new byte[w];
      rest[k] = r;
      int m = g.dataMember(row, k);
      int kk = k;
      if (from[k] == to[k]) {
        long off = g.memberOffset(row, lo);
        tasks.add(() -> io.read(m, off, r, 0, w));
      } else {
        if (from[kk] > lo) {
          long off = g.memberOffset(row, lo);
          int len = from[kk] - lo;
          tasks.add(() -> io.read(m, off, r, 0, len));
        }
        if (to[kk] < hi) {
          long off = g.memberOffset(row, to[kk]);
          int len = hi - to[kk];
          int at = to[kk] - lo;
          tasks.add(() -> io.read(m, off, r, at, len));
        }
      }
    }
    io.runAll(tasks);
    for (byte[] r : rest) {
      if (r != null) {
        Xor.into(pp, 0, r, 0, w); // modified bytes of r are still zero
      }
    }
    return pp;
  }

  /**
   * Degraded: the whole band of the row is read from the members in sync, the missing member's
   * share rebuilt, and the parity of the band without the modified bytes computed from it.
   */
  private byte[] degradedPartialParity(long row, int[] from, int[] to, int lo, int w, long[] c)
      throws MemberFailure {
    int p = g.parityMember(row);
    byte[] pp = new byte[w];
    byte[][] band = new byte[memberCount][];
    int missing = -1;
    List<IoTask> tasks = new ArrayList<>();
    for (int m = 0; m < memberCount; m++) {
      if (row >= c[m]) {
        if (missing >= 0) {
          throw new MemberFailure(m, new IOException("a second member is not in sync"));
        }
        missing = m;
        continue;
      }
      byte[] b = new byte[w];
      band[m] = b;
      int mm = m;
      long off = g.memberOffset(row, lo);
      tasks.add(() -> io.read(mm, off, b, 0, w));
    }
    io.runAll(tasks);
    if (missing >= 0 && missing != p) {
      byte[] b = new byte[w];
      for (int m = 0; m < memberCount; m++) {
        if (band[m] != null) {
          Xor.into(b, 0, band[m], 0, w);
        }
      }
      band[missing] = b;
    }
    for (int k = 0; k < g.dataMembers; k++) {
      byte[] b = band[g.dataMember(row, k)];
      if (to[k] > from[k]) {
        Arrays.fill(b, from[k] - lo, to[k] - lo, (byte) 0);
      }
      Xor.into(pp, 0, b, 0, w);
    }
    return pp;
  }

  // ---------------------------------------------------------------- discards

  /**
   * Whole rows are discarded on every member (zeros everywhere keep parity right); in a partial
   * row, zeros are written through the parity path and the stripe units they cover whole are
   * then freed on their members, under the row's lock. Each run retries on its own.
   */
  @Override
  void discard(long offset, long length) throws IOException {
    try {
      forEachRowRun(offset, length,
          (row, rows, pos) -> state.withRetry(() -> discardRows(row, rows)),
          (row, inRow, n, pos) -> state.withRetry(() -> discardPartialRow(row, inRow, n)));
    } catch (MemberFailure f) {
      throw new IllegalStateException("withRetry handles member failures", f);
    }
  }

  private void discardPartialRow(long row, int inRow, int n) throws MemberFailure, IOException {
    int[] stripes = rowLocks.lock(row, row);
    try {
      guard.beginIntent(row, row);
      try {
        writePartialRow(row, inRow, n, new byte[n], 0);
        long[] c = state.cursors();
        List<IoTask> tasks = new ArrayList<>();
        for (int k = (inRow + g.unit - 1) / g.unit; (k + 1) * g.unit <= inRow + n; k++) {
          int m = g.dataMember(row, k);
          if (row < c[m]) {
            tasks.add(() -> io.discard(m, g.memberOffset(row, 0), g.unit));
          }
        }
        io.runAll(tasks);
      } finally {
        guard.endIntent(row, row);
      }
    } finally {
      rowLocks.unlock(stripes);
    }
  }

  private void discardRows(long row0, long rows) throws MemberFailure, IOException {
    long last = row0 + rows - 1;
    int[] stripes = rowLocks.lock(row0, last);
    try {
      guard.beginIntent(row0, last);
      try {
        guard.invalidateLogged(row0, rows);
        long[] c = state.cursors();
        List<IoTask> tasks = new ArrayList<>();
        for (int m = 0; m < memberCount; m++) {
          if (c[m] <= row0) {
            continue;
          }
          long n = Math.min(rows, c[m] - row0) * g.unit;
          int mm = m;
          tasks.add(() -> io.discard(mm, g.memberOffset(row0, 0), n));
        }
        io.runAll(tasks);
        long e = guard.epoch();
        for (long r = row0; r <= last; r++) {
          guard.noteUnflushed(r, (1L << g.dataMembers) - 1, e);
        }
      } finally {
        guard.endIntent(row0, last);
      }
    } finally {
      rowLocks.unlock(stripes);
    }
  }
}
