package io.pairkit.core.internal.cache;

import io.pairkit.core.cache.TrackCacheConfig;
import java.lang.System.Logger.Level;
import com.google.common.util.concurrent.ThreadFactoryBuilder;
import io.pairkit.api.CacheStats;
import io.pairkit.api.error.AlreadyClosedException;
import io.pairkit.api.error.ControllerConfigException;
import io.pairkit.api.spi.Volume;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.StampedLock;
import net.openhft.chronicle.bytes.BytesStore;

/**
 * Off-heap track slots shared by the volumes of one controller (one slot holds one track).
 *
 * <p>Memory: one chronicle-bytes native store per slab of up to 1 GiB, viewed as direct
 * {@link ByteBuffer}s, so backends read into and destage from slot memory without extra copies.
 * All of it is released by {@link #close()}.
 *
 * <p>Threading: thread-safe. Slot state changes under the slot's lock; eviction only
 * {@code tryLock}s, so a thread holding one slot never waits for another.
 */
public final class TrackCache implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger("io.pairkit.core.cache");
  private static final long SLAB_BYTES = 1L << 30;
  private static final long DESTAGE_INTERVAL_MS = 100;
  /** Live native bytes of all caches in this JVM; lets tests prove nothing leaks. */
  private static final AtomicLong LIVE_NATIVE_BYTES = new AtomicLong();

  private final TrackCacheConfig config;
  private final int slotSize;
  private final Slot[] slots;
  private final List<BytesStore<?, Void>> slabs = new ArrayList<>();
  private final AtomicInteger clockHand = new AtomicInteger();
  private final AtomicInteger dirty = new AtomicInteger();
  private final int dirtyHighWater;
  private final CopyOnWriteArrayList<CachedVolume> volumes = new CopyOnWriteArrayList<>();

  final AtomicLong hits = new AtomicLong();
  final AtomicLong misses = new AtomicLong();
  final AtomicLong destagedBytes = new AtomicLong();
  final AtomicLong evictions = new AtomicLong();

  private final ReentrantLock pressure = new ReentrantLock();
  private final Condition destaged = pressure.newCondition();
  private final Condition destageWanted = pressure.newCondition();
  private final Thread destager;
  /** Set while destage passes fail (a backend is down); cleared by a clean pass. */
  private volatile String destageFailure;
  /** Completed destage passes; guarded by {@link #pressure}. */
  private long destagePasses;
  private volatile boolean closed;

  /**
   * Allocates the slots; {@code slotSize} is the track size of the volumes it will serve.
   *
   * @throws ControllerConfigException if the capacity holds fewer than 16 tracks, or native
   *     memory cannot be had (for example without the JVM flags chronicle-bytes needs)
   */
  public TrackCache(TrackCacheConfig config, int slotSize) {
    this.config = config;
    this.slotSize = slotSize;
    long count = config.capacityBytes() / slotSize;
    if (count < 16) {
      throw new ControllerConfigException("a track cache of " + config.capacityBytes()
          + " bytes holds " + count + " tracks of " + slotSize + " bytes; give it at least 16 "
          + "tracks (TrackCacheConfig.withCapacity(" + 16L * slotSize + ") or more)");
    }
    if (count > Integer.MAX_VALUE) {
      throw new ControllerConfigException("a track cache of " + config.capacityBytes()
          + " bytes would need " + count + " slots, more than " + Integer.MAX_VALUE
          + "; use a smaller capacity or a larger track size");
    }
    this.slots = new Slot[(int) count];
    int perSlab = (int) (SLAB_BYTES / slotSize);
    try {
      for (int first = 0; first < count; first += perSlab) {
        int n = (int) Math.min(perSlab, count - first);
        BytesStore<?, Void> slab = BytesStore.nativeStoreWithFixedCapacity((long) n * slotSize);
        slabs.add(slab);
        LIVE_NATIVE_BYTES.addAndGet(slab.capacity());
        ByteBuffer view = slab.toTemporaryDirectByteBuffer();
        for (int i = 0; i < n; i++) {
          ByteBuffer mem = view.slice(i * slotSize, slotSize);
          slots[first + i] = new Slot(first + i, mem);
        }
      }
    } catch (RuntimeException | LinkageError e) {
      releaseSlabs();
      throw new ControllerConfigException("the track cache could not allocate its native memory ("
          + e + "); chronicle-bytes needs the JVM flags listed in the README (--add-opens "
          + "java.base/java.lang=ALL-UNNAMED ...), or build the controller without trackCache",
          e);
    }
    this.dirtyHighWater = Math.max(1, (int) (count * config.dirtyHighWater()));
    ThreadFactory tf = new ThreadFactoryBuilder().setDaemon(true)
        .setNameFormat("pairkit-destage-%d").build();
    this.destager = tf.newThread(this::destageLoop);
    destager.start();
  }

  private volatile java.util.function.LongConsumer durability = ticket -> { };

  /**
   * Where destaging waits for metadata tickets (durable pairs: the journal's group commit). Set
   * once by the controller before any volume is wrapped.
   */
  public void setDurability(java.util.function.LongConsumer awaitDurable) {
    this.durability = awaitDurable;
  }

  /** Waits until the metadata record of {@code ticket} is durable (at once for 0). */
  void awaitDurable(long ticket) {
    if (ticket > 0) {
      durability.accept(ticket);
    }
  }

  /** Bytes of native memory held by all live caches of this JVM (for leak tests). */
  static long liveNativeBytes() {
    return LIVE_NATIVE_BYTES.get();
  }

  public TrackCacheConfig config() {
    return config;
  }

  public int slotSize() {
    return slotSize;
  }

  /**
   * Puts {@code backend} behind this cache, one slot per track of the slot size.
   *
   * @throws AlreadyClosedException if the cache is closed
   */
  public CachedVolume wrap(Volume backend) {
    checkOpen();
    CachedVolume v = new CachedVolume(this, backend);
    volumes.add(v);
    return v;
  }

  void forget(CachedVolume v) {
    volumes.remove(v);
  }

  public CacheStats stats() {
    return new CacheStats(true, (long) slots.length * slotSize, slots.length, hits.get(),
        misses.get(), dirty.get(), destagedBytes.get(), evictions.get());
  }

  // ------------------------------------------------------------ slots

  /**
   * One track-sized slot. Fields change only under {@link #lock} (the write view of
   * {@link #stamps}, never re-entered); read hits may copy under an optimistic stamp instead.
   */
  static final class Slot {
    final int index;
    final ByteBuffer mem;
    final StampedLock stamps = new StampedLock();
    final java.util.concurrent.locks.Lock lock = stamps.asWriteLock();
    volatile CachedVolume owner;
    volatile long track = -1;
    /** Volatile so destage passes can skip clean slots without locking them. */
    volatile boolean dirty;
    /** Set on use, cleared by the clock hand: a second chance before eviction. */
    volatile boolean referenced;
    /** Writes into the slot, counted under its lock (a discard keeps only unwritten zero slots). */
    long writes;
    /** The metadata ticket that must be durable before the slot is destaged; 0: none. */
    long ticket;

    Slot(int index, ByteBuffer mem) {
      this.index = index;
      this.mem = mem;
    }

    /** A view of bytes {@code [from, to)} of the slot. */
    ByteBuffer view(int from, int to) {
      return mem.duplicate().limit(to).position(from);
    }

    boolean holds(CachedVolume v, long t) {
      return owner == v && track == t;
    }
  }

  /**
   * A free slot, locked by the caller, or null if none can be had now (every slot dirty or
   * locked). Evicts a clean slot with the CLOCK algorithm.
   */
  Slot allocate() {
    int n = slots.length;
    for (int step = 0; step < 2 * n; step++) {
      Slot s = slots[Math.floorMod(clockHand.getAndIncrement(), n)];
      if (s.referenced) {
        s.referenced = false; // second chance
        continue;
      }
      if (!s.lock.tryLock()) {
        continue;
      }
      if (s.dirty) {
        s.lock.unlock();
        continue;
      }
      if (s.owner != null) {
        s.owner.evicted(s);
        evictions.incrementAndGet();
      }
      s.owner = null;
      s.track = -1;
      return s;
    }
    return null;
  }

  /** Gives back a slot taken by {@link #allocate()} but not used; caller holds its lock. */
  void free(Slot s) {
    s.owner = null;
    s.track = -1;
    s.dirty = false;
    s.lock.unlock();
  }

  void markDirty(Slot s) {
    if (!s.dirty) {
      s.dirty = true;
      if (dirty.incrementAndGet() >= dirtyHighWater / 2) {
        wakeDestager();
      }
    }
  }

  void markClean(Slot s) {
    if (s.dirty) {
      s.dirty = false;
      dirty.decrementAndGet();
    }
  }

  /**
   * Back-pressure: waits while too many slots are dirty, so memory never grows past the cap.
   *
   * @throws IOException if the cache is full of data a failing backend refuses: waiting would
   *     hang the writer for as long as the backend is down
   */
  void awaitRoomForDirty() throws IOException {
    if (dirty.get() < dirtyHighWater) {
      return;
    }
    pressure.lock();
    try {
      while (dirty.get() >= dirtyHighWater && !closed) {
        if (destageFailure != null) {
          // The failure may be stale (backend back, destager still backing off): ask for one
          // fresh pass and refuse only if that fails too.
          long seen = destagePasses;
          destageWanted.signalAll();
          while (destagePasses == seen && !closed) {
            destaged.awaitUninterruptibly();
          }
        }
        String failure = destageFailure;
        if (failure != null && dirty.get() >= dirtyHighWater) {
          throw new IOException("the track cache is full of data its backend refuses ("
              + failure + "); the write was not taken. Fix the backend: destage retries "
              + "on its own, and flush() reports when everything is written");
        }
        destageWanted.signalAll();
        destaged.awaitUninterruptibly();
      }
    } finally {
      pressure.unlock();
    }
  }

  /** Waits until a slot may have become free (something was destaged). */
  void awaitDestage() {
    pressure.lock();
    try {
      destageWanted.signalAll();
      destaged.await(DESTAGE_INTERVAL_MS, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      pressure.unlock();
    }
  }

  private void wakeDestager() {
    pressure.lock();
    try {
      destageWanted.signalAll();
    } finally {
      pressure.unlock();
    }
  }

  private void signalDestaged() {
    pressure.lock();
    try {
      destagePasses++;
      destaged.signalAll();
    } finally {
      pressure.unlock();
    }
  }

  private void destageLoop() {
    long backoffMs = 0;
    while (!closed) {
      pressure.lock();
      try {
        if (dirty.get() == 0 || backoffMs > 0) {
          destageWanted.await(Math.max(DESTAGE_INTERVAL_MS, backoffMs), TimeUnit.MILLISECONDS);
        }
      } catch (InterruptedException e) {
        return;
      } finally {
        pressure.unlock();
      }
      String failed = null;
      for (CachedVolume v : volumes) {
        try {
          v.destageAll();
        } catch (Exception e) {
          // Data stays dirty in its slot; the next flush() reports the failure to the caller.
          failed = "volume '" + v.name() + "': " + e.getMessage();
          if (backoffMs == 0) {
            LOG.log(Level.WARNING, "destage of '" + v.name() + "' failed; retrying with "
                + "back-off until it succeeds", e);
          }
        }
      }
      // A dead backend must not turn the destager into a busy loop: back off up to 5 s.
      backoffMs = failed != null
          ? Math.min(5_000, Math.max(DESTAGE_INTERVAL_MS, backoffMs * 2)) : 0;
      destageFailure = failed;
      signalDestaged(); // also wakes writers waiting for room, so they see a failure at once
    }
  }

  /** Stops the destager and releases all native memory. Volumes must be closed before. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    wakeDestager();
    signalDestaged();
    try {
      destager.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    releaseSlabs();
  }

  /**
   * Simulates a power cut of the cache's volatile memory: dirty data is dropped, not destaged,
   * and the memory is released. For crash tests; the backends are left as they are.
   */
  void loseVolatileContents() {
    closed = true;
    wakeDestager();
    try {
      destager.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    for (Slot s : slots) {
      s.lock.lock();
      s.dirty = false;
      s.owner = null;
      s.lock.unlock();
    }
    dirty.set(0);
    releaseSlabs();
  }

  private void releaseSlabs() {
    for (BytesStore<?, Void> slab : slabs) {
      long bytes = slab.capacity();
      slab.releaseLast();
      LIVE_NATIVE_BYTES.addAndGet(-bytes);
    }
    slabs.clear();
  }

  boolean isClosed() {
    return closed;
  }

  private void checkOpen() {
    if (closed) {
      throw new AlreadyClosedException("the track cache is closed (its controller was closed); "
          + "build a new controller");
    }
  }
}
