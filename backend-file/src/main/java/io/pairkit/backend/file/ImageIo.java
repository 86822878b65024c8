package io.pairkit.backend.file;

import com.google.common.collect.ContiguousSet;
import com.google.common.collect.DiscreteDomain;
import com.google.common.collect.Range;
import com.google.common.util.concurrent.Striped;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.Lock;

/**
 * Positional reads and writes of an image file, whole. With O_DIRECT the device takes only
 * aligned I/O from direct buffers, so anything else goes through an aligned bounce buffer, partial
 * blocks by read-modify-write; that alignment work is this class's reason to exist, apart from
 * the volume's range and state checks.
 *
 * <p>Threading: thread-safe. In direct mode, writes lock the {@link #LOCK_GRANULE} granules they
 * touch ({@link #blockLocks}, taken in stripe order as {@link Striped#bulkGet} gives them and
 * released in reverse), so a read-modify-write never loses a neighbour's bytes; reads take no
 * lock. Never interrupt a thread inside a call: the JDK then closes the channel.
 */
final class ImageIo {
  /** Direct-mode writes lock 64 KiB granules: one lock for a typical track-sized write. */
  private static final long LOCK_GRANULE = 64 * 1024;

  private final String name;
  private final Path path;
  private final long size;
  private final FileChannel channel;
  /** O_DIRECT block size, or 0 when I/O goes through the page cache. */
  private final int directBlock;
  /** Serialises read-modify-write of partial blocks in direct mode. */
  private final Striped<Lock> blockLocks;

  ImageIo(String name, Path path, long size, FileChannel channel, int directBlock) {
    this.name = name;
    this.path = path;
    this.size = size;
    this.channel = channel;
    this.directBlock = directBlock;
    this.blockLocks = directBlock > 0 ? Striped.lock(1024) : null;
  }

  /** Reads {@code dst.remaining()} bytes at {@code offset} (a range the caller checked). */
  void read(long offset, ByteBuffer dst) throws IOException {
    if (directBlock > 0 && !isAligned(offset, dst)) {
      readViaBounce(offset, dst);
      return;
    }
    readFully(offset, dst);
  }

  /** Writes {@code src.remaining()} bytes at {@code offset} (a range the caller checked). */
  void write(long offset, ByteBuffer src) throws IOException {
    if (directBlock > 0) {
      writeDirect(offset, src);
      return;
    }
    writeFully(offset, src);
  }

  private void readFully(long offset, ByteBuffer dst) throws IOException {
    long pos = offset;
    while (dst.hasRemaining()) {
      int n = channel.read(dst, pos);
      if (n < 0) {
        throw new EOFException("volume '" + name + "': image file " + path
            + " is shorter than its volume size " + size + " (truncated by another program?)");
      }
      pos += n;
    }
  }

  private void writeFully(long offset, ByteBuffer src) throws IOException {
    long pos = offset;
    while (src.hasRemaining()) {
      pos += channel.write(src, pos);
    }
  }

  private boolean isAligned(long offset, ByteBuffer buf) {
    return buf.isDirect() && offset % directBlock == 0 && buf.remaining() % directBlock == 0
        && buf.alignmentOffset(buf.position(), directBlock) == 0;
  }

  /** The block-aligned span around {@code [offset, offset + length)}. */
  private ByteBuffer bounce(long alignedStart, long alignedEnd) {
    return ByteBuffer.allocateDirect((int) (alignedEnd - alignedStart) + directBlock)
        .alignedSlice(directBlock).limit((int) (alignedEnd - alignedStart));
  }

  private void readViaBounce(long offset, ByteBuffer dst) throws IOException {
    int length = dst.remaining();
    long start = offset / directBlock * directBlock;
    long end = (offset + length + directBlock - 1) / directBlock * directBlock;
    ByteBuffer b = bounce(start, end);
    readFully(start, b);
    b.limit((int) (offset - start) + length).position((int) (offset - start));
    dst.put(b);
  }

  private void writeDirect(long offset, ByteBuffer src) throws IOException {
    int length = src.remaining();
    long start = offset / directBlock * directBlock;
    long end = (offset + length + directBlock - 1) / directBlock * directBlock;
    // Lock the granules touched, so a read-modify-write never loses a neighbour's bytes.
    List<Lock> locks = new ArrayList<>();
    long firstGranule = start / LOCK_GRANULE;
    long endGranule = (end - 1) / LOCK_GRANULE + 1;
    if (endGranule - firstGranule == 1) {
      locks.add(blockLocks.get(firstGranule));
    } else {
      blockLocks.bulkGet(ContiguousSet.create(Range.closedOpen(firstGranule, endGranule),
          DiscreteDomain.longs())).forEach(locks::add);
    }
    locks.forEach(Lock::lock);
    try {
      if (isAligned(offset, src)) {
        writeFully(offset, src);
        return;
      }
      ByteBuffer b = bounce(start, end);
      boolean partialHead = offset != start;
      boolean partialTail = offset + length != end;
      if (partialHead || partialTail) {
        readFully(start, b); // a whole-span read keeps this simple; spans are small here
        b.clear().limit((int) (end - start));
      }
      b.position((int) (offset - start));
      b.put(src);
      b.clear().limit((int) (end - start));
      writeFully(start, b);
    } finally {
      for (int i = locks.size() - 1; i >= 0; i--) {
        locks.get(i).unlock();
      }
    }
  }
}
