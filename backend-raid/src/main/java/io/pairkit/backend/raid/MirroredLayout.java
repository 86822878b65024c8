package io.pairkit.backend.raid;

import io.pairkit.api.Extent;
import io.pairkit.api.ExtentSet;
import io.pairkit.backend.raid.MemberIo.IoTask;
import io.pairkit.backend.raid.MemberIo.MemberFailure;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * RAID-1: every member holds all the data; a "row" is one stripe unit, the granule of row locks,
 * write intents and rebuild cursors. Writes go to every member in sync at the rows (a member
 * being rebuilt gets the part below its cursor; the rebuild copies the rest). Large reads are
 * spread over the in-sync mirrors in one contiguous piece each; small ones pick a mirror by row.
 */
final class MirroredLayout extends RaidLayout {

  MirroredLayout(RaidGeometry g, ArrayState state, MemberIo io, RowLocks rowLocks,
      WriteHoleGuard guard) {
    super(g, state, io, rowLocks, guard);
  }

  @Override
  void read(long offset, byte[] out, int outOff, int len) throws MemberFailure {
    long[] c = state.cursors();
    long firstRow = offset / g.unit;
    long lastRow = (offset + len - 1) / g.unit;
    List<Integer> usable = new ArrayList<>();
    for (int m = 0; m < memberCount; m++) {
      if (lastRow < c[m]) {
        usable.add(m);
      }
    }
    if (usable.isEmpty()) {
      throw new MemberFailure(-1, new IOException("no in-sync mirror holds rows " + firstRow
          + ".." + lastRow));
    }
    int pieces = len >= 2 * g.unit ? usable.size() : 1;
    int start = pieces == 1 ? (int) (firstRow % usable.size()) : 0;
    long per = (((long) len + pieces - 1) / pieces + g.unit - 1) / g.unit * g.unit;
    List<IoTask> tasks = new ArrayList<>();
    for (int i = 0; i < pieces; i++) {
      long from = i * per;
      long to = Math.min(len, from + per);
      if (from >= to) {
        break;
      }
      int m = usable.get((start + i) % usable.size());
      int at = outOff + (int) from;
      int n = (int) (to - from);
      tasks.add(() -> io.read(m, g.dataOffset + offset + (at - outOff), out, at, n));
    }
    io.runAll(tasks);
  }

  @Override
  void write(long offset, byte[] data, int dataOff, int len) throws MemberFailure, IOException {
    onMirrors(offset, len, (m, n) -> io.write(m, g.dataOffset + offset, data, dataOff, (int) n));
  }

  @Override
  void discard(long offset, long length) throws IOException {
    state.withRetry(() -> onMirrors(offset, length,
        (m, n) -> io.discard(m, g.dataOffset + offset, n)));
  }

  private interface MirrorCall {
    void run(int member, long bytes) throws MemberFailure;
  }

  /**
   * Runs {@code call} on every mirror in sync at the first row, under the rows' locks and write
   * intent, with the bytes of the range below the mirror's cursor (a member being rebuilt gets
   * the part it already holds; the rebuild copies the rest).
   */
  private void onMirrors(long offset, long length, MirrorCall call)
      throws MemberFailure, IOException {
    long firstRow = offset / g.unit;
    long lastRow = (offset + length - 1) / g.unit;
    int[] stripes = rowLocks.lock(firstRow, lastRow);
    try {
      guard.beginIntent(firstRow, lastRow);
      try {
        long[] c = state.cursors();
        List<IoTask> tasks = new ArrayList<>();
        for (int m = 0; m < memberCount; m++) {
          if (c[m] <= firstRow) {
            continue; // failed, or being rebuilt and not there yet: the rebuild copies it
          }
          long inSync = c[m] == Long.MAX_VALUE ? Long.MAX_VALUE : c[m] * g.unit;
          long n = Math.min(length, inSync - offset);
          int mm = m;
          tasks.add(() -> call.run(mm, n));
        }
        io.runAll(tasks);
      } finally {
        guard.endIntent(firstRow, lastRow);
      }
    } finally {
      rowLocks.unlock(stripes);
    }
  }

  /** The first in-sync mirror that answers; if none can, all of the range may hold data. */
  @Override
  ExtentSet allocated(long offset, long length) {
    long[] c = state.cursors();
    List<Extent> found = new ArrayList<>();
    for (int m = 0; m < memberCount; m++) {
      if (c[m] == Long.MAX_VALUE) {
        ExtentSet onMember;
        try {
          onMember = io.allocated(m, g.dataOffset + offset, length);
        } catch (IOException e) {
          continue; // a member that cannot answer is not trusted with holes; ask the next
        }
        for (Extent e : onMember.extents()) {
          found.add(Extent.of(e.start() - g.dataOffset, e.end() - g.dataOffset));
        }
        return ExtentSet.of(found);
      }
    }
    return ExtentSet.of(offset, offset + length);
  }

  @Override
  int dataIndexOf(long row, int member) {
    return 0;
  }
}
