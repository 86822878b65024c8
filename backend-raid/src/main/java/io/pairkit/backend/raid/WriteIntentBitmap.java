package io.pairkit.backend.raid;

import java.io.IOException;
import java.util.BitSet;
import java.util.concurrent.locks.ReentrantLock;

/**
 * md's write-intent bitmap: one bit per bitmap chunk of rows, set durably on every live member
 * <em>before</em> a write to those rows starts, cleared lazily once the rows' writes are durable
 * and no write to them is in flight. After a crash, only rows under a set bit can have data and
 * parity (or mirror copies) that disagree, so assembly resynchronises those rows instead of the
 * whole array.
 *
 * <p>What it protects: a crash with every member present (the stripe is made consistent again
 * from the data before any read). A crash together with a member loss needs the partial parity
 * log as well ({@link PartialParityLog}).
 *
 * <p>Threading: thread-safe. Bit changes happen under this object's monitor; bitmap pages reach
 * the members under {@code pageLock}, each write carrying the in-memory bits of the moment, so a
 * page write never undoes a newer bit.
 */
final class WriteIntentBitmap {
  private static final int PAGE_BYTES = 4096;
  private static final int PAGE_BITS = PAGE_BYTES * 8;

  private final RaidGeometry geometry;
  private final MetadataWriter writer;
  private final int bits;
  private final int[] inFlight;
  private final long[] lastWriteEpoch;
  private final BitSet set = new BitSet();
  private final BitSet durable = new BitSet();
  private final ReentrantLock pageLock = new ReentrantLock();

  WriteIntentBitmap(RaidGeometry geometry, MetadataWriter writer) {
    this.geometry = geometry;
    this.writer = writer;
    this.bits = Math.toIntExact((geometry.rows + geometry.rowsPerBit - 1) / geometry.rowsPerBit);
    this.inFlight = new int[bits];
    this.lastWriteEpoch = new long[bits];
  }

  /** Dirty rows recorded in a member's bitmap bytes, as bit numbers. */
  static BitSet decode(byte[] onDisk) {
    return BitSet.valueOf(onDisk);
  }

  int bits() {
    return bits;
  }

  /** Marks rows {@code [firstRow, lastRow]} as being written; returns once the bits are durable. */
  void begin(long firstRow, long lastRow) throws IOException {
    int from = (int) geometry.bitOf(firstRow);
    int to = (int) geometry.bitOf(lastRow);
    boolean persist = false;
    synchronized (this) {
      for (int b = from; b <= to; b++) {
        inFlight[b]++;
        set.set(b);
        if (!durable.get(b)) {
          persist = true;
        }
      }
    }
    if (persist) {
      try {
        persist(from, to);
      } catch (IOException | RuntimeException e) {
        end(firstRow, lastRow, 0);
        throw e;
      }
    }
  }

  /** The write to rows {@code [firstRow, lastRow]} completed during {@code epoch}. */
  synchronized void end(long firstRow, long lastRow, long epoch) {
    int from = (int) geometry.bitOf(firstRow);
    int to = (int) geometry.bitOf(lastRow);
    for (int b = from; b <= to; b++) {
      inFlight[b]--;
      lastWriteEpoch[b] = Math.max(lastWriteEpoch[b], epoch);
    }
  }

  private void persist(int from, int to) throws IOException {
    pageLock.lock();
    try {
      int firstPage = from / PAGE_BITS;
      int lastPage = to / PAGE_BITS;
      for (int page = firstPage; page <= lastPage; page++) {
        byte[] bytes;
        BitSet written;
        synchronized (this) {
          boolean allDurable = true;
          for (int b = Math.max(from, page * PAGE_BITS); b <= Math.min(to, page * PAGE_BITS
              + PAGE_BITS - 1); b++) {
            if (!durable.get(b)) {
              allDurable = false;
              break;
            }
          }
          if (allDurable) {
            continue;
          }
          written = set.get(page * PAGE_BITS, page * PAGE_BITS + PAGE_BITS);
          bytes = pageBytes(written);
        }
        writer.writeToLiveMembers(RaidGeometry.BITMAP_OFFSET + (long) page * PAGE_BYTES, bytes,
            true);
        synchronized (this) {
          for (int b = written.nextSetBit(0); b >= 0; b = written.nextSetBit(b + 1)) {
            durable.set(page * PAGE_BITS + b);
          }
        }
      }
    } finally {
      pageLock.unlock();
    }
  }

  private static byte[] pageBytes(BitSet pageBits) {
    byte[] bytes = new byte[PAGE_BYTES];
    byte[] packed = pageBits.toByteArray();
    System.arraycopy(packed, 0, bytes, 0, packed.length);
    return bytes;
  }

  /**
   * Clears the bits whose rows have no write in flight and whose last write completed by
   * {@code durableEpoch} (the caller flushed the members up to it). Writes the changed pages
   * without a flush: a lost clear only means a needless resync.
   *
   * @return bits cleared
   */
  int clearIdle(long durableEpoch) throws IOException {
    pageLock.lock();
    try {
      BitSet changedPages = new BitSet();
      int cleared = 0;
      synchronized (this) {
        for (int b = set.nextSetBit(0); b >= 0; b = set.nextSetBit(b + 1)) {
          if (inFlight[b] == 0 && lastWriteEpoch[b] <= durableEpoch && durable.get(b)) {
            set.clear(b);
            durable.clear(b);
            changedPages.set(b / PAGE_BITS);
            cleared++;
          }
        }
      }
      for (int page = changedPages.nextSetBit(0); page >= 0;
          page = changedPages.nextSetBit(page + 1)) {
        byte[] bytes;
        synchronized (this) {
          bytes = pageBytes(set.get(page * PAGE_BITS, page * PAGE_BITS + PAGE_BITS));
        }
        writer.writeToLiveMembers(RaidGeometry.BITMAP_OFFSET + (long) page * PAGE_BYTES, bytes,
            false);
      }
      return cleared;
    } finally {
      pageLock.unlock();
    }
  }

  /** Bits set now (dirty chunks), for status and tests. */
  synchronized int dirtyBits() {
    return set.cardinality();
  }

  /** Writes an all-clear bitmap to every live member (after assembly resynchronised it). */
  void writeClear() throws IOException {
    pageLock.lock();
    try {
      synchronized (this) {
        set.clear();
        durable.clear();
      }
      byte[] zero = new byte[geometry.bitmapBytes];
      writer.writeToLiveMembers(RaidGeometry.BITMAP_OFFSET, zero, true);
    } finally {
      pageLock.unlock();
    }
  }
}
