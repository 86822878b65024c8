package io.pairkit.core.engine;

import io.pairkit.api.HostVolume;
import io.pairkit.api.Pair;
import io.pairkit.api.error.AlreadyClosedException;
import io.pairkit.api.error.ExtentOutOfRangeException;
import io.pairkit.api.spi.VolumeCapabilities;
import io.pairkit.core.engine.bitmap.BitmapJournal;
import io.pairkit.core.engine.bitmap.Tickets;
import io.pairkit.core.engine.track.TrackGeometry;
import io.pairkit.core.engine.track.TrackLocks;
import io.pairkit.core.engine.volume.BackendVolume;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A volume as the host sees it through the controller: the host I/O path. A write to a primary
 * runs each pair's {@link io.pairkit.core.engine.hostio.PrimaryWriteRule} under the touched
 * tracks' locks before the data reaches the backend; I/O on a secondary goes through its pair's
 * {@link io.pairkit.core.engine.hostio.SecondaryIo}.
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
      backend.read(offset, dst);
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
      if (asSecondary != null) {
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

  /** The write rule of every pair of this primary, then the write, all under track locks. */
  private void modifyPrimary(long offset, long length, boolean discard, ByteBuffer src) {
    long first = geometry.trackOf(offset);
    long end = geometry.endTrack(offset, length);
    Object[] pairs = primaryOf.toArray();
    long kick = 0; // bit i: pair i has new mirrored differences
    Tickets tickets = new Tickets();
    try (TrackLocks.Held held = trackLocks.lock(first, end)) {
      for (int i = 0; i < pairs.length; i++) {
        if (((AbstractPair) pairs[i]).writeRule().beforeWrite(first, end, tickets)) {
          kick |= 1L << i;
        }
      }
      // Rule 1: the bits are durable before the data can land on the backend.
      BitmapJournal journal = ((AbstractPair) pairs[0]).bitmaps.journal();
      if (discard) {
        journal.awaitDurable(tickets.max());
        backend.discard(offset, length);
      } else {
        backend.writeAfter(tickets.max(), offset, src, journal::awaitDurable);
      }
    }
    for (int i = 0; kick != 0; i++, kick >>>= 1) {
      if ((kick & 1) != 0) {
        ((AbstractPair) pairs[i]).mirror().kick();
      }
    }
  }

  @Override
  public io.pairkit.api.ExtentSet allocated(long offset, long length) {
    checkIo(offset, length, "allocation query");
    if (length == 0) {
      return io.pairkit.api.ExtentSet.empty();
    }
    if (secondaryOf == null) {
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

  @Override
  public void flush() {
    checkOpen();
    backend.flush();
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
