package io.pairkit.backend.s3;

import com.google.common.collect.RangeSet;
import com.google.common.collect.TreeRangeSet;
import java.util.concurrent.CompletableFuture;

/**
 * One chunk's entry in a {@link ChunkBuffer}: its bytes, which of them are known and which were
 * written, its version against the stored one, and the upload or base fetch in flight. Every
 * part of the buffer reads and changes this state, so it stands apart from all of them.
 *
 * <p>Threading: the mutable fields are guarded by the entry's own monitor ({@link #index} and
 * {@link #length} are final); the methods expect the caller to hold it.
 */
final class Chunk {
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
  /** When it was last read or written ({@link ChunkIndex#tick}): the least recent clean goes. */
  long lastUse;
  /** Nanotime it became dirty (for the time-based write-back); valid while dirty. */
  long dirtySince;
  /** The fetch of its base in progress, or null: whoever needs the base waits for it. */
  CompletableFuture<Void> loading;
  /** Made by read-ahead and not read or written since (counted in {@link ChunkIndex}). */
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

  /** Stored and neither being uploaded nor loading: it may leave memory. */
  boolean evictable() {
    return !evicted && !dirty() && upload == null && loading == null;
  }

  /** Gives the entry an array of its own, all zeros where it holds nothing yet. */
  void ownData(ArrayPool arrays) {
    if (data == null) {
      data = arrays.take(length, true);
      shared = false;
    } else if (shared) {
      byte[] copy = arrays.take(length, false);
      System.arraycopy(data, 0, copy, 0, length);
      data = copy;
      shared = false;
    }
    if (zero) {
      zero = false; // the zeros of a fresh array are its content
      valid = null;
    }
  }
}
