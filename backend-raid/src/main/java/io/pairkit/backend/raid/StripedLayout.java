package io.pairkit.backend.raid;

import io.pairkit.backend.raid.MemberIo.IoTask;
import io.pairkit.backend.raid.MemberIo.MemberFailure;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * RAID-0: stripe units round-robin over the members, no redundancy. Requests take no row locks
 * (nothing can disagree), and a member error fails the request without failing the member.
 */
final class StripedLayout extends RaidLayout {

  StripedLayout(RaidGeometry g, ArrayState state, MemberIo io, RowLocks rowLocks,
      WriteHoleGuard guard) {
    super(g, state, io, rowLocks, guard);
  }

  @Override
  void read(long offset, byte[] out, int outOff, int len) throws MemberFailure {
    readDirect(offset, out, outOff, len);
  }

  @Override
  void write(long offset, byte[] data, int dataOff, int len) throws MemberFailure {
    List<List<Piece>> byMember = piecesByMember(offset, len, dataOff);
    List<IoTask> tasks = new ArrayList<>();
    for (int m = 0; m < memberCount; m++) {
      for (List<Piece> run : runs(byMember.get(m))) {
        tasks.add(() -> writeRun(run, data));
      }
    }
    io.runAll(tasks);
  }

  /** Whole rows are one contiguous range per member; partial rows go piece by piece. */
  @Override
  void discard(long offset, long length) throws IOException {
    state.withRetry(() -> forEachRowRun(offset, length, (row, rows, pos) -> {
      List<IoTask> tasks = new ArrayList<>();
      for (int m = 0; m < memberCount; m++) {
        int mm = m;
        tasks.add(() -> io.discard(mm, g.memberOffset(row, 0), rows * g.unit));
      }
      io.runAll(tasks);
    }, (row, inRow, n, pos) -> {
      List<IoTask> tasks = new ArrayList<>();
      for (List<Piece> pieces : piecesByMember(row * g.rowBytes() + inRow, n, 0)) {
        for (List<Piece> run : runs(pieces)) {
          Piece first = run.get(0);
          long bytes = runLength(run);
          tasks.add(() -> io.discard(first.member(), first.memberOffset(), bytes));
        }
      }
      io.runAll(tasks);
    }));
  }

  @Override
  int dataIndexOf(long row, int member) {
    return member;
  }
}
