package io.pairkit.backend.s3;

import com.google.common.collect.Range;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

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
 *       failure leaves the stored chunk old or new. A failed upload (after {@link #ATTEMPTS}
 *       tries, the lease checked before each) leaves the entry dirty for the next flush; a writer
 *       waiting for room gets the failure if an upload failed after it began waiting and none is
 *       in flight any more, instead of waiting for ever, and the next writer starts uploads again
 *       (so a store that recovers needs no flush first).
 *   <li>Stored entries stay as a cache of recently used chunks until memory is needed (least
 *       recently used first); an entry leaves memory only once its last version is stored, and the
 *       set of stored chunks, listed at open, is updated before, so a reader that misses the
 *       entry finds the object.
 *   <li>Only one upload of a chunk is in flight at a time, so PUTs and DELETEs of one key land in
 *       the order of the versions they carry.
 * </ul>
 *
 * <p>This class serves reads, writes, discards and flushes and leaves the rest to its parts, one
 * job each: {@link Chunk} (an entry's state), {@link ChunkIndex} (the entries, the stored set and
 * the counters kept with them), {@link BufferRoom} (the memory bound, eviction, upload outcomes
 * for waiting writers), {@link Uploads} (upload threads and when uploads start),
 * {@link BaseLoader} (fetching an entry's base), {@link Prefetcher} (read-ahead) and
 * {@link ArrayPool} (spare chunk arrays).
 *
 * <p>Threading: thread-safe. Lock order: {@code space} (in {@link BufferRoom}) before a chunk's
 * monitor; nothing takes {@code space} while holding a chunk's monitor. Uploads run on the upload
 * threads, prefetches on the read-ahead threads, the time-based write-back on its own thread.
 */
final class ChunkBuffer {

  /** Attempts per chunk upload (the lease is checked before each). */
  static final int ATTEMPTS = Uploads.ATTEMPTS;

  private final String volume;
  private final ChunkStore store;
  private final int maxChunks;
  private final ChunkIndex chunks;
  private final ArrayPool arrays;
  private final BufferRoom room;
  private final BaseLoader bases;
  private final Prefetcher prefetcher;
  private final Uploads uploads;
  /** Run (holding {@code space}) when a writer starts waiting for room: tests order writers. */
  volatile Runnable roomWaitHook;

  ChunkBuffer(String volume, long size, int chunkSize, BitSet stored, ChunkStore store,
      int concurrency, int maxChunks) {
    this(volume, size, chunkSize, stored, store, concurrency, maxChunks, Duration.ofSeconds(2));
  }

  /**
   * @param writeBack how long a chunk may stay dirty before it is uploaded without a flush
   */
  ChunkBuffer(String volume, long size, int chunkSize, BitSet stored, ChunkStore store,
      int concurrency, int maxChunks, Duration writeBack) {
    this.volume = volume;
    this.store = store;
    this.maxChunks = maxChunks;
    this.chunks = new ChunkIndex(size, chunkSize, stored);
    this.arrays = new ArrayPool(chunkSize, Math.max(1, maxChunks / 4));
    this.room = new BufferRoom(volume, maxChunks, chunks, arrays, () -> roomWaitHook);
    this.bases = new BaseLoader(volume, store, chunks, arrays);
    this.prefetcher = new Prefetcher(volume, concurrency, maxChunks, chunks, room, bases);
    // Last: it starts the time-based write-back, which reads the parts above.
    this.uploads = new Uploads(volume, store, chunks, arrays, bases, room, concurrency, maxChunks,
        writeBack);
  }

  boolean isStored(long index) {
    return chunks.isStored(index);
  }

  /** Uploads started so far (tests and benchmarks count them). */
  int uploadsStarted() {
    return uploads.uploadsStarted();
  }

  /** Read-ahead fetches started so far (tests count them). */
  int prefetchesStarted() {
    return prefetcher.prefetchesStarted();
  }

  /** Entries in memory (at most {@code maxChunks}). */
  int entries() {
    return room.entries();
  }

  /** Entries fetched ahead and not read yet (at most {@link #maxPrefetch()}). */
  int prefetchedUnread() {
    return chunks.prefetchedUnread();
  }

  /** How many entries read-ahead may hold that were not read yet. */
  int maxPrefetch() {
    return prefetcher.maxPrefetch();
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
        c.ownData(arrays);
        if (src == null) {
          Arrays.fill(c.data, offset, offset + length, (byte) 0);
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
        chunks.changed(c);
        c.lastUse = chunks.tick();
        if (c.written == null && c.upload == null) {
          uploads.startUpload(c);
        }
      }
      uploads.writeBackUnderPressure(); // outside the monitor: it takes other entries' monitors
      return;
    }
  }

  /** Makes the whole chunk {@code index} read as zeros; stored as a DELETE. */
  void discardWhole(long index) throws IOException {
    for (;;) {
      Chunk existing = chunks.get(index);
      if (existing == null && !chunks.isStored(index)) {
        return; // never stored, not in memory: already zeros
      }
      Chunk c = existing != null ? existing : entry(index);
      synchronized (c) {
        if (c.evicted) {
          continue;
        }
        if (!c.shared) {
          arrays.give(c.data); // else the upload in flight still sends it, and gives it back
        }
        c.data = null;
        c.shared = false;
        c.zero = true;
        c.valid = null;
        c.written = null;
        chunks.changed(c);
        if (c.upload == null) {
          uploads.startUpload(c);
        }
        return;
      }
    }
  }

  /** The entry of chunk {@code index}, made (within the memory bound) if there is none. */
  private Chunk entry(long index) throws IOException {
    Chunk c = chunks.get(index);
    if (c != null) {
      return c;
    }
    room.reserve(uploads);
    Chunk made = new Chunk(index, chunks.lengthOf(index));
    made.lastUse = chunks.tick(); // not the first victim of eviction
    Chunk raced = chunks.putIfAbsent(index, made);
    if (raced != null) {
      room.unreserve();
      return raced;
    }
    return made;
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
    return prefetcher.prefetch(index);
  }

  // ---- reads ----

  /** Reads {@code dst.remaining()} bytes of chunk {@code index} from {@code offset}. */
  void read(long index, int offset, ByteBuffer dst) throws IOException {
    int n = dst.remaining();
    for (;;) {
      Chunk c = chunks.get(index);
      if (c == null) {
        if (chunks.isStored(index)) {
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
        c.lastUse = chunks.tick();
        // its reader came: read-ahead may fetch one more
        chunks.noLongerPrefetched(c);
        if (c.zero) {
          zeros(dst, n);
          return;
        }
        if (c.data != null && (c.fullyValid()
            || c.valid.encloses(Range.closedOpen(offset, offset + n))
            || !chunks.isStored(index))) {
          dst.put(c.data, offset, n);
          return;
        }
        if (c.loading != null) {
          loading = c.loading; // being fetched whole: wait rather than ask the store again
        } else if (c.data == null) { // made by a writer that has not written yet
          if (!chunks.isStored(index)) {
            zeros(dst, n);
            return;
          }
          c = null;
        }
      }
      if (loading != null) {
        bases.awaitQuietly(loading);
        continue;
      }
      if (c == null) {
        store.readStored(index, offset, dst);
        return;
      }
      bases.loadBase(c);
    }
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
    return chunks.isStored(index);
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
            uploads.startUpload(c);
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
              uploads.startUpload(c);
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
  boolean close(Duration wait) {
    uploads.stopWriteBack();
    prefetcher.close(); // a fetch in flight only fills memory; nobody reads it any more
    return uploads.close(wait);
  }
}
