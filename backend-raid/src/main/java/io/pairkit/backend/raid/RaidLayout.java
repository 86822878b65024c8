package io.pairkit.backend.raid;

import io.pairkit.api.Extent;
import io.pairkit.api.ExtentSet;
import io.pairkit.backend.raid.MemberIo.IoTask;
import io.pairkit.backend.raid.MemberIo.MemberFailure;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * How one RAID level maps a request onto its members, a file per level as Linux md keeps raid0.c,
 * raid1.c and raid5.c: {@link StripedLayout} (RAID-0), {@link MirroredLayout} (RAID-1) and
 * {@link ParityLayout} (RAID-5). This base holds what they share: cutting a request into
 * stripe-unit pieces per member, merging a member's consecutive pieces into one I/O, walking a
 * range row by row, and the allocation query of the striped levels.
 *
 * <p>Reads and writes throw {@link MemberFailure}; the volume records the failure in the
 * {@link ArrayState} and redoes the request degraded. Member states are read from one snapshot
 * of the cursors per request.
 */
abstract class RaidLayout {
  /** The most member data one merged I/O or one batch of whole rows carries. */
  static final int MAX_BATCH_BYTES = 16 << 20;

  final RaidGeometry g;
  final ArrayState state;
  final MemberIo io;
  final RowLocks rowLocks;
  final WriteHoleGuard guard;
  final int memberCount;

  RaidLayout(RaidGeometry g, ArrayState state, MemberIo io, RowLocks rowLocks,
      WriteHoleGuard guard) {
    this.g = g;
    this.state = state;
    this.io = io;
    this.rowLocks = rowLocks;
    this.guard = guard;
    this.memberCount = state.memberCount();
  }

  /** Reads {@code len} bytes at {@code offset} of the array into {@code out[outOff..]}. */
  abstract void read(long offset, byte[] out, int outOff, int len) throws MemberFailure;

  /** Writes {@code len} bytes of {@code data[dataOff..]} at {@code offset} of the array. */
  abstract void write(long offset, byte[] data, int dataOff, int len)
      throws MemberFailure, IOException;

  /** Frees {@code [offset, offset + length)}; handles member failures itself (retrying). */
  abstract void discard(long offset, long length) throws IOException;

  /** Which data unit of {@code row} member {@code member} holds, or -1 for parity. */
  abstract int dataIndexOf(long row, int member);

  /**
   * The allocated parts of {@code [offset, offset + length)}, from the members' own answers: a
   * member not wholly in sync counts every data unit it holds as allocated (a superset), and a
   * member that cannot answer makes all of the range count.
   */
  ExtentSet allocated(long offset, long length) {
    long queryEnd = offset + length;
    List<Extent> found = new ArrayList<>();
    long[] c = state.cursors();
    long rowBytes = g.rowBytes();
    long firstRow = offset / rowBytes;
    long lastRow = (queryEnd - 1) / rowBytes;
    long span = (lastRow - firstRow + 1) * g.unit;
    for (int m = 0; m < memberCount; m++) {
      if (c[m] != Long.MAX_VALUE) {
        for (long row = firstRow; row <= lastRow; row++) {
          int k = dataIndexOf(row, m);
          if (k >= 0) {
            long at = row * rowBytes + (long) k * g.unit;
            found.add(Extent.of(at, at + g.unit));
          }
        }
        continue;
      }
      ExtentSet onMember;
      try {
        onMember = io.allocated(m, g.memberOffset(firstRow, 0), span);
      } catch (IOException e) {
        // A member that cannot answer (failing, or its image truncated underneath) is never
        // trusted with a hole: all of the range may hold data.
        return ExtentSet.of(offset, queryEnd);
      }
      for (Extent e : onMember.extents()) {
        long from = e.start() - g.dataOffset;
        long to = e.end() - g.dataOffset;
        for (long row = from / g.unit; row * g.unit < to; row++) {
          int k = dataIndexOf(row, m);
          if (k < 0) {
            continue; // parity
          }
          long a = Math.max(from, row * g.unit) - row * g.unit;
          long b = Math.min(to, (row + 1) * g.unit) - row * g.unit;
          long at = row * rowBytes + (long) k * g.unit;
          found.add(Extent.of(at + a, at + b));
        }
      }
    }
    return ExtentSet.of(found).intersection(ExtentSet.of(offset, queryEnd));
  }

  // ---------------------------------------------------------------- pieces of a request

  /** A piece of a request on one member. */
  record Piece(int member, long row, int dataIndex, int inUnit, long memberOffset, int outOff,
      int length) {
  }

  /**
   * Reads a range of a striped level straight from the members holding it, one merged I/O per
   * run of pieces; a piece on a member not in sync fails the read (RAID-0 has no fallback, and
   * RAID-5 takes its degraded path before coming here).
   */
  void readDirect(long offset, byte[] out, int outOff, int len) throws MemberFailure {
    long[] c = state.cursors();
    List<List<Piece>> direct = piecesByMember(offset, len, outOff);
    List<Piece> lost = new ArrayList<>();
    for (List<Piece> pieces : direct) {
      pieces.removeIf(p -> {
        boolean inSync = p.row < c[p.member];
        if (!inSync) {
          lost.add(p);
        }
        return !inSync;
      });
    }
    List<IoTask> tasks = new ArrayList<>();
    for (int m = 0; m < memberCount; m++) {
      for (List<Piece> run : runs(direct.get(m))) {
        tasks.add(() -> readRun(run, out));
      }
    }
    io.runAll(tasks);
    if (!lost.isEmpty()) {
      throw new MemberFailure(lost.get(0).member, new IOException("member is not readable"));
    }
  }

  private void readRun(List<Piece> run, byte[] out) throws MemberFailure {
    Piece first = run.get(0);
    if (run.size() == 1) {
      io.read(first.member, first.memberOffset, out, first.outOff, first.length);
      return;
    }
    int total = (int) runLength(run);
    byte[] buf = new byte[total];
    io.read(first.member, first.memberOffset, buf, 0, total);
    int at = 0;
    for (Piece p : run) {
      System.arraycopy(buf, at, out, p.outOff, p.length);
      at += p.length;
    }
  }

  void writeRun(List<Piece> run, byte[] data) throws MemberFailure {
    Piece first = run.get(0);
    if (run.size() == 1) {
      io.write(first.member, first.memberOffset, data, first.outOff, first.length);
      return;
    }
    int total = (int) runLength(run);
    byte[] buf = new byte[total];
    int at = 0;
    for (Piece p : run) {
      System.arraycopy(data, p.outOff, buf, at, p.length);
      at += p.length;
    }
    io.write(first.member, first.memberOffset, buf, 0, total);
  }

  /** Cuts {@code [offset, offset + len)} into stripe-unit pieces, per member, ascending. */
  List<List<Piece>> piecesByMember(long offset, int len, int outOff) {
    List<List<Piece>> byMember = new ArrayList<>();
    for (int m = 0; m < memberCount; m++) {
      byMember.add(new ArrayList<>());
    }
    long end = offset + len;
    for (long x = offset; x < end; ) {
      long u = x / g.unit;
      int in = (int) (x % g.unit);
      int n = (int) Math.min(g.unit - in, end - x);
      long row = u / g.dataMembers;
      int k = (int) (u % g.dataMembers);
      int m = g.dataMember(row, k);
      byMember.get(m).add(new Piece(m, row, k, in, g.memberOffset(row, in),
          outOff + (int) (x - offset), n));
      x += n;
    }
    return byMember;
  }

  /** Consecutive pieces on one member, merged where their member ranges touch. */
  static List<List<Piece>> runs(List<Piece> pieces) {
    List<List<Piece>> runs = new ArrayList<>();
    List<Piece> run = null;
    long next = -1;
    for (Piece p : pieces) {
      if (run == null || p.memberOffset != next || runLength(run) + p.length > MAX_BATCH_BYTES) {
        run = new ArrayList<>();
        runs.add(run);
      }
      run.add(p);
      next = p.memberOffset + p.length;
    }
    return runs;
  }

  static long runLength(List<Piece> run) {
    long n = 0;
    for (Piece p : run) {
      n += p.length;
    }
    return n;
  }

  // ---------------------------------------------------------------- walking rows

  interface FullRows {
    void run(long row, long rows, long pos) throws MemberFailure, IOException;
  }

  interface PartialRow {
    void run(long row, int inRow, int n, long pos) throws MemberFailure, IOException;
  }

  /**
   * Walks {@code [offset, offset + length)} row by row: runs of whole rows (at most
   * {@link #MAX_BATCH_BYTES} of member data at a time) and partial rows; {@code pos} is the
   * position relative to {@code offset}.
   */
  void forEachRowRun(long offset, long length, FullRows full, PartialRow partial)
      throws MemberFailure, IOException {
    long rowBytes = g.rowBytes();
    long end = offset + length;
    long maxRows = Math.max(1, MAX_BATCH_BYTES / ((long) g.unit * memberCount));
    for (long x = offset; x < end; ) {
      long row = x / rowBytes;
      long rowStart = row * rowBytes;
      if (x == rowStart && end - x >= rowBytes) {
        long rows = Math.min((end - x) / rowBytes, maxRows);
        full.run(row, rows, x - offset);
        x += rows * rowBytes;
      } else {
        int inRow = (int) (x - rowStart);
        int n = (int) Math.min(rowBytes - inRow, end - x);
        partial.run(row, inRow, n, x - offset);
        x += n;
      }
    }
  }
}
