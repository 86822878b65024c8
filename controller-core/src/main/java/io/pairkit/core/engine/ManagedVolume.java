package io.pairkit.core.engine;

import com.google.common.collect.ContiguousSet;
import com.google.common.collect.DiscreteDomain;
import com.google.common.collect.ImmutableList;
import com.google.common.collect.Range;
import com.google.common.util.concurrent.Striped;
import io.pairkit.api.HostVolume;
import io.pairkit.api.Pair;
import io.pairkit.api.error.AlreadyClosedException;
import io.pairkit.api.error.ExtentOutOfRangeException;
import io.pairkit.api.error.VolumeIOException;
import io.pairkit.api.spi.Volume;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A backend volume as the host sees it through the controller: the host I/O path. Writes to a
 * primary run each pair's write rule (see {@link PairModel#beforePrimaryWrite}) under the touched
 * tracks' locks before the data reaches the backend; reads and writes of a secondary go through
 * its pair.
 */
public final class ManagedVolume implements HostVolume {
  private static final int TRACK_LOCK_STRIPES = 4096;

  private final Engine engine;
  private final Volume raw;
  private final String name;
  private final long size;
  private final int trackSize;

  /** Shared by host I/O, exclusive at request instants: makes requests atomic w.r.t. writes. */
  final ReentrantReadWriteLock barrier = new ReentrantReadWriteLock();
  /** Per-track locks of this volume as a primary; its pairs' copies and redirects take them too. */
  private final Striped<Lock> trackLocks = Striped.lock(TRACK_LOCK_STRIPES);

  final CopyOnWriteArrayList<PairModel> primaryOf = new CopyOnWriteArrayList<>();
  volatile PairModel secondaryOf;
  private volatile boolean closed;

  ManagedVolume(Engine engine, Volume raw) {
    this.engine = engine;
    this.raw = raw;
    this.name = raw.name();
    this.size = raw.size();
    this.trackSize = raw.trackSize();
  }

  /** The backend volume underneath (for tests and tools; host writes to it bypass the pairs). */
  public Volume backend() {
    return raw;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public long size() {
    return size;
  }

  @Override
  public int trackSize() {
    return trackSize;
  }

  @Override
  public List<Pair> pairs() {
    List<Pair> out = new ArrayList<>(primaryOf);
    PairModel s = secondaryOf;
    if (s != null) {
      out.add(s);
    }
    return out;
  }

  @Override
  public void read(long offset, ByteBuffer dst) {
    checkIo(offset, dst.remaining(), "read");
    if (secondaryOf == null) {
      rawRead(offset, dst);
      return;
    }
    barrier.readLock().lock();
    try {
      PairModel pair = secondaryOf;
      if (pair != null) {
        pair.readSecondary(offset, dst);
      } else {
        rawRead(offset, dst);
      }
    } finally {
      barrier.readLock().unlock();
    }
  }

  @Override
  public void write(long offset, ByteBuffer src) {
    checkIo(offset, src.remaining(), "write");
    if (src.remaining() == 0) {
      return;
    }
    barrier.readLock().lock();
    try {
      PairModel asSecondary = secondaryOf;
      if (asSecondary != null) {
        asSecondary.writeSecondary(offset, src);
      } else if (!primaryOf.isEmpty()) {
        writePrimary(offset, src);
      } else {
        rawWrite(offset, src);
      }
    } finally {
      barrier.readLock().unlock();
    }
  }

  /** The pair write rule for every pair of this primary, then the write, all under track locks. */
  private void writePrimary(long offset, ByteBuffer src) {
    long first = offset / trackSize;
    long end = (offset + src.remaining() - 1) / trackSize + 1;
    Object[] pairs = primaryOf.toArray();
    long kick = 0; // bit i: pair i has new mirrored differences
    List<Lock> locks = lockTracks(first, end);
    try {
      for (int i = 0; i < pairs.length; i++) {
        if (((PairModel) pairs[i]).beforePrimaryWrite(first, end)) {
          kick |= 1L << i;
        }
      }
      rawWrite(offset, src);
    } finally {
      unlock(locks);
    }
    for (int i = 0; kick != 0; i++, kick >>>= 1) {
      if ((kick & 1) != 0) {
        ((PairModel) pairs[i]).kickMirror();
      }
    }
  }

  /** Locks tracks {@code [first, end)} in the stripes' global order (deadlock-free). */
  List<Lock> lockTracks(long first, long end) {
    if (end - first == 1) { // the common case: no set, no sort
      Lock only = trackLocks.get(first);
      only.lock();
      return List.of(only);
    }
    List<Lock> locks = ImmutableList.copyOf(
        trackLocks.bulkGet(ContiguousSet.create(Range.closedOpen(first, end),
            DiscreteDomain.longs())));
    for (Lock l : locks) {
      l.lock();
    }
    return locks;
  }

  static void unlock(List<Lock> locks) {
    for (int i = locks.size() - 1; i >= 0; i--) {
      locks.get(i).unlock();
    }
  }

  Lock trackLock(long track) {
    return trackLocks.get(track);
  }

  @Override
  public void flush() {
    checkOpen();
    try {
      raw.flush();
    } catch (IOException e) {
      throw ioFailure("flush", -1, e);
    }
  }

  void rawRead(long offset, ByteBuffer dst) {
    try {
      raw.read(offset, dst);
    } catch (IOException e) {
      throw ioFailure("read", offset, e);
    }
  }

  void rawWrite(long offset, ByteBuffer src) {
    try {
      raw.write(offset, src);
    } catch (IOException e) {
      throw ioFailure("write", offset, e);
    }
  }

  private VolumeIOException ioFailure(String op, long offset, IOException e) {
    return new VolumeIOException("volume '" + name + "': backend " + op + " failed"
        + (offset >= 0 ? " at byte " + offset : "") + " (" + e.getMessage() + "); difference "
        + "bits are kept, so once the backend is fixed a retry, resume() or resync copies what is "
        + "missing", e);
  }

  private void checkIo(long offset, int length, String op) {
    checkOpen();
    if (offset < 0 || offset > size - length) {
      throw new ExtentOutOfRangeException("volume '" + name + "': " + op + " of " + length
          + " bytes at " + offset + " leaves the volume [0, " + size + ")");
    }
  }

  void checkOpen() {
    if (closed) {
      throw new AlreadyClosedException("volume '" + name + "' is closed (its controller was "
          + "closed); open a new controller to use it again");
    }
  }

  /** Closes the backend; called by the controller after its copies stopped. */
  void close() throws IOException {
    if (!closed) {
      closed = true;
      raw.close();
    }
  }

  @Override
  public String toString() {
    return "volume '" + name + "' (" + size + " bytes, track " + trackSize + ")";
  }
}
