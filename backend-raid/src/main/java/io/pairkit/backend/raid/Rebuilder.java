package io.pairkit.backend.raid;

import io.pairkit.api.spi.RateSchedule;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Rebuilds replacement members in the background while host I/O continues: row batches in
 * ascending order, each under its rows' locks, reconstructed from the other members (XOR of the
 * rest of the row for RAID-5, a copy for RAID-1) and paced by the rebuild speed limit. Rows below
 * the cursor are in sync, so host writes there go to the replacement too, and reads may use it.
 * The cursor moves only while the member is still the same incarnation being rebuilt (a failure
 * or a new replacement meanwhile stops this rebuild of it). It is recorded in the superblocks
 * about once a second, after a flush of the replacement, so a restart resumes where the durable
 * part ends.
 *
 * <p>Threading: one thread; {@link #stop} and {@link #await} from any thread. Stopping never
 * interrupts the thread (an interrupted file channel would close under the member).
 */
final class Rebuilder {
  private static final System.Logger LOG = System.getLogger(Rebuilder.class.getName());
  private static final int BATCH_BYTES = 1 << 20;
  private static final long PERSIST_NANOS = TimeUnit.SECONDS.toNanos(1);

  private final String name;
  private final RaidGeometry g;
  private final ArrayState state;
  private final MemberIo io;
  private final RowLocks rowLocks;
  private final RateSchedule pace;
  private final Thread thread;
  private final CountDownLatch done = new CountDownLatch(1);
  /** Guarded by the array state's lock. */
  private boolean running = true;
  private volatile boolean stopped;

  Rebuilder(String name, RaidGeometry g, ArrayState state, MemberIo io, RowLocks rowLocks,
      long bytesPerSecond) {
    this.name = name;
    this.g = g;
    this.state = state;
    this.io = io;
    this.rowLocks = rowLocks;
    this.pace = new RateSchedule(bytesPerSecond);
    this.thread = new Thread(this::run, "raid-" + name + "-rebuild");
    thread.setDaemon(true);
  }

  void start() {
    thread.start();
  }

  /** Whether it still runs; call under the array state's lock. */
  boolean isRunning() {
    return running;
  }

  boolean await(Duration timeout) throws InterruptedException {
    return done.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
  }

  void stop() {
    stopped = true;
    LockSupport.unpark(thread);
  }

  void join() throws InterruptedException {
    thread.join(30_000);
  }

  private void run() {
    try {
      while (true) {
        int member;
        int incarnation;
        synchronized (state.lock()) {
          member = state.firstRebuilding();
          // Decided under the state lock, so a replacement made now either is seen here or
          // finds this rebuilder stopped and starts another.
          if (stopped || member < 0 || state.isLost() || state.isClosed()) {
            running = false;
            return;
          }
          incarnation = state.incarnation(member);
        }
        rebuild(member, incarnation);
      }
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "rebuild of RAID volume '" + name + "' stopped", e);
    } finally {
      synchronized (state.lock()) {
        running = false;
      }
      done.countDown();
    }
  }

  /** A batch whose target write is in flight: its rows stay locked until it lands. */
  private record InFlight(long row, long rows, int[] stripes, java.util.concurrent.Future<?> write) {
  }

  /**
   * Pipelined: while batch N's target write is in flight (its rows still locked), batch N+1's
   * rows are locked, if they are free at once (a blocking wait while holding N's locks could
   * deadlock with a host write spanning both), and its sources read. Then N's write is awaited,
   * its cursor moved and its rows unlocked, and N+1's write goes out.
   */
  private void rebuild(int member, int incarnation) {
    long batchRows = Math.max(1, BATCH_BYTES / g.unit);
    long row = Math.min(state.cursor(member), g.rows);
    long lastPersist = System.nanoTime();
    LOG.log(Level.INFO, "RAID volume '" + name + "': rebuilding member " + member + " ("
        + state.memberName(member) + ") from row " + row + " of " + g.rows);
    InFlight pending = null;
    try {
      while (row < g.rows) {
        long n = Math.min(batchRows, g.rows - row);
        int bytes = (int) (n * g.unit);
        if (!pace.await(bytes, () -> stopped)) {
          return;
        }
        if (pending != null && state.exclusiveOpWaiting()) {
          // A replacement or close waits for requests to drain: let it have its turn.
          finish(member, incarnation, pending);
          pending = null;
        }
        state.sharedOpLock().lock();
        int[] stripes = pending == null ? null : rowLocks.tryLock(row, row + n - 1);
        if (stripes == null) {
          if (pending != null) {
            finish(member, incarnation, pending);
            pending = null;
          }
          stripes = rowLocks.lock(row, row + n - 1);
        }
        boolean handedOn = false;
        try {
          if (stopped || state.isClosed() || state.incarnation(member) != incarnation
              || state.state(member) != MemberState.REBUILDING) {
            return;
          }
          byte[] target = readBatch(member, row, n, bytes);
          if (target == null) {
            return;
          }
          if (pending != null) {
            finish(member, incarnation, pending);
            pending = null;
          }
          long off = g.memberOffset(row, 0);
          pending = new InFlight(row, n, stripes, io.submit(
              () -> io.write(member, off, target, 0, bytes)));
          handedOn = true;
        } finally {
          if (!handedOn) {
            rowLocks.unlock(stripes);
            state.sharedOpLock().unlock();
          }
        }
        row += n;
        if (System.nanoTime() - lastPersist > PERSIST_NANOS) {
          finish(member, incarnation, pending);
          pending = null;
          io.flush(member);
          state.persist();
          lastPersist = System.nanoTime();
        }
      }
      finish(member, incarnation, pending);
      pending = null;
      io.flush(member);
      state.markActive(member, incarnation);
      LOG.log(Level.INFO, "RAID volume '" + name + "': member " + member + " rebuilt");
    } catch (MemberIo.MemberFailure f) {
      state.memberFailed(f);
    } finally {
      if (pending != null) {
        try {
          finish(member, incarnation, pending);
        } catch (MemberIo.MemberFailure f) {
          state.memberFailed(f);
        }
      }
    }
  }

  /** Waits for a batch's target write, moves the cursor past it, unlocks its rows. */
  private void finish(int member, int incarnation, InFlight batch)
      throws MemberIo.MemberFailure {
    if (batch == null) {
      return;
    }
    try {
      boolean interrupted = false;
      while (true) {
        try {
          batch.write.get();
          break;
        } catch (InterruptedException e) {
          interrupted = true;
        } catch (java.util.concurrent.ExecutionException e) {
          if (e.getCause() instanceof MemberIo.MemberFailure f) {
            throw f;
          }
          throw new IllegalStateException(e.getCause());
        }
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
      state.advanceRebuild(member, incarnation, batch.row + batch.rows);
    } finally {
      rowLocks.unlock(batch.stripes);
      state.sharedOpLock().unlock();
    }
  }

  /** Reconstructs rows {@code [row, row + n)} of the member; null if a source is gone. */
  private byte[] readBatch(int member, long row, long n, int bytes)
      throws MemberIo.MemberFailure {
    byte[] target = new byte[bytes];
    long off = g.memberOffset(row, 0);
    List<MemberIo.IoTask> reads = new ArrayList<>();
    List<byte[]> parts = new ArrayList<>();
    for (int m = 0; m < state.memberCount(); m++) {
      if (m == member || state.cursor(m) <= row + n - 1) {
        continue;
      }
      int mm = m;
      if (g.level == RaidLevel.RAID1) {
        reads.add(() -> io.read(mm, off, target, 0, bytes));
        break;
      }
      byte[] part = new byte[bytes];
      parts.add(part);
      reads.add(() -> io.read(mm, off, part, 0, bytes));
    }
    int needed = g.level == RaidLevel.RAID1 ? 1 : state.memberCount() - 1;
    if (reads.size() < needed) {
      return null; // a source failed meanwhile; the array is lost
    }
    io.runAll(reads);
    for (byte[] part : parts) {
      Xor.into(target, 0, part, 0, bytes);
    }
    return target;
  }
}
