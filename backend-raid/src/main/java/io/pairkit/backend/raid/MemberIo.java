package io.pairkit.backend.raid;

import io.pairkit.api.error.AlreadyClosedException;
import io.pairkit.api.spi.TransientIOException;
import io.pairkit.api.spi.Volume;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * A RAID volume's calls to its members: transient errors retried a few times with a growing
 * pause, any other failure typed as the member's ({@link MemberFailure}, for the array's state
 * machine to record), an interrupted caller never taken for a broken member, and batches run in
 * parallel on the volume's pool with the first failure reported once all finished.
 */
final class MemberIo {
  private static final int TRANSIENT_TRIES = 3;
  private final String name;
  /** The members, by index; the volume replaces one in place (replaceMember). */
  private final Volume[] members;
  private final String[] memberNames;
  private final ExecutorService ioPool;
  private final BooleanSupplier closed;

  MemberIo(String name, Volume[] members, String[] memberNames, ExecutorService ioPool,
      BooleanSupplier closed) {
    this.name = name;
    this.members = members;
    this.memberNames = memberNames;
    this.ioPool = ioPool;
    this.closed = closed;
  }

  /** A member's call failed: {@code member} is its index, or -1 for the whole array. */
  static final class MemberFailure extends Exception {
    private static final long serialVersionUID = 1L;
    final int member;

    MemberFailure(int member, Throwable cause) {
      super(cause);
      this.member = member;
    }
  }

  interface IoTask {
    void run() throws MemberFailure;
  }

  /** Runs a member I/O on the pool; the future fails with the {@link MemberFailure}. */
  Future<?> submit(IoTask task) {
    return ioPool.submit(() -> {
      task.run();
      return null;
    });
  }

  /** Runs the tasks at once (the caller runs one); the first member failure after all finish. */
  void runAll(List<IoTask> tasks) throws MemberFailure {
    if (tasks.isEmpty()) {
      return;
    }
    if (tasks.size() == 1) {
      tasks.get(0).run();
      return;
    }
    List<Future<?>> futures = new ArrayList<>(tasks.size() - 1);
    for (int i = 1; i < tasks.size(); i++) {
      IoTask t = tasks.get(i);
      try {
        futures.add(ioPool.submit(() -> {
          t.run();
          return null;
        }));
      } catch (java.util.concurrent.RejectedExecutionException e) {
        throw new AlreadyClosedException("RAID volume '" + name + "' is closed");
      }
    }
    MemberFailure failure = null;
    RuntimeException unexpected = null;
    try {
      tasks.get(0).run();
    } catch (MemberFailure f) {
      failure = f;
    } catch (RuntimeException e) {
      unexpected = e;
    }
    boolean interrupted = false;
    for (Future<?> f : futures) {
      while (true) {
        try {
          f.get();
          break;
        } catch (InterruptedException e) {
          interrupted = true;
        } catch (ExecutionException e) {
          if (e.getCause() instanceof MemberFailure mf) {
            failure = failure == null ? mf : failure;
          } else if (e.getCause() instanceof RuntimeException re) {
            unexpected = unexpected == null ? re : unexpected;
          } else {
            unexpected = new IllegalStateException(e.getCause());
          }
          break;
        }
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    if (unexpected != null) {
      throw unexpected;
    }
    if (failure != null) {
      throw failure;
    }
  }

  void read(int m, long off, byte[] buf, int at, int len) throws MemberFailure {
    memberCall(m, v -> v.read(off, ByteBuffer.wrap(buf, at, len)));
  }

  void write(int m, long off, byte[] buf, int at, int len) throws MemberFailure {
    memberCall(m, v -> v.write(off, ByteBuffer.wrap(buf, at, len)));
  }

  void discard(int m, long off, long len) throws MemberFailure {
    memberCall(m, v -> v.discard(off, len));
  }

  void flush(int m) throws MemberFailure {
    memberCall(m, Volume::flush);
  }

  /** Closes every member present; the first failure is thrown once all were tried. */
  void closeMembers() throws IOException {
    IOException failure = null;
    for (Volume m : members) {
      if (m == null) {
        continue;
      }
      try {
        m.close();
      } catch (IOException e) {
        if (failure == null) {
          failure = e;
        }
      }
    }
    if (failure != null) {
      throw failure;
    }
  }

  /** The member's own allocation answer, asked once: a caller treats a failure as "all data". */
  io.pairkit.api.ExtentSet allocated(int m, long off, long len) throws IOException {
    Volume v = members[m];
    if (v == null) {
      throw new IOException("member " + memberNames[m] + " is missing");
    }
    return v.allocated(off, len);
  }

  private interface MemberCall {
    void call(Volume v) throws IOException;
  }

  private void memberCall(int m, MemberCall call) throws MemberFailure {
    Volume v = members[m];
    if (v == null) {
      throw new MemberFailure(m, new IOException("member " + memberNames[m] + " is missing"));
    }
    for (int attempt = 1; ; attempt++) {
      try {
        call.call(v);
        return;
      } catch (TransientIOException e) {
        if (attempt >= TRANSIENT_TRIES) {
          throw new MemberFailure(m, e);
        }
        java.util.concurrent.locks.LockSupport.parkNanos(
            TimeUnit.MILLISECONDS.toNanos(10L << attempt));
      } catch (AlreadyClosedException e) {
        if (closed.getAsBoolean()) {
          throw e;
        }
        throw new MemberFailure(m, e);
      } catch (java.nio.channels.ClosedByInterruptException e) {
        // An interrupted caller, not a broken member: never record it as a failure.
        throw new io.pairkit.api.error.VolumeIOException("RAID volume '" + name + "': an I/O "
            + "to member " + memberNames[m] + " was interrupted", e);
      } catch (IOException | UncheckedIOException e) {
        if (closed.getAsBoolean()) {
          throw new AlreadyClosedException("RAID volume '" + name + "' is closed");
        }
        throw new MemberFailure(m, e);
      }
    }
  }
}
