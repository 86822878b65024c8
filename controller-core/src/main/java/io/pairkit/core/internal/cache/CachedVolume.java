package io.pairkit.core.internal.cache;

import io.pairkit.api.Extent;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.error.AlreadyClosedException;
import io.pairkit.api.spi.VolumeCapabilities;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.Volumes;
import io.pairkit.core.internal.cache.TrackCache.Slot;
import io.pairkit.core.internal.engine.volume.TicketOrderedVolume;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A backend volume seen through a {@link TrackCache}: the engine uses it in place of the backend.
 *
 * <p>Write-back (default): a write completes once its bytes are in a slot; the cache's destager
 * writes dirty slots to the backend in ascending track order, coalescing neighbours into one
 * backend write of up to 1 MiB. {@link #flush()} is a barrier like a disk's FLUSH with a volatile
 * write cache: when it returns, every write that completed before it is on the backend and the
 * backend was flushed. Write-through: a write reaches the backend before it completes.
 *
 * <p>Threading: as {@link Volume}. A slot's lock is held while its bytes move, including its own
 * backend I/O.
 *
 * <p>Over 500 lines: the read, write, discard and flush paths of one slot-locked volume view;
 * slots, eviction and the destager are {@link TrackCache}'s.
 */
public final class CachedVolume implements TicketOrderedVolume {
  private static final int MAX_COALESCE_BYTES = 1 << 20;

  private final TrackCache cache;
  private final Volume backend;
  private final int trackSize;
  private final long size;
  /** This volume's slots by track (hash lookups on the I/O path; destage sorts what is dirty). */
  private final ConcurrentHashMap<Long, Slot> slots = new ConcurrentHashMap<>();
  private final ThreadLocal<ByteBuffer> staging = new ThreadLocal<>();
  /** Read misses that load a track hold it shared; a discard holds it while it clears tracks. */
  private final java.util.concurrent.locks.ReentrantReadWriteLock loads =
      new java.util.concurrent.locks.ReentrantReadWriteLock();
  private volatile boolean closed;

  CachedVolume(TrackCache cache, Volume backend) {
    this.cache = cache;
    this.backend = backend;
    this.trackSize = cache.slotSize();
    this.size = backend.size();
  }

  /** The volume behind the cache. */
  Volume backend() {
    return backend;
  }

  @Override
  public String name() {
    return backend.name();
  }

  @Override
  public long size() {
    return size;
  }

  /**
   * The backend's capabilities, except that any alignment works at full speed (slots absorb
   * partial writes) and I/O of a track or more is preferred.
   */
  @Override
  public io.pairkit.api.spi.VolumeHealth health() {
    return backend.health();
  }

  @Override
  public java.util.Optional<String> volumeId() {
    return backend.volumeId();
  }

  @Override
  public VolumeCapabilities capabilities() {
    VolumeCapabilities b = backend.capabilities();
    return new VolumeCapabilities(1, Math.max(b.preferredIoSize(), trackSize), b.concurrency(),
        b.thin(), b.durableFlush(), b.fencing(), b.remote());
  }

  /**
   * Whole tracks in the range are discarded on the backend; partial tracks are written with zeros
   * through the cache. The slots of whole tracks are zeroed and marked dirty first, so the newest
   * data is zeros whatever happens next: if the backend discard fails, destage later writes those
   * zeros (no acknowledged write is rolled back to older data); once it succeeded, slots not
   * written meanwhile are dropped, since the backend now reads as zeros there. No read miss
   * loads a whole track of the range while the backend discards it (it would cache the old data).
   */
  @Override
  public void discard(long offset, long length) throws IOException {
    check(offset, length);
    long stop = offset + length;
    long firstWhole = (offset + trackSize - 1) / trackSize;
    long endWhole = stop == size ? (stop + trackSize - 1) / trackSize : stop / trackSize;
    if (firstWhole >= endWhole) {
      Volumes.writeZeros(this, offset, length);
      return;
    }
    long wholeStart = firstWhole * trackSize;
    long wholeStop = Math.min(endWhole * trackSize, size);
    Volumes.writeZeros(this, offset, wholeStart - offset);
    loads.writeLock().lock();
    try {
      Map<Slot, Long> zeroed = new java.util.HashMap<>();
      for (Map.Entry<Long, Slot> e : slots.entrySet()) {
        long t = e.getKey();
        if (t < firstWhole || t >= endWhole) {
          continue;
        }
        Slot s = e.getValue();
        s.lock.lock();
        try {
          if (s.holds(this, t)) {
            ByteBuffer m = s.view(0, trackLength(t));
            while (m.hasRemaining()) {
              m.put((byte) 0);
            }
            s.writes++;
            cache.markDirty(s);
            zeroed.put(s, s.writes);
          }
        } finally {
          s.lock.unlock();
        }
      }
      backend.discard(wholeStart, wholeStop - wholeStart);
      for (Map.Entry<Slot, Long> e : zeroed.entrySet()) {
        Slot s = e.getKey();
        s.lock.lock();
        try {
          if (s.owner == this && s.writes == e.getValue()) { // not written since: drop it
            cache.markClean(s);
            s.ticket = 0;
            slots.remove(s.track, s);
            s.owner = null;
            s.track = -1;
          }
        } finally {
          s.lock.unlock();
        }
      }
    } finally {
      loads.writeLock().unlock();
    }
    Volumes.writeZeros(this, wholeStop, stop - wholeStop);
  }

  /**
   * The backend's allocation, plus every track held in a slot (it may be dirty). The slots are
   * looked at before the backend: a slot leaves only once clean, that is once its data is on the
   * backend, so a track written before this call is in one or the other. (The other order loses a
   * track that is destaged and evicted between the two looks, and a copy would then skip it as a
   * hole.)
   */
  @Override
  public ExtentSet allocated(long offset, long length) throws IOException {
    check(offset, length);
    if (length == 0) {
      return ExtentSet.empty();
    }
    List<Extent> cached = new ArrayList<>();
    for (Map.Entry<Long, Slot> e : slots.entrySet()) {
      long start = e.getKey() * trackSize;
      long stop = Math.min(start + trackSize, size);
      if (stop > offset && start < offset + length) {
        cached.add(Extent.of(Math.max(start, offset), Math.min(stop, offset + length)));
      }
    }
    ExtentSet out = backend.allocated(offset, length);
    return cached.isEmpty() ? out : out.union(ExtentSet.of(cached));
  }

  private int trackLength(long t) {
    return (int) Math.min(trackSize, size - t * trackSize);
  }

  @Override
  public void read(long offset, ByteBuffer dst) throws IOException {
    check(offset, dst.remaining());
    long pos = offset;
    long stop = offset + dst.remaining();
    while (pos < stop) {
      long t = pos / trackSize;
      int from = (int) (pos - t * trackSize);
      int to = (int) Math.min(trackSize, stop - t * trackSize);
      if (readHit(t, from, to, dst)) {
        pos += to - from;
        continue;
      }
      Slot s = lockedSlot(t, true, false);
      if (s == null) {
        // No slot to be had now (all dirty or busy): read around the cache.
        ByteBuffer part = dst.duplicate();
        part.limit(part.position() + (to - from));
        backend.read(pos, part);
        dst.position(part.position());
      } else {
        try {
          dst.put(s.view(from, to));
        } finally {
          s.lock.unlock();
        }
      }
      pos += to - from;
    }
  }

  /**
   * Copies bytes of track {@code t} from its slot without taking the lock, if the slot holds the
   * track and nobody changed the slot meanwhile (the stamp validates); else leaves {@code dst}
   * as it was and returns false.
   */
  private boolean readHit(long t, int from, int to, ByteBuffer dst) {
    Slot s = slots.get(t);
    if (s == null) {
      return false;
    }
    long stamp = s.stamps.tryOptimisticRead();
    if (stamp == 0 || !s.holds(this, t)) {
      return false;
    }
    int start = dst.position();
    dst.put(start, s.mem, from, to - from); // absolute bulk copy: no view object per read
    if (!s.stamps.validate(stamp)) {
      return false; // changed under us: the locked path will redo it (position untouched)
    }
    dst.position(start + (to - from));
    if (!s.referenced) {
      s.referenced = true;
    }
    cache.hits.incrementAndGet();
    return true;
  }

  @Override
  public void write(long offset, ByteBuffer src) throws IOException {
    write(offset, src, 0);
  }

  /**
   * Writes {@code src} at {@code offset}; none of it may reach the backend before the metadata
   * record of {@code ticket} is durable (ordering rule 1, kept by the destager instead of by the
   * writer: with write-back, a host write waits for no metadata sync). Write-through waits for the
   * ticket before it writes. 0: no condition.
   */
  @Override
  public void write(long offset, ByteBuffer src, long ticket) throws IOException {
    check(offset, src.remaining());
    long pos = offset;
    long stop = offset + src.remaining();
    while (pos < stop) {
      long t = pos / trackSize;
      int from = (int) (pos - t * trackSize);
      int to = (int) Math.min(trackSize, stop - t * trackSize);
      boolean whole = from == 0 && to == trackLength(t);
      ByteBuffer part = src.duplicate();
      part.limit(part.position() + (to - from));
      if (cache.config().writeThrough()) {
        cache.awaitDurable(ticket);
        writeThrough(t, pos, from, to, part);
      } else {
        cache.awaitRoomForDirty();
        Slot s = lockedSlot(t, !whole, true);
        try {
          s.view(from, to).put(part);
          s.writes++;
          s.ticket = Math.max(s.ticket, ticket);
          cache.markDirty(s);
        } finally {
          s.lock.unlock();
        }
      }
      src.position(src.position() + (to - from));
      pos += to - from;
    }
  }

  private void writeThrough(long t, long pos, int from, int to, ByteBuffer part)
      throws IOException {
    Slot s = slots.get(t);
    if (s != null) {
      s.lock.lock();
      if (!s.holds(this, t)) {
        s.lock.unlock();
        s = null;
      }
    }
    try {
      backend.write(pos, part.duplicate());
      if (s != null) {
        s.view(from, to).put(part);
        s.writes++;
      }
    } finally {
      if (s != null) {
        s.lock.unlock();
      }
    }
  }

  /**
   * The slot holding track {@code t}, locked; on a miss a slot is allocated and, when {@code load},
   * filled from the backend. When no slot can be had, writers ({@code mustHave}) wait for the
   * destager; readers get null and read around the cache.
   */
  private Slot lockedSlot(long t, boolean load, boolean mustHave) throws IOException {
    while (true) {
      Slot s = slots.get(t);
      if (s != null) {
        s.lock.lock();
        if (s.holds(this, t)) {
          if (!s.referenced) {
            s.referenced = true;
          }
          cache.hits.incrementAndGet();
          return s;
        }
        s.lock.unlock(); // evicted between lookup and lock: look again
        continue;
      }
      if (load) {
        loads.readLock().lock(); // not while a discard clears the backend under us
      }
      try {
        Slot fresh = allocateAndLoad(t, load, mustHave);
        if (fresh == RETRY) {
          continue;
        }
        return fresh;
      } finally {
        if (load) {
          loads.readLock().unlock();
        }
      }
    }
  }

  /** Marks "look again" for {@link #lockedSlot}. */
  private static final Slot RETRY = new Slot(-1, ByteBuffer.allocate(0));

  private Slot allocateAndLoad(long t, boolean load, boolean mustHave) throws IOException {
    {
      Slot fresh = cache.allocate();
      if (fresh == null) {
        if (!mustHave) {
          cache.misses.incrementAndGet();
          return null;
        }
        cache.awaitDestage();
        return RETRY;
      }
      fresh.owner = this;
      fresh.track = t;
      if (slots.putIfAbsent(t, fresh) != null) {
        cache.free(fresh); // someone else cached it first
        return RETRY;
      }
      cache.misses.incrementAndGet();
      if (load) {
        try {
          backend.read(t * trackSize, fresh.view(0, trackLength(t)));
        } catch (IOException | RuntimeException e) {
          slots.remove(t, fresh);
          cache.free(fresh);
          throw e;
        }
      }
      fresh.referenced = true;
      return fresh;
    }
  }

  /** Called by the cache, holding {@code s}'s lock, when it reuses a clean slot of ours. */
  void evicted(Slot s) {
    slots.remove(s.track, s);
  }

  /**
   * Writes every dirty slot of this volume to the backend, ascending, coalescing neighbours.
   * Slots written concurrently after being copied stay dirty for the next pass.
   */
  void destageAll() throws IOException {
    long[] dirtyTracks = slots.entrySet().stream()
        .filter(e -> e.getValue().dirty) // racy peek; the locked check below decides
        .mapToLong(Map.Entry::getKey).sorted().toArray();
    IOException failure = null;
    List<Slot> run = new ArrayList<>();
    for (long t : dirtyTracks) {
      Slot s = slots.get(t);
      if (s == null) {
        continue;
      }
      boolean extendsRun = !run.isEmpty() && run.get(run.size() - 1).track == t - 1
          && (run.size() + 1) * (long) trackSize <= MAX_COALESCE_BYTES;
      if (!extendsRun && !run.isEmpty()) {
        failure = writeRun(run, failure);
      }
      s.lock.lock();
      if (s.holds(this, t) && s.dirty) {
        run.add(s); // stays locked until its run is written; runs lock in ascending order
      } else {
        s.lock.unlock();
      }
    }
    if (!run.isEmpty()) {
      failure = writeRun(run, failure);
    }
    if (failure != null) {
      throw failure;
    }
  }

  /** Writes a run of locked, dirty, consecutive slots as one backend write, then unlocks them. */
  private IOException writeRun(List<Slot> run, IOException failure) {
    try {
      long start = run.get(0).track * trackSize;
      ByteBuffer data;
      if (run.size() == 1) {
        data = run.get(0).view(0, trackLength(run.get(0).track));
      } else {
        data = stagingBuffer();
        for (Slot s : run) {
          data.put(s.view(0, trackLength(s.track)));
        }
        data.flip();
      }
      int bytes = data.remaining();
      long ticket = 0;
      for (Slot s : run) {
        ticket = Math.max(ticket, s.ticket);
      }
      cache.awaitDurable(ticket); // rule 1: the bits guarding this data are durable first
      backend.write(start, data);
      for (Slot s : run) {
        cache.markClean(s);
        s.ticket = 0;
      }
      cache.destagedBytes.addAndGet(bytes);
      return failure;
    } catch (IOException e) {
      return failure != null ? failure : e;
    } finally {
      for (Slot s : run) {
        s.lock.unlock();
      }
      run.clear();
    }
  }

  private ByteBuffer stagingBuffer() {
    ByteBuffer b = staging.get();
    if (b == null) {
      b = ByteBuffer.allocateDirect(MAX_COALESCE_BYTES + 4096).alignedSlice(4096);
      staging.set(b);
    }
    return b.clear();
  }

  @Override
  public void flush() throws IOException {
    checkOpen();
    destageAll();
    backend.flush();
  }

  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    try {
      if (!cache.isClosed()) {
        flush();
      }
    } finally {
      closed = true;
      for (Slot s : slots.values()) {
        s.lock.lock();
        try {
          if (s.holds(this, s.track)) {
            cache.markClean(s);
            s.owner = null;
            s.track = -1;
          }
        } finally {
          s.lock.unlock();
        }
      }
      slots.clear();
      cache.forget(this);
      backend.close();
    }
  }

  private void check(long offset, long length) {
    checkOpen();
    Volumes.checkRange(name(), size, offset, length);
  }

  private void checkOpen() {
    if (closed) {
      throw new AlreadyClosedException("cached volume '" + name() + "' is closed");
    }
  }
}
