package io.pairkit.core.internal.engine;

import io.pairkit.api.HostVolume;
import io.pairkit.api.Pair;
import io.pairkit.api.error.AlreadyClosedException;
import io.pairkit.api.error.ExtentOutOfRangeException;
import io.pairkit.api.spi.VolumeCapabilities;
import io.pairkit.core.internal.engine.bitmap.BitmapJournal;
import io.pairkit.core.internal.engine.bitmap.Tickets;
import io.pairkit.core.internal.engine.hostio.PrimaryWriteRule;
import io.pairkit.core.internal.engine.track.TrackGeometry;
import io.pairkit.core.internal.engine.track.TrackLocks;
import io.pairkit.core.internal.engine.volume.BackendVolume;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A volume as the host sees it through the controller: the host I/O path. A write to a primary
 * runs each pair's {@link io.pairkit.core.internal.engine.hostio.PrimaryWriteRule} under the touched
 * tracks' locks before the data reaches the backend; I/O on a secondary goes through its pair's
 * {@link io.pairkit.core.internal.engine.hostio.SecondaryIo}.
 */
final class ManagedVolume implements HostVolume {
  private final BackendVolume backend;
  private final String name;
  private final long size;
  final TrackGeometry geometry;

  /** Shared by host I/O, exclusive at request instants: makes requests atomic w.r.t. writes. */
  final ReentrantReadWriteLock barrier = new ReentrantReadWriteLock();
  /** Per-track locks of this volume as a primary; its pairs' copies and redirects take them. */
  final TrackLocks trackLocks = new TrackLocks();

  final CopyOnWriteArrayList<AbstractPair> primaryOf = new CopyOnWriteArrayList<>();
  volatile AbstractPair secondaryOf;
  /** Restores running into this volume as a primary: its reads then take the track locks. */
  final java.util.concurrent.atomic.AtomicInteger restoresRunning =
      new java.util.concurrent.atomic.AtomicInteger();
  private volatile boolean closed;

  /** The spec the volume was opened by, or null if it was attached (it cannot be reopened). */
  final io.pairkit.api.spi.VolumeSpec spec;

  ManagedVolume(BackendVolume backend, int trackSize, io.pairkit.api.spi.VolumeSpec spec) {
    this.backend = backend;
    this.spec = spec;
    this.name = backend.name();
    this.size = backend.size();
    this.geometry = new TrackGeometry(trackSize, size);
  }

  /** The backend beneath the pair logic (through the track cache, if any). */
  @Override
  public io.pairkit.api.spi.VolumeHealth health() {
    return backend.raw().health();
  }

  @Override
  public io.pairkit.api.spi.ScrubReport scrub(boolean repair) {
    checkOpen();
    try {
      return backend.raw().scrub(repair);
    } catch (IOException e) {
      throw new io.pairkit.api.error.VolumeIOException("volume '" + name + "': " + e
          .getMessage(), e);
    }
  }

  BackendVolume backend() {
    return backend;
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
  public VolumeCapabilities capabilities() {
    return backend.capabilities();
  }

  @Override
  public List<Pair> pairs() {
    List<Pair> out = new ArrayList<>(primaryOf);
    AbstractPair s = secondaryOf;
    if (s != null) {
      out.add(s);
    }
    return out;
  }

  @Override
  public void read(long offset, ByteBuffer dst) {
    checkIo(offset, dst.remaining(), "read");
    if (dst.remaining() == 0) {
      return;
    }
    if (secondaryOf == null) {
      if (restoresRunning.get() == 0) {
        backend.read(offset, dst);
      } else {
        readRestoring(offset, dst);
      }
      return;
    }
    barrier.readLock().lock();
    try {
      AbstractPair pair = secondaryOf;
      if (pair != null) {
        pair.secondaryIo().read(offset, dst);
      } else {
        backend.read(offset, dst);
      }
    } finally {
      barrier.readLock().unlock();
    }
  }

  /**
   * A read of a primary that a restore copies back into: the tracks it touches that are still
   * to restore are restored first, so the host reads the restored data.
   */
  private void readRestoring(long offset, ByteBuffer dst) {
    long first = geometry.trackOf(offset);
    long end = geometry.endTrack(offset, dst.remaining());
    barrier.readLock().lock();
    try (TrackLocks.Held held = trackLocks.lock(first, end)) {
      for (AbstractPair pair : primaryOf) {
        io.pairkit.core.internal.engine.copy.Restore r = pair.restore;
        if (r != null) {
          r.beforeHostRead(first, end);
        }
      }
      backend.read(offset, dst);
    } finally {
      barrier.readLock().unlock();
    }
  }

  /**
   * A restore's write of {@code [offset, offset + length)} into this primary is a host write to
   * its other pairs: their write rules run (copy-on-write, mirror marks) and what they must
   * record is durable first. The caller holds the tracks' locks.
   */
  void restoreWrites(long offset, long length) {
    Tickets tickets = new Tickets();
    for (AbstractPair pair : primaryOf) {
      if (pair.restore != null) {
        continue; // the restoring pair itself: its restore keeps its bits
      }
      int r = pair.writeRule().beforeWrite(offset, length, tickets, false);
      pair.bitmaps.journal().awaitDurable(tickets.max());
      if ((r & PrimaryWriteRule.KICK_MIRROR) != 0) {
        pair.mirror().kick();
      }
    }
  }

  /**
   * A restore's write of {@code [offset, offset + length)} landed on this primary: other pairs
   * that keep bytes of split tracks mirrored get those bytes now. The caller holds the locks.
   */
  void restoreWritten(long offset, long length) {
    for (AbstractPair pair : primaryOf) {
      if (pair.restore != null) {
        continue;
      }
      com.google.common.collect.RangeSet<Long> through =
          pair.writeRule().splitWriteThrough(offset, length);
      if (through != null) {
        for (com.google.common.collect.Range<Long> r : through.asRanges()) {
          pair.copier.copyRange(r.lowerEndpoint(), r.upperEndpoint());
        }
      }
    }
  }

  @Override
  public void write(long offset, ByteBuffer src) {
    checkIo(offset, src.remaining(), "write");
    if (src.remaining() == 0) {
      return;
    }
    modify(offset, src.remaining(), false, src);
  }

  @Override
  public void discard(long offset, long length) {
    checkIo(offset, length, "discard");
    if (length == 0) {
      return;
    }
    modify(offset, length, true, null);
  }

  private void modify(long offset, long length, boolean discard, ByteBuffer src) {
    barrier.readLock().lock();
    try {
      AbstractPair asSecondary = secondaryOf;
      if (asSecondary != null && !primaryOf.isEmpty()) {
        modifyPrimary(offset, length, discard, src); // a cascade: lands through the upper pair
      } else if (asSecondary != null) {
        if (discard) {
          asSecondary.secondaryIo().discard(offset, length);
        } else {
          asSecondary.secondaryIo().write(offset, src);
        }
      } else if (!primaryOf.isEmpty()) {
        modifyPrimary(offset, length, discard, src);
      } else if (discard) {
        backend.discard(offset, length);
      } else {
        backend.write(offset, src);
      }
    } finally {
      barrier.readLock().unlock();
    }
  }

  /**
   * The write rule of every pair of this primary, then the write, all under track locks. Pairs
   * that mirror synchronously get the write on their secondary too, in parallel with the
   * primary's; the write completes when all have landed.
   */
  private void modifyPrimary(long offset, long length, boolean discard, ByteBuffer src) {
    long first = geometry.trackOf(offset);
    long end = geometry.endTrack(offset, length);
    Object[] pairs = primaryOf.toArray();
    long kick = 0; // bit i: pair i has new mirrored differences
    long sync = 0; // bit i: pair i's secondary takes the write too
    Tickets tickets = new Tickets();
    try (TrackLocks.Held held = trackLocks.lock(first, end)) {
      if (restoresRunning.get() > 0) { // the write wins over a restore: restored first
        for (Object p : pairs) {
          io.pairkit.core.internal.engine.copy.Restore restore = ((AbstractPair) p).restore;
          if (restore != null) {
            restore.beforeHostWrite(first, end);
          }
        }
      }
      for (int i = 0; i < pairs.length; i++) {
        AbstractPair pair = (AbstractPair) pairs[i];
        int r = pair.writeRule().beforeWrite(offset, length, tickets,
            pair.syncMirror.synchronous());
        if ((r & PrimaryWriteRule.KICK_MIRROR) != 0) {
          kick |= 1L << i;
        }
        if ((r & PrimaryWriteRule.WRITE_SECONDARY) != 0) {
          sync |= 1L << i;
        }
      }
      // Rule 1: what covers the write is durable before the data can land on a backend.
      BitmapJournal journal = ((AbstractPair) pairs[0]).bitmaps.journal();
      if (sync == 0) {
        write(journal, tickets.max(), offset, length, discard, src);
      } else {
        kick |= writeMirrored(pairs, sync, journal, tickets.max(), offset, length, discard, src);
      }
    }
    for (int i = 0; kick != 0; i++, kick >>>= 1) {
      if ((kick & 1) != 0) {
        ((AbstractPair) pairs[i]).mirror().kick();
      }
    }
  }

  private void write(BitmapJournal journal, long ticket, long offset, long length,
      boolean discard, ByteBuffer src) {
    AbstractPair upper = secondaryOf;
    if (upper != null) {
      // A cascade: this primary is the secondary of an upper pair, whose rule for host writes
      // to its secondary (marks, refusals) runs too, under its primary's track locks.
      journal.awaitDurable(ticket);
      if (discard) {
        upper.secondaryIo().discard(offset, length);
      } else {
        upper.secondaryIo().write(offset, src);
      }
      return;
    }
    if (discard) {
      journal.awaitDurable(ticket);
      backend.discard(offset, length);
    } else {
      backend.writeAfter(ticket, offset, src, journal::awaitDurable);
    }
  }

  /**
   * The write on this primary and, in parallel, on the secondaries of the pairs in {@code sync}
   * (their mirrored bytes of it). A secondary that fails drops its pair to the asynchronous
   * mirror with the tracks pending; a failing primary write leaves every such pair's tracks
   * pending (its secondary may have taken the data) and fails the host write. Returns the pairs
   * whose mirror has new work.
   */
  private long writeMirrored(Object[] pairs, long sync, BitmapJournal journal, long ticket,
      long offset, long length, boolean discard, ByteBuffer src) {
    long first = geometry.trackOf(offset);
    long end = geometry.endTrack(offset, length);
    int n = Long.bitCount(sync);
    AbstractPair[] targets = new AbstractPair[n];
    SecondaryWrite[] writes = new SecondaryWrite[n];
    for (int i = 0, k = 0; k < n; i++) {
      if ((sync & (1L << i)) != 0) {
        AbstractPair pair = (AbstractPair) pairs[i];
        targets[k] = pair;
        writes[k] = SecondaryWrite.start(pair, journal, ticket, offset, length, discard,
            src == null ? null : src.duplicate());
        k++;
      }
    }
    long kick = 0;
    long started = System.nanoTime();
    try {
      write(journal, ticket, offset, length, discard, src);
    } catch (RuntimeException primaryFailed) {
      for (int k = 0; k < n; k++) {
        writes[k].awaitQuietly();
        targets[k].bitmaps.markMirrorPending(first, end); // S may hold what P does not
        targets[k].mirror().kick();
      }
      throw primaryFailed;
    }
    long primaryNanos = System.nanoTime() - started;
    for (int k = 0; k < n; k++) {
      AbstractPair pair = targets[k];
      RuntimeException failure = writes[k].await();
      if (failure == null) {
        if (journal.durable()) { // settled by the next lazy round
          for (long r = pair.intent.regionOf(first); r <= pair.intent.regionOf(end - 1); r++) {
            pair.intent.syncWritten(r);
          }
        }
        if (pair.syncMirror.synchronous()) { // not for a split track's write-through alone
          pair.syncMirror.timed(primaryNanos, writes[k].nanos());
        }
      } else {
        pair.bitmaps.markMirrorPending(first, end);
        if (pair.syncMirror.synchronous()) {
          pair.syncMirror.failed("a write at byte " + offset, failure);
        } else {
          Engine.LOG.log(System.Logger.Level.WARNING, "pair '" + pair.id() + "': a write "
              + "at byte " + offset + " did not reach the mirrored bytes of its split tracks on "
              + "the secondary; they are copied again at the pair's resume or restart, and "
              + "the join copies those tracks whole", failure);
        }
        kick |= 1L << indexOf(pairs, pair);
      }
    }
    return kick;
  }

  private static int indexOf(Object[] pairs, AbstractPair pair) {
    for (int i = 0; i < pairs.length; i++) {
      if (pairs[i] == pair) {
        return i;
      }
    }
    throw new IllegalStateException("not a pair of this primary");
  }

  @Override
  public io.pairkit.api.ExtentSet allocated(long offset, long length) {
    checkIo(offset, length, "allocation query");
    if (length == 0) {
      return io.pairkit.api.ExtentSet.empty();
    }
    if (secondaryOf == null) {
      if (restoresRunning.get() > 0) {
        // Tracks still to restore read as the secondary's data, holes here or not.
        return io.pairkit.api.ExtentSet.of(offset, offset + length);
      }
      return backend.allocated(offset, length);
    }
    barrier.readLock().lock(); // no request instant moves under the answer
    try {
      AbstractPair pair = secondaryOf;
      if (pair != null && pair.stats().pendingTracks() > 0) {
        // Reads of frozen tracks not yet copied come from the primary: claim everything.
        return io.pairkit.api.ExtentSet.of(offset, offset + length);
      }
      return backend.allocated(offset, length);
    } finally {
      barrier.readLock().unlock();
    }
  }

  /**
   * Flushes the backend and, in parallel, the secondary of every pair that mirrors this primary
   * synchronously (RAID-1's flush: what the host made durable here is durable there too). A
   * secondary that fails drops its pair to the asynchronous mirror, with the tracks its unsettled
   * writes touched pending; only the primary's failure fails the call.
   */
  @Override
  public void flush() {
    checkOpen();
    List<AbstractPair> sync = null;
    for (AbstractPair pair : primaryOf) {
      if (pair.syncMirror.synchronous()) {
        if (sync == null) {
          sync = new ArrayList<>(2);
        }
        sync.add(pair);
      }
    }
    if (sync == null) {
      backend.flush();
      return;
    }
    List<SecondaryWrite> flushes = new ArrayList<>(sync.size());
    for (AbstractPair pair : sync) {
      flushes.add(SecondaryWrite.flush(pair));
    }
    try {
      backend.flush();
    } finally {
      for (int k = 0; k < sync.size(); k++) {
        RuntimeException failure = flushes.get(k).await();
        if (failure != null) {
          sync.get(k).secondaryFlushFailed(failure);
        }
      }
    }
  }

  private void checkIo(long offset, long length, String op) {
    checkOpen();
    if (offset < 0 || length < 0 || offset > size - length) {
      throw new ExtentOutOfRangeException("volume '" + name + "': " + op + " of " + length
          + " bytes at " + offset + " leaves the volume [0, " + size + ")");
    }
  }

  void checkOpen() {
    if (closed) {
      throw new AlreadyClosedException("volume '" + name + "' is closed (its controller was "
          + "closed); open it in a new controller to use it again");
    }
  }

  /** Closes the backend; called by the controller after its copies stopped. */
  void close() throws IOException {
    if (!closed) {
      closed = true;
      backend.close();
    }
  }

  @Override
  public String toString() {
    return "volume '" + name + "' (" + size + " bytes)";
  }
}
