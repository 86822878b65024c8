package io.pairkit.backend.raid;

import io.pairkit.backend.raid.MemberIo.IoTask;
import io.pairkit.backend.raid.MemberIo.MemberFailure;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * What keeps a RAID volume consistent across a crash, and the member flushes it depends on: the
 * {@link WriteIntentBitmap} (rows being written, resynchronised after an unclean stop), the
 * {@link PartialParityLog} (RAID-5 partial-row writes), and flush epochs. Every member write
 * belongs to the current epoch; a flush makes an epoch durable, which lets the bitmap clear idle
 * rows and the log free its entries. Rows written since the last flush are remembered, because a
 * partial parity must be computed from durable data (the log's rule 4).
 *
 * <p>Threading: thread-safe. A flush holds the operation lock shared, then its own lock (the
 * order every caller uses), and is a group commit: one that began after the caller's last write
 * covers it.
 */
final class WriteHoleGuard {
  /** Unflushed rows tracked before a flush is forced (bounds memory). */
  private static final int MAX_UNFLUSHED_ROWS = 1 << 16;

  private final ArrayState state;
  private final MemberIo io;
  private final WriteIntentBitmap bitmap;
  private final PartialParityLog ppl;
  private final AtomicLong epoch = new AtomicLong(1);
  private volatile long durableEpoch;
  private final ReentrantLock flushLock = new ReentrantLock();
  /** Rows written since the last member flush: {data-unit mask, epoch of the last write}. */
  private final ConcurrentHashMap<Long, long[]> unflushed = new ConcurrentHashMap<>();

  WriteHoleGuard(RaidConfig config, RaidGeometry g, ArrayState state, MemberIo io) {
    this.state = state;
    this.io = io;
    MetadataWriter writer = new MetadataWriter() {
      @Override
      public void writeToLiveMembers(long offset, byte[] data, boolean durable)
          throws IOException {
        WriteHoleGuard.this.writeToLiveMembers(offset, data, durable);
      }

      @Override
      public void writeToMember(int member, long offset, byte[] data) throws IOException {
        try {
          io.write(member, offset, data, 0, data.length);
          io.flush(member);
        } catch (MemberFailure f) {
          state.onMemberFailure(f);
          // The member is gone, and with it the need for its log entry.
        }
      }

      @Override
      public void flushMembers() throws IOException {
        WriteHoleGuard.this.flushMembers();
      }
    };
    this.bitmap = config.writeHole() == RaidConfig.WriteHoleProtection.NONE ? null
        : new WriteIntentBitmap(g, writer);
    this.ppl = config.writeHole() == RaidConfig.WriteHoleProtection.PPL
        ? new PartialParityLog(g, state.arrayId(), writer, 1) : null;
  }

  /** The write-intent bitmap, or null without write-hole protection. */
  WriteIntentBitmap bitmap() {
    return bitmap;
  }

  /** The partial parity log, or null unless the protection is PPL. */
  PartialParityLog ppl() {
    return ppl;
  }

  long epoch() {
    return epoch.get();
  }

  /** Marks rows {@code [firstRow, lastRow]} as being written (durable before the write). */
  void beginIntent(long firstRow, long lastRow) throws IOException {
    if (bitmap != null) {
      bitmap.begin(firstRow, lastRow);
    }
  }

  void endIntent(long firstRow, long lastRow) {
    if (bitmap != null) {
      bitmap.end(firstRow, lastRow, epoch.get());
    }
  }

  /** Before writing whole rows, which log nothing: their older log entries must not replay. */
  void invalidateLogged(long row0, long rows) throws IOException {
    if (ppl != null) {
      for (long r = row0; r < row0 + rows; r++) {
        ppl.invalidate(r); // nothing to do for a row without an entry
      }
    }
  }

  /** Remembers that data units {@code mask} of {@code row} were written in epoch {@code when}. */
  void noteUnflushed(long row, long mask, long when) throws IOException {
    if (ppl == null) {
      return;
    }
    unflushed.merge(row, new long[] {mask, when}, (old, now) ->
        old[1] <= durableEpoch ? now : new long[] {old[0] | now[0], Math.max(old[1], now[1])});
    if (unflushed.size() > MAX_UNFLUSHED_ROWS) {
      flushMembers();
    }
  }

  /**
   * Whether a partial-row write of {@code row} must flush the members before it reads the old
   * data for its partial parity: when units it reads were written since the last flush (the
   * partial parity must come from durable data), or when its log entry would make an older one
   * of the row stale. Call only with a partial parity log.
   *
   * @param coveringMask the data units whose modified bytes span the whole band written
   * @param healthy whether every member is in sync at the row (else the parity comes from all)
   */
  boolean mustFlushBeforeLogging(long row, long coveringMask, boolean healthy, int[] from,
      int[] to) {
    long[] pending = unflushed.get(row);
    boolean ppFromUnflushed = pending != null && pending[1] > durableEpoch
        && (!healthy || (pending[0] & ~coveringMask) != 0);
    return ppFromUnflushed || ppl.wouldStale(row, from, to);
  }

  /** Flushes every member that is in use; group commit: a flush that began later covers us. */
  void flushMembers() throws IOException {
    long requested = epoch.get();
    state.sharedOpLock().lock();
    flushLock.lock();
    try {
      if (durableEpoch >= requested) {
        return;
      }
      long startEpoch = epoch.getAndIncrement();
      long seq = ppl == null ? 0 : ppl.completedSeq();
      onLiveMembers(io::flush);
      durableEpoch = startEpoch;
      if (ppl != null) {
        ppl.durable(startEpoch, seq);
      }
      unflushed.values().removeIf(v -> v[1] <= startEpoch);
    } finally {
      flushLock.unlock();
      state.sharedOpLock().unlock();
    }
  }

  /**
   * One round of the housekeeper: if the bitmap has bits set, flushes and clears the bits of rows
   * idle since {@code idleBefore} (an epoch the caller noted one period ago).
   */
  void clearIdle(long idleBefore) throws IOException {
    if (bitmap != null && bitmap.dirtyBits() > 0 && !state.isLost()) {
      flushMembers();
      bitmap.clearIdle(Math.min(durableEpoch, idleBefore));
    }
  }

  int dirtyBits() {
    return bitmap == null ? 0 : bitmap.dirtyBits();
  }

  /** Records a clean stop: flushes, then clears the bitmap so no rows resync at assembly. */
  void recordCleanStop() throws IOException {
    if (bitmap != null) {
      flushMembers();
      bitmap.writeClear();
    }
  }

  private void writeToLiveMembers(long offset, byte[] data, boolean durable) throws IOException {
    state.sharedOpLock().lock();
    try {
      onLiveMembers(m -> {
        io.write(m, offset, data, 0, data.length);
        if (durable) {
          io.flush(m);
        }
      });
    } finally {
      state.sharedOpLock().unlock();
    }
  }

  private interface MemberCall {
    void run(int member) throws MemberFailure;
  }

  /**
   * Runs {@code call} on every member in use (not failed), in parallel; a member that fails is
   * recorded and the call is run again on those left, until it succeeds or the array is lost.
   */
  private void onLiveMembers(MemberCall call) throws IOException {
    while (true) {
      state.checkLost();
      long[] c = state.cursors();
      List<IoTask> tasks = new ArrayList<>();
      for (int m = 0; m < c.length; m++) {
        if (c[m] > 0) {
          int mm = m;
          tasks.add(() -> call.run(mm));
        }
      }
      try {
        io.runAll(tasks);
        return;
      } catch (MemberFailure f) {
        state.onMemberFailure(f);
      }
    }
  }
}
