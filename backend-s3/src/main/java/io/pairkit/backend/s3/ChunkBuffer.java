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
 * to the store, so a small write costs no read-modify-write of its chunk.
 *
 * <p>How it works:
 * <ul>
 *   <li>A chunk that is written gets an entry holding its bytes and the ranges known in memory.
 *       Bytes never written are read from the stored chunk (the <em>base</em>) only when they are
 *       needed: when the chunk is uploaded without having been written whole, or read there. A
 *       chunk that is not stored has zeros as its base and costs no request at all.
 *   <li>A chunk written whole (a copy's run, a discard of the whole chunk) is uploaded at once, in
 *       the background, on up to {@code concurrency} threads (and the store bounds requests in
 *       flight by the same number), so a copy keeps the link busy. Other dirty chunks wait for
 *       {@link #flush}, for the write-back time (about 2 s dirty), or for memory pressure: at
 *       most {@code maxChunks} entries exist, and a writer that needs one more starts uploads
 *       and waits for one to finish.
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
 * Thread-safe.
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
  private final ConcurrentHashMap<Long, Chunk> chunks = new ConcurrentHashMap<>();
  /** Chunks that exist in the store (as far as this volume knows; it is the only writer). */
  private final BitSet stored;
  private final ExecutorService uploaders;
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
    AtomicInteger n = new AtomicInteger();
    this.uploaders = Executors.newFixedThreadPool(concurrency, r -> {
      Thread t = new Thread(r, "pairkit-s3-upload-" + volume + "-" + n.incrementAndGet());
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

  private void changed(Chunk c) {
    if (!c.dirty()) {
      c.dirtySince = System.nanoTime();
    }
    c.version++;
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
        return;
      }
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
  private static void ownData(Chunk c) {
    if (c.data == null) {
      c.data = new byte[c.length];
      c.shared = false;
    } else if (c.shared) {
      c.data = c.data.clone();
      c.shared = false;
    }
    if (c.zero) {
      c.zero = false; // the zeros of a fresh array are its content
      c.valid = null;
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
   * Waits for room for one more entry, starting uploads on every pass. Throws only if an upload
   * failed after this writer began waiting and no upload is in flight any more (so none can
   * make room); a store that recovers makes room again at the next call.
   */
  private void reserve() throws IOException {
    synchronized (space) {
      long failuresBefore = failures;
      while (entries >= maxChunks) {
        if (evictOne()) {
          continue;
        }
        if (failures != failuresBefore && running.get() == 0 && failing != null) {
          String msg = "volume '" + volume + "': the write buffer is full (" + maxChunks
              + " chunks) and uploads fail: " + failing.getMessage();
          throw failing instanceof TransientIOException
              ? new TransientIOException(msg, failing) : new IOException(msg, failing);
        }
        if (failures == failuresBefore) {
          startSomeUploads(); // after a failure, only wait for those in flight, then throw
        }
        try {
          space.wait(1000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("volume '" + volume + "': interrupted while waiting "
              + "for the write buffer");
        }
      }
      entries++;
    }
  }

  private void unreserve() {
    synchronized (space) {
      entries--;
      space.notifyAll();
    }
  }

  /**
   * Drops the least recently used entry that is stored and not being uploaded; the caller holds
   * {@link #space}.
   *
   * @return false if there is none
   */
  private boolean evictOne() {
    Chunk best = null;
    long bestUse = Long.MAX_VALUE;
    for (Chunk c : chunks.values()) {
      synchronized (c) {
        if (!c.evicted && !c.dirty() && c.upload == null && c.lastUse < bestUse) {
          best = c;
          bestUse = c.lastUse;
        }
      }
    }
    if (best == null) {
      return false;
    }
    synchronized (best) {
      if (best.evicted || best.dirty() || best.upload != null) {
        return true; // changed meanwhile: look again
      }
      best.evicted = true;
      chunks.remove(best.index, best);
    }
    entries--;
    return true;
  }

  /** Under memory pressure: uploads dirty chunks that are not being uploaded yet. */
  private void startSomeUploads() {
    for (Chunk c : chunks.values()) {
      synchronized (c) {
        if (!c.evicted && c.dirty() && c.upload == null) {
          startUpload(c);
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
    try {
      loadBase(c);
      byte[] data;
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
        c.storedVersion = Math.max(c.storedVersion, version);
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
    }
  }

  /**
   * Makes every byte of {@code c} known in memory: the bytes never written are read from the
   * stored chunk, or are zeros if there is none. Called without the monitor; at most once per
   * entry fetches.
   */
  private void loadBase(Chunk c) throws IOException {
    synchronized (c) {
      if (c.fullyValid() || c.zero) {
        return;
      }
      if (!isStored(c.index)) {
        c.valid = null; // the array's zeros are the base
        return;
      }
    }
    ByteBuffer base = ByteBuffer.allocate(c.length);
    store.readStored(c.index, 0, base);
    synchronized (c) {
      if (c.fullyValid() || c.zero) {
        return;
      }
      ownData(c);
      for (Range<Integer> gap : c.valid.complement().subRangeSet(Range.closedOpen(0, c.length))
          .asRanges()) {
        int from = gap.lowerEndpoint();
        int to = gap.upperEndpoint();
        System.arraycopy(base.array(), from, c.data, from, to - from);
      }
      c.valid = null;
    }
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
      synchronized (c) {
        if (c.evicted) {
          continue;
        }
        c.lastUse = clock.incrementAndGet();
        if (c.zero) {
          zeros(dst, n);
          return;
        }
        if (c.data == null) { // made by a writer that has not written yet
          if (!isStored(index)) {
            zeros(dst, n);
            return;
          }
          c = null;
        } else if (c.fullyValid() || c.valid.encloses(Range.closedOpen(offset, offset + n))
            || !isStored(index)) {
          dst.put(c.data, offset, n);
          return;
        }
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
