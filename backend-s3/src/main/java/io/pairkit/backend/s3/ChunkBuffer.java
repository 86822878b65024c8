package io.pairkit.backend.s3;

import com.google.common.collect.Range;
import com.google.common.collect.RangeSet;
import com.google.common.collect.TreeRangeSet;
import io.pairkit.api.spi.TransientIOException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The write-back buffer of one volume's chunks: writes land in memory and whole chunk objects go
 * to the store, so a small write costs no read-modify-write of its chunk. It is also the read
 * cache that read-ahead fills.
 *
 * <p>How it works:
 * <ul>
 *   <li>A chunk that is written gets an entry holding its bytes and the ranges known in memory.
 *       Bytes never written are read from the stored chunk (the <em>base</em>) only when they are
 *       needed: when the chunk is uploaded without having been written whole, or read there. A
 *       chunk that is not stored has zeros as its base and costs no request at all. One entry
 *       fetches its base at most once at a time ({@code loading}); others wait for that fetch.
 *   <li>A chunk written whole (a copy's run, a discard of the whole chunk) is uploaded at once, in
 *       the background, on up to {@code concurrency} threads (and the store bounds requests in
 *       flight by the same number), so a copy keeps the link busy.
 *   <li>Other dirty chunks are uploaded by {@link #flush}, after the write-back time (about 2 s
 *       dirty), and before memory runs out: once more than half of {@code maxChunks} entries are
 *       dirty and not being uploaded (the high-water mark), the least recently used of them are
 *       uploaded, keeping up to {@code concurrency} uploads in flight, until a quarter are left.
 *       So when a writer needs an entry and none is clean, uploads are already under way and it
 *       waits for the first of them to end, not for uploads it starts itself. At most
 *       {@code maxChunks} entries exist; writers that need one more wait in arrival order (a
 *       freed entry goes to the longest waiting), so none waits behind later ones.
 *   <li>Read-ahead ({@link #prefetch}): a stored chunk that the volume expects to be read soon is
 *       fetched whole, on up to {@code concurrency} threads, into a clean entry; readers of it
 *       wait for that fetch instead of sending their own requests. At most {@code maxPrefetch}
 *       entries are fetched ahead and not yet read, a prefetch never waits for room and never
 *       takes an entry a writer waits for, so read-ahead cannot hold up writes.
 *   <li>Writes to one chunk are serialised by its entry's monitor. An upload sends a snapshot: the
 *       entry's array is marked shared, and a write during the upload copies it first.
 *   <li>Each upload is one whole-object PUT (or a DELETE for a chunk that is all zeros), so a
 *       failure leaves the stored chunk old or new. A failed upload (after {@link #ATTEMPTS} tries, the
 *       lease checked before each) leaves the entry dirty for the next flush; a writer waiting
 *       for room gets the failure if an upload failed after it began waiting and none is in
 *       flight any more, instead of waiting for ever, and the next writer starts uploads again
 *       (so a store that recovers needs no flush first).
 *   <li>Stored entries stay as a cache of recently used chunks until memory is needed (least
 *       recently used first); an entry leaves memory only once its last version is stored, and the
 *       set of stored chunks, listed at open, is updated before, so a reader that misses the
 *       entry finds the object.
 *   <li>Only one upload of a chunk is in flight at a time, so PUTs and DELETEs of one key land in
 *       the order of the versions they carry.
 * </ul>
 *
 * <p>Threading: thread-safe. Lock order: {@code space} before a chunk's monitor; nothing takes
 * {@code space} while holding a chunk's monitor. Uploads run on the upload threads, prefetches on
 * the read-ahead threads, the time-based write-back on its own thread.
 */
final class ChunkBuffer {

  /** What the buffer stores chunks into. */
  interface Store {
    /** Reads {@code dst.remaining()} bytes of stored chunk {@code index} from {@code offset}. */
    void readStored(long index, int offset, ByteBuffer dst) throws IOException;

    /** Stores the whole chunk (a PUT); checks the lease first. */
    void put(long index, byte[] data, int length) throws IOException;

    /** Removes the stored chunk (a DELETE); checks the lease first. */
    void delete(long index) throws IOException;
  }

  private static final class Chunk {
    final long index;
    final int length;
    /** The chunk's bytes; null while it is all zeros. */
    byte[] data;
    /** {@link #data} is being uploaded: copy it before changing it. */
    boolean shared;
    /** Ranges of {@link #data} that hold the chunk's content; null once all of it does. */
    RangeSet<Integer> valid = TreeRangeSet.create();
    /** Ranges written since the entry was made; null once all of it was. */
    RangeSet<Integer> written = TreeRangeSet.create();
    /** The whole chunk is zeros (discarded): storing it is a DELETE. */
    boolean zero;
    /** Part of it was discarded (zeroed): if it is all zeros now, storing it is a DELETE. */
    boolean partDiscarded;
    long version;
    long storedVersion;
    CompletableFuture<Void> upload;
    boolean evicted;
    /** When it was last read or written, on {@link #clock}: the least recent clean one goes. */
    long lastUse;
    /** Nanotime it became dirty (for the time-based write-back); valid while dirty. */
    long dirtySince;
    /** The fetch of its base in progress, or null: whoever needs the base waits for it. */
    CompletableFuture<Void> loading;
    /** Made by read-ahead and not read or written since (counted in {@link #prefetched}). */
    boolean prefetched;

    Chunk(long index, int length) {
      this.index = index;
      this.length = length;
    }

    boolean fullyValid() {
      return valid == null;
    }

    boolean dirty() {
      return version != storedVersion;
    }
  }

  private final String volume;
  private final long size;
  private final int chunkSize;
  private final Store store;
  private final int maxChunks;
  private final int concurrency;
  /** Dirty entries not being uploaded above which write-back starts (half the entries). */
  private final int highWater;
  /** Write-back under pressure stops once this many idle dirty entries are left. */
  private final int lowWater;
  /** Entries fetched ahead and not yet read, at most. */
  private final int maxPrefetch;
  private final ConcurrentHashMap<Long, Chunk> chunks = new ConcurrentHashMap<>();
  /** Chunks that exist in the store (as far as this volume knows; it is the only writer). */
  private final BitSet stored;
  private final ExecutorService uploaders;
  /** Read-ahead fetches. */
  private final ExecutorService fetchers;
  /** Entries that are dirty (version not stored); changed under the entry's monitor. */
  private final AtomicInteger dirty = new AtomicInteger();
  /** Entries made by read-ahead and not read or written yet; changed under the monitor. */
  private final AtomicInteger prefetched = new AtomicInteger();
  /** Read-ahead fetches started (tests count them). */
  private final AtomicInteger prefetchesStarted = new AtomicInteger();
  /** One thread at a time picks chunks for the pressure write-back (others need not wait). */
  private final java.util.concurrent.atomic.AtomicBoolean choosing =
      new java.util.concurrent.atomic.AtomicBoolean();
  /** Spare chunk arrays ({@link #giveArray}), and how many. */
  private final java.util.concurrent.ConcurrentLinkedDeque<byte[]> spare =
      new java.util.concurrent.ConcurrentLinkedDeque<>();
  private final AtomicInteger spareCount = new AtomicInteger();
  /** Spare arrays kept at most. */
  private final int maxSpare;
  /** Run (holding {@link #space}) when a writer starts waiting for room: tests order writers. */
  volatile Runnable roomWaitHook;
  /** Writers waiting for an entry, in arrival order; guarded by {@link #space}. */
  private final java.util.ArrayDeque<Object> roomQueue = new java.util.ArrayDeque<>();
  private final AtomicInteger uploadsStarted = new AtomicInteger();
  private final java.util.concurrent.atomic.AtomicLong clock =
      new java.util.concurrent.atomic.AtomicLong();
  private final Object space = new Object();
  /** Entries in {@link #chunks}; guarded by {@link #space}. */
  private int entries;
  /** The last upload failure, or null; guarded by {@link #space}. */
  private IOException failing;
  /** The last upload failed (read without {@link #space} by the write-back). */
  private volatile boolean storeFailing;
  /** Upload failures so far; guarded by {@link #space}. */
  private long failures;
  /** Uploads started and not ended (not under {@link #space}: started under a chunk's monitor). */
  private final AtomicInteger running = new AtomicInteger();
  /** Starts the uploads of chunks dirty for longer than {@link #writeBackNanos}. */
  private final java.util.concurrent.ScheduledExecutorService writeBack;
  private final long writeBackNanos;
  /** Attempts per chunk upload (the lease is checked before each). */
  static final int ATTEMPTS = 4;

  ChunkBuffer(String volume, long size, int chunkSize, BitSet stored, Store store,
      int concurrency, int maxChunks) {
    this(volume, size, chunkSize, stored, store, concurrency, maxChunks,
        java.time.Duration.ofSeconds(2));
  }

  /**
   * @param writeBack how long a chunk may stay dirty before it is uploaded without a flush
   */
  ChunkBuffer(String volume, long size, int chunkSize, BitSet stored, Store store,
      int concurrency, int maxChunks, java.time.Duration writeBack) {
    this.volume = volume;
    this.size = size;
    this.chunkSize = chunkSize;
    this.stored = stored;
    this.store = store;
    this.maxChunks = maxChunks;
    this.concurrency = concurrency;
    this.highWater = Math.max(1, maxChunks / 2);
    this.lowWater = Math.max(0, maxChunks / 4);
    this.maxPrefetch = Math.max(1, Math.min(concurrency, maxChunks / 2));
    this.maxSpare = Math.max(1, maxChunks / 4);
    AtomicInteger n = new AtomicInteger();
    this.uploaders = Executors.newFixedThreadPool(concurrency, r -> {
      Thread t = new Thread(r, "pairkit-s3-upload-" + volume + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    AtomicInteger f = new AtomicInteger();
    this.fetchers = Executors.newFixedThreadPool(concurrency, r -> {
      Thread t = new Thread(r, "pairkit-s3-readahead-" + volume + "-" + f.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    this.writeBackNanos = writeBack.toNanos();
    this.writeBack = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "pairkit-s3-writeback-" + volume);
      t.setDaemon(true);
      return t;
    });
    long period = Math.max(50, writeBack.toMillis() / 2);
    this.writeBack.scheduleWithFixedDelay(this::writeBackOld, period, period,
        TimeUnit.MILLISECONDS);
  }

  /** Starts the uploads of chunks that have been dirty for longer than the write-back time. */
  private void writeBackOld() {
    if (storeFailing) {
      return; // the next flush, or a writer needing room, tries again
    }
    long now = System.nanoTime();
    for (Chunk c : chunks.values()) {
      synchronized (c) {
        if (!c.evicted && c.dirty() && c.upload == null && now - c.dirtySince >= writeBackNanos) {
          startUpload(c);
        }
      }
    }
  }

  /** A new version of {@code c}; the caller holds its monitor. */
  private void changed(Chunk c) {
    if (!c.dirty()) {
      c.dirtySince = System.nanoTime();
      dirty.incrementAndGet();
    }
    c.version++;
    if (c.prefetched) { // written: no longer a read-ahead entry waiting for its reader
      c.prefetched = false;
      prefetched.decrementAndGet();
    }
  }

  private int lengthOf(long index) {
    return (int) Math.min(chunkSize, size - index * chunkSize);
  }

  boolean isStored(long index) {
    synchronized (stored) {
      return stored.get((int) index);
    }
  }

  private void setStored(long index, boolean value) {
    synchronized (stored) {
      stored.set((int) index, value);
    }
  }

  /** Uploads started so far (tests and benchmarks count them). */
  int uploadsStarted() {
    return uploadsStarted.get();
  }

  /** Read-ahead fetches started so far (tests count them). */
  int prefetchesStarted() {
    return prefetchesStarted.get();
  }

  /** Entries in memory (at most {@code maxChunks}). */
  int entries() {
    synchronized (space) {
      return entries;
    }
  }

  /** Entries fetched ahead and not read yet (at most {@link #maxPrefetch()}). */
  int prefetchedUnread() {
    return prefetched.get();
  }

  /** How many entries read-ahead may hold that were not read yet. */
  int maxPrefetch() {
    return maxPrefetch;
  }

  /** How many entries the buffer holds at most. */
  int maxChunks() {
    return maxChunks;
  }

  // ---- writes ----

  /**
   * Writes {@code src} at {@code offset} inside chunk {@code index} (zeros when {@code src} is
   * null: {@code length} bytes).
   */
  void write(long index, int offset, ByteBuffer src, int length) throws IOException {
    for (;;) {
      Chunk c = entry(index);
      synchronized (c) {
        if (c.evicted) {
          continue;
        }
        if (src == null && c.zero) {
          return; // zeros over zeros
        }
        ownData(c);
        if (src == null) {
          java.util.Arrays.fill(c.data, offset, offset + length, (byte) 0);
          c.partDiscarded = true;
        } else {
          src.get(c.data, offset, length);
        }
        Range<Integer> r = Range.closedOpen(offset, offset + length);
        if (c.valid != null) {
          c.valid.add(r);
          if (c.valid.encloses(Range.closedOpen(0, c.length))) {
            c.valid = null;
          }
        }
        if (c.written != null) {
          c.written.add(r);
          if (c.written.encloses(Range.closedOpen(0, c.length))) {
            c.written = null;
          }
        }
        changed(c);
        c.lastUse = clock.incrementAndGet();
        if (c.written == null && c.upload == null) {
          startUpload(c);
        }
      }
      writeBackUnderPressure(); // outside the monitor: it takes other entries' monitors
      return;
    }
  }

  /** Makes the whole chunk {@code index} read as zeros; stored as a DELETE. */
  void discardWhole(long index) throws IOException {
    for (;;) {
      Chunk existing = chunks.get(index);
      if (existing == null && !isStored(index)) {
        return; // never stored, not in memory: already zeros
      }
      Chunk c = existing != null ? existing : entry(index);
      synchronized (c) {
        if (c.evicted) {
          continue;
        }
        if (!c.shared) {
          giveArray(c.data); // else the upload in flight still sends it, and gives it back
        }
        c.data = null;
        c.shared = false;
        c.zero = true;
        c.valid = null;
        c.written = null;
        changed(c);
        if (c.upload == null) {
          startUpload(c);
        }
        return;
      }
    }
  }

  /** Gives the entry an array of its own, all zeros where it holds nothing yet. */
  private void ownData(Chunk c) {
    if (c.data == null) {
      c.data = takeArray(c.length, true);
      c.shared = false;
    } else if (c.shared) {
      byte[] copy = takeArray(c.length, false);
      System.arraycopy(c.data, 0, copy, 0, c.length);
      c.data = copy;
      c.shared = false;
    }
    if (c.zero) {
      c.zero = false; // the zeros of a fresh array are its content
      c.valid = null;
    }
  }

  /**
   * An array for a chunk of {@code length} bytes: a spare one if there is (whole chunks only),
   * zeroed if asked, else a new one.
   */
  private byte[] takeArray(int length, boolean zeroed) {
    if (length == chunkSize) {
      byte[] a = spare.pollFirst();
      if (a != null) {
        spareCount.decrementAndGet();
        if (zeroed) {
          java.util.Arrays.fill(a, (byte) 0);
        }
        return a;
      }
    }
    return new byte[length];
  }

  /**
   * Keeps an array nothing refers to any more for the next entry, up to {@link #maxSpare}: a
   * chunk array is a humongous object to the G1 collector, and allocating one per chunk read
   * ahead or written made the collector run marking cycles back to back (a fifth more CPU on a
   * sequential read, measured).
   */
  private void giveArray(byte[] a) {
    if (a != null && a.length == chunkSize && spareCount.incrementAndGet() <= maxSpare) {
      spare.offerFirst(a);
    } else if (a != null && a.length == chunkSize) {
      spareCount.decrementAndGet();
    }
  }

  /** The entry of chunk {@code index}, made (within the memory bound) if there is none. */
  private Chunk entry(long index) throws IOException {
    Chunk c = chunks.get(index);
    if (c != null) {
      return c;
    }
    reserve();
    Chunk made = new Chunk(index, lengthOf(index));
    made.lastUse = clock.incrementAndGet(); // not the first victim of eviction
    Chunk raced = chunks.putIfAbsent(index, made);
    if (raced != null) {
      unreserve();
      return raced;
    }
    return made;
  }

  /**
   * Waits for room for one more entry. Writers get room in arrival order: only the longest
   * waiting one takes an entry, evicting the least recently used clean one; if there is none, it
   * makes sure uploads are in flight (the least recently used dirty chunks) and waits for one to
   * end. Throws only if an upload failed after this writer began waiting and no upload is in
   * flight any more (so none can make room); a store that recovers makes room again at the next
   * call.
   */
  private void reserve() throws IOException {
    synchronized (space) {
      if (roomQueue.isEmpty() && entries < maxChunks) {
        entries++;
        return;
      }
      Object me = new Object();
      roomQueue.addLast(me);
      Runnable hook = roomWaitHook;
      if (hook != null) {
        hook.run();
      }
      long failuresBefore = failures;
      try {
        for (;;) {
          if (roomQueue.peekFirst() == me) {
            if (entries < maxChunks) {
              entries++;
              return;
            }
            if (evictOne(false)) {
              continue;
            }
            if (failures != failuresBefore && running.get() == 0 && failing != null) {
              String msg = "volume '" + volume + "': the write buffer is full (" + maxChunks
                  + " chunks) and uploads fail: " + failing.getMessage() + "; writes can go on "
                  + "once the store answers again";
              throw failing instanceof TransientIOException
                  ? new TransientIOException(msg, failing) : new IOException(msg, failing);
            }
            if (failures == failuresBefore) {
              // After a failure, only wait for the uploads in flight, then throw.
              startLeastRecentlyUsedUploads(concurrency - running.get());
            }
          }
          try {
            space.wait(1000);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("volume '" + volume + "': interrupted while "
                + "waiting for room in the write buffer");
          }
        }
      } finally {
        roomQueue.remove(me);
        space.notifyAll(); // the next in line, if room is left
      }
    }
  }

  /**
   * Takes room for a read-ahead entry without waiting: never while writers wait, and evicting
   * only entries that are not read-ahead entries still waiting for their reader.
   *
   * @return false if there is no room now
   */
  private boolean tryReserve() {
    synchronized (space) {
      if (!roomQueue.isEmpty()) {
        return false;
      }
      while (entries >= maxChunks) {
        if (!evictOne(true)) {
          return false;
        }
      }
      entries++;
      return true;
    }
  }

  private void unreserve() {
    synchronized (space) {
      entries--;
      space.notifyAll();
    }
  }

  /**
   * Drops the least recently used entry that is stored and neither being uploaded nor loading;
   * the caller holds {@link #space}.
   *
   * @param spareUnread leave read-ahead entries that were not read yet
   * @return false if there is none
   */
  private boolean evictOne(boolean spareUnread) {
    Chunk best = null;
    long bestUse = Long.MAX_VALUE;
    for (Chunk c : chunks.values()) {
      synchronized (c) {
        if (evictable(c) && !(spareUnread && c.prefetched) && c.lastUse < bestUse) {
          best = c;
          bestUse = c.lastUse;
        }
      }
    }
    if (best == null) {
      return false;
    }
    synchronized (best) {
      if (!evictable(best)) {
        return true; // changed meanwhile: look again
      }
      best.evicted = true;
      giveArray(best.data); // stored and not being uploaded: only the entry refers to it
      best.data = null;
      if (best.prefetched) {
        best.prefetched = false;
        prefetched.decrementAndGet();
      }
      chunks.remove(best.index, best);
    }
    entries--;
    return true;
  }

  /** The caller holds {@code c}'s monitor. */
  private static boolean evictable(Chunk c) {
    return !c.evicted && !c.dirty() && c.upload == null && c.loading == null;
  }

  /**
   * Write-back before the buffer is full: once more than {@link #highWater} entries are dirty
   * and not being uploaded, uploads the least recently used of them, down to {@link #lowWater}
   * and never more than {@code concurrency} uploads in flight. Cheap when there is nothing to do
   * (two counters); one thread chooses at a time, the others go on.
   */
  private void writeBackUnderPressure() {
    if (storeFailing) {
      return; // a writer needing room, the timer or a flush tries again
    }
    int inFlight = running.get();
    int idle = dirty.get() - inFlight;
    if (idle <= highWater || inFlight >= concurrency) {
      return;
    }
    if (!choosing.compareAndSet(false, true)) {
      return;
    }
    try {
      startLeastRecentlyUsedUploads(Math.min(concurrency - inFlight, idle - lowWater));
    } finally {
      choosing.set(false);
    }
  }

  /**
   * Starts uploads of up to {@code n} dirty chunks not being uploaded, least recently used first
   * (those are the least likely to be written again during their upload, which would leave
   * them dirty and so not evictable), while fewer than {@code concurrency} uploads run.
   */
  private void startLeastRecentlyUsedUploads(int n) {
    if (n <= 0) {
      return;
    }
    List<Chunk> idle = new ArrayList<>();
    List<Long> uses = new ArrayList<>();
    for (Chunk c : chunks.values()) {
      synchronized (c) {
        if (!c.evicted && c.dirty() && c.upload == null) {
          idle.add(c);
          uses.add(c.lastUse);
        }
      }
    }
    Integer[] order = new Integer[idle.size()];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    java.util.Arrays.sort(order, java.util.Comparator.comparingLong(uses::get));
    int started = 0;
    for (Integer i : order) {
      if (started >= n || running.get() >= concurrency) {
        return;
      }
      Chunk c = idle.get(i);
      synchronized (c) {
        if (!c.evicted && c.dirty() && c.upload == null) {
          startUpload(c);
          started++;
        }
      }
    }
  }

  // ---- uploads ----

  /** Starts an upload of {@code c}'s current version; the caller holds {@code c}'s monitor. */
  private void startUpload(Chunk c) {
    CompletableFuture<Void> f = new CompletableFuture<>();
    c.upload = f;
    uploadsStarted.incrementAndGet();
    running.incrementAndGet();
    try {
      uploaders.execute(() -> upload(c, f));
    } catch (java.util.concurrent.RejectedExecutionException e) {
      running.decrementAndGet();
      c.upload = null;
      f.completeExceptionally(new IOException("volume '" + volume + "' is closed"));
      return;
    }
  }

  private void upload(Chunk c, CompletableFuture<Void> f) {
    Throwable failure = null;
    byte[] data = null;
    try {
      loadBase(c);
      long version;
      synchronized (c) {
        version = c.version;
        data = c.data;
        if (data != null && c.partDiscarded) {
          c.partDiscarded = false;
          if (allZero(data)) {
            data = null; // discarded down to zeros: a DELETE, not a PUT of zeros
          }
        }
        c.shared = data != null;
        c.written = TreeRangeSet.create(); // writes from now on count towards the next upload
      }
      for (int attempt = 1; ; attempt++) {
        try {
          if (data == null) {
            store.delete(c.index);
            setStored(c.index, false);
          } else {
            store.put(c.index, data, c.length);
            setStored(c.index, true);
          }
          break;
        } catch (TransientIOException e) {
          if (attempt >= ATTEMPTS) {
            throw e;
          }
          // Back off (100, 200, 400 ms, jittered); the store re-checks the lease each attempt.
          Thread.sleep((50L << attempt) + java.util.concurrent.ThreadLocalRandom.current()
              .nextLong(50L << attempt));
        }
      }
      synchronized (c) {
        if (c.data == data) {
          c.shared = false;
        }
        boolean wasDirty = c.dirty();
        c.storedVersion = Math.max(c.storedVersion, version);
        if (wasDirty && !c.dirty()) {
          dirty.decrementAndGet();
        }
      }
    } catch (Throwable e) {
      failure = e;
    } finally {
      // Whatever happened (an Error included), the future completes and the entry is free.
      IOException io = failure == null ? null : failure instanceof IOException ioe ? ioe
          : failure instanceof InterruptedException
          ? new InterruptedIOException("volume '" + volume + "': upload of chunk " + c.index
              + " interrupted")
          : new IOException("volume '" + volume + "': upload of chunk " + c.index + " failed: "
              + failure, failure);
      synchronized (c) {
        if (io != null) {
          c.shared = false;
        } else if (data != null && c.data != data) {
          giveArray(data); // the entry moved on to a copy (or was discarded): nobody refers to it
        }
        c.upload = null;
        if (io == null && c.dirty() && c.written == null) {
          startUpload(c); // rewritten whole while it was uploading
        }
      }
      running.decrementAndGet();
      synchronized (space) {
        if (io == null) {
          failing = null;
        } else {
          failing = io;
          failures++;
        }
        storeFailing = io != null;
        space.notifyAll(); // a clean entry may now make room
      }
      if (io == null) {
        f.complete(null);
      } else {
        f.completeExceptionally(io);
      }
      if (failure instanceof Error err) {
        throw err;
      }
      writeBackUnderPressure(); // keep the uploads going while the buffer is past its mark
    }
  }

  /**
   * Makes every byte of {@code c} known in memory: the bytes never written are read from the
   * stored chunk, or are zeros if there is none. Called without the monitor. One fetch per entry
   * at a time: a caller that finds one in progress (a read-ahead, another reader, an upload)
   * waits for it instead of sending its own request.
   */
  private void loadBase(Chunk c) throws IOException {
    CompletableFuture<Void> mine;
    for (;;) {
      CompletableFuture<Void> other;
      synchronized (c) {
        if (c.fullyValid() || c.zero) {
          return;
        }
        if (!isStored(c.index)) {
          c.valid = null; // the array's zeros are the base
          return;
        }
        other = c.loading;
        if (other == null) {
          mine = new CompletableFuture<>();
          c.loading = mine;
          break;
        }
      }
      awaitQuietly(other); // if it failed, this caller fetches itself (and reports its failure)
    }
    fetchBase(c, mine);
  }

  /**
   * Reads the stored chunk of {@code c} whole and fills what {@code c} does not hold yet;
   * completes {@code loading}, the caller's mark in {@code c.loading}, either way.
   */
  private void fetchBase(Chunk c, CompletableFuture<Void> loading) throws IOException {
    try {
      ByteBuffer base = ByteBuffer.wrap(takeArray(c.length, false));
      store.readStored(c.index, 0, base);
      boolean adopted = false;
      synchronized (c) {
        if (!c.fullyValid() && !c.zero) {
          if (c.data == null) {
            c.data = base.array(); // nothing written yet: the fetched array is the entry's
            c.shared = false;
            adopted = true;
          } else {
            ownData(c);
            for (Range<Integer> gap : c.valid.complement()
                .subRangeSet(Range.closedOpen(0, c.length)).asRanges()) {
              int from = gap.lowerEndpoint();
              int to = gap.upperEndpoint();
              System.arraycopy(base.array(), from, c.data, from, to - from);
            }
          }
          c.valid = null;
        }
        c.loading = null;
      }
      if (!adopted) {
        giveArray(base.array());
      }
      loading.complete(null);
    } catch (Throwable t) {
      synchronized (c) {
        c.loading = null;
      }
      loading.completeExceptionally(t);
      throw t;
    }
  }

  /** Waits for {@code f} to end, whatever its outcome. */
  private void awaitQuietly(CompletableFuture<Void> f) throws InterruptedIOException {
    try {
      f.get();
    } catch (ExecutionException e) {
      // the caller looks again and goes its own way
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("volume '" + volume + "': interrupted while waiting for "
          + "a chunk to be read from the store");
    }
  }

  // ---- read-ahead ----

  /**
   * Starts fetching stored chunk {@code index} whole into a clean entry in the background, so the
   * reads of it that follow are served from memory. Does nothing for a chunk in memory or not
   * stored (it reads as zeros without a request).
   *
   * @return false if it could not start the fetch now: {@link #maxPrefetch} entries wait for
   *     their readers already, or there is no room without waiting (the caller stops reading
   *     ahead for now); true otherwise
   */
  boolean prefetch(long index) {
    if (chunks.containsKey(index) || !isStored(index)) {
      return true;
    }
    for (;;) {
      int n = prefetched.get();
      if (n >= maxPrefetch) {
        return false;
      }
      if (prefetched.compareAndSet(n, n + 1)) {
        break;
      }
    }
    if (!tryReserve()) {
      prefetched.decrementAndGet();
      return false;
    }
    Chunk made = new Chunk(index, lengthOf(index));
    made.lastUse = clock.incrementAndGet();
    made.prefetched = true;
    CompletableFuture<Void> f = new CompletableFuture<>();
    made.loading = f; // before it is published: readers wait for this fetch
    if (chunks.putIfAbsent(index, made) != null) {
      prefetched.decrementAndGet();
      unreserve();
      return true;
    }
    prefetchesStarted.incrementAndGet();
    try {
      fetchers.execute(() -> prefetched(made, f));
    } catch (java.util.concurrent.RejectedExecutionException e) {
      dropFailedPrefetch(made, f, new IOException("volume '" + volume + "' is closed"));
    }
    return true;
  }

  /** The read-ahead fetch of {@code c}, on a read-ahead thread. */
  private void prefetched(Chunk c, CompletableFuture<Void> f) {
    try {
      fetchBase(c, f);
    } catch (Throwable t) {
      // Its reader reads the store itself and reports the failure; nothing is lost here.
      dropFailedPrefetch(c, f, t);
      if (t instanceof Error e) {
        throw e;
      }
    }
  }

  /** Removes a read-ahead entry whose fetch failed, unless it was written meanwhile. */
  private void dropFailedPrefetch(Chunk c, CompletableFuture<Void> f, Throwable why) {
    boolean dropped = false;
    synchronized (c) {
      if (c.loading == f) {
        c.loading = null;
      }
      if (c.prefetched) {
        c.prefetched = false;
        prefetched.decrementAndGet();
      }
      if (evictable(c) && c.data == null && !c.zero) {
        c.evicted = true;
        chunks.remove(c.index, c);
        dropped = true;
      }
    }
    if (dropped) {
      unreserve();
    }
    f.completeExceptionally(why);
  }

  // ---- reads ----

  /** Reads {@code dst.remaining()} bytes of chunk {@code index} from {@code offset}. */
  void read(long index, int offset, ByteBuffer dst) throws IOException {
    int n = dst.remaining();
    for (;;) {
      Chunk c = chunks.get(index);
      if (c == null) {
        if (isStored(index)) {
          store.readStored(index, offset, dst);
        } else {
          zeros(dst, n);
        }
        return;
      }
      CompletableFuture<Void> loading = null;
      synchronized (c) {
        if (c.evicted) {
          continue;
        }
        c.lastUse = clock.incrementAndGet();
        if (c.prefetched) { // its reader came: read-ahead may fetch one more
          c.prefetched = false;
          prefetched.decrementAndGet();
        }
        if (c.zero) {
          zeros(dst, n);
          return;
        }
        if (c.data != null && (c.fullyValid()
            || c.valid.encloses(Range.closedOpen(offset, offset + n)) || !isStored(index))) {
          dst.put(c.data, offset, n);
          return;
        }
        if (c.loading != null) {
          loading = c.loading; // being fetched whole: wait rather than ask the store again
        } else if (c.data == null) { // made by a writer that has not written yet
          if (!isStored(index)) {
            zeros(dst, n);
            return;
          }
          c = null;
        }
      }
      if (loading != null) {
        awaitQuietly(loading);
        continue;
      }
      if (c == null) {
        store.readStored(index, offset, dst);
        return;
      }
      loadBase(c);
    }
  }

  private static boolean allZero(byte[] data) {
    for (byte b : data) {
      if (b != 0) {
        return false;
      }
    }
    return true;
  }

  private static void zeros(ByteBuffer dst, int n) {
    for (int i = 0; i < n; i++) {
      dst.put((byte) 0);
    }
  }

  /** Whether chunk {@code index} may hold non-zero bytes (for {@code allocated}). */
  boolean mayHoldData(long index) {
    Chunk c = chunks.get(index);
    if (c != null) {
      synchronized (c) {
        if (!c.evicted) {
          return !c.zero;
        }
      }
    }
    return isStored(index);
  }

  // ---- flush and close ----

  /**
   * Returns once every change made before the call is stored: starts the uploads of all dirty
   * chunks, waits for them (and for those already in flight), and repeats for a chunk changed
   * again during its upload.
   *
   * @throws IOException the first upload failure; the chunks that failed stay dirty
   */
  void flush() throws IOException {
    List<Chunk> todo = new ArrayList<>();
    List<Long> targets = new ArrayList<>();
    List<CompletableFuture<Void>> started = new ArrayList<>();
    for (Chunk c : chunks.values()) {
      synchronized (c) {
        if (!c.evicted && (c.dirty() || c.upload != null)) {
          todo.add(c);
          targets.add(c.version);
          if (c.upload == null) {
            startUpload(c);
          }
          started.add(c.upload);
        }
      }
    }
    IOException first = null;
    for (int i = 0; i < todo.size(); i++) {
      Chunk c = todo.get(i);
      long target = targets.get(i);
      // The upload in flight or started above; one that fails is not started again here (a
      // store that is down would cost every chunk its attempts twice).
      CompletableFuture<Void> known = started.get(i);
      for (;;) {
        CompletableFuture<Void> f;
        synchronized (c) {
          if (c.storedVersion >= target) {
            break;
          }
          if (known != null) {
            f = known;
            known = null;
          } else {
            if (c.upload == null) {
              startUpload(c);
            }
            f = c.upload;
          }
        }
        if (f == null) { // the upload threads are shut down
          throw new IOException("volume '" + volume + "' is closed: chunk " + c.index
              + " not stored");
        }
        try {
          f.get();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("volume '" + volume + "': flush interrupted");
        } catch (ExecutionException e) {
          if (first == null) {
            first = e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
          }
          break;
        }
      }
    }
    if (first != null) {
      throw first;
    }
  }

  /** Chunks changed but not yet stored. */
  int dirtyChunks() {
    int n = 0;
    for (Chunk c : chunks.values()) {
      synchronized (c) {
        if (!c.evicted && c.dirty()) {
          n++;
        }
      }
    }
    return n;
  }

  /**
   * Stops the upload threads after the uploads in flight; no upload starts afterwards.
   *
   * @return whether every upload thread has ended (none can still store a chunk)
   */
  boolean close(java.time.Duration wait) {
    writeBack.shutdownNow();
    fetchers.shutdownNow(); // a fetch in flight only fills memory; nobody reads it any more
    uploaders.shutdown();
    try {
      if (!uploaders.awaitTermination(wait.toMillis(), TimeUnit.MILLISECONDS)) {
        uploaders.shutdownNow();
        return uploaders.awaitTermination(1, TimeUnit.SECONDS);
      }
      return true;
    } catch (InterruptedException e) {
      uploaders.shutdownNow();
      Thread.currentThread().interrupt();
      return false;
    }
  }
}
