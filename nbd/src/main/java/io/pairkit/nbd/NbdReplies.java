package io.pairkit.nbd;

import static io.pairkit.nbd.NbdProtocol.*;

import io.pairkit.api.Extent;
import io.pairkit.api.ExtentSet;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The replies of one connection's transmission phase: simple or structured (as negotiated),
 * each written whole under one lock, since the connection's workers answer requests in any
 * order (the client matches them by handle).
 */
final class NbdReplies {
  private final DataOutputStream out;
  private final boolean structured;
  private final Object writeLock = new Object();

  NbdReplies(DataOutputStream out, boolean structured) {
    this.out = out;
    this.structured = structured;
  }

  void ok(long handle) throws IOException {
    synchronized (writeLock) {
      if (structured) {
        structuredHeader(REPLY_FLAG_DONE, REPLY_TYPE_NONE, handle, 0);
      } else {
        simpleHeader(0, handle);
      }
      out.flush();
    }
  }

  void readReply(long handle, long offset, byte[] buf, int length) throws IOException {
    if (structured && length == 0) {
      ok(handle); // an OFFSET_DATA chunk must carry at least one byte
      return;
    }
    synchronized (writeLock) {
      if (structured) {
        structuredHeader(REPLY_FLAG_DONE, REPLY_TYPE_OFFSET_DATA, handle, 8 + length);
        out.writeLong(offset);
      } else {
        simpleHeader(0, handle);
      }
      out.write(buf, 0, length);
      out.flush();
    }
  }

  void error(long handle, int code, String message) throws IOException {
    synchronized (writeLock) {
      if (structured) {
        byte[] msg = message.getBytes(StandardCharsets.UTF_8);
        int len = Math.min(msg.length, 4096);
        structuredHeader(REPLY_FLAG_DONE, REPLY_TYPE_ERROR, handle, 6 + len);
        out.writeInt(code);
        out.writeShort(len);
        out.write(msg, 0, len);
      } else {
        simpleHeader(code, handle);
      }
      out.flush();
    }
  }

  /**
   * One context's block status chunk. For {@code base:allocation}, {@code set} is what may
   * hold data (the rest is a hole reading as zeros); for a dirty bitmap, what is dirty (flag
   * 1). {@code last}: the reply's final chunk.
   */
  void blockStatus(long handle, int contextId, long offset, long length,
      ExtentSet set, boolean allocation, boolean one, boolean last) throws IOException {
    long outside = allocation ? STATE_HOLE | STATE_ZERO : 0;
    long inside = allocation ? 0 : STATE_DIRTY;
    List<long[]> descriptors = new ArrayList<>(); // {length, flags}
    long at = offset;
    long end = offset + length;
    for (Extent x : set.extents()) {
      long start = Math.max(x.start(), offset);
      long stop = Math.min(x.end(), end);
      if (start >= stop) {
        continue;
      }
      if (start > at) {
        descriptors.add(new long[] {start - at, outside});
      }
      descriptors.add(new long[] {stop - start, inside});
      at = stop;
    }
    if (at < end) {
      descriptors.add(new long[] {end - at, outside});
    }
    // Descriptor lengths are 32-bit: split long ones.
    List<long[]> split = new ArrayList<>();
    for (long[] d : descriptors) {
      for (long left = d[0]; left > 0; ) {
        long piece = Math.min(left, 0x80000000L - 4096);
        split.add(new long[] {piece, d[1]});
        left -= piece;
      }
    }
    if (one && split.size() > 1) {
      split = split.subList(0, 1);
    } else if (split.size() > MAX_DESCRIPTORS) {
      split = split.subList(0, MAX_DESCRIPTORS); // a reply may cover less than was asked
    }
    synchronized (writeLock) {
      structuredHeader(last ? REPLY_FLAG_DONE : 0, REPLY_TYPE_BLOCK_STATUS, handle,
          4 + 8 * split.size());
      out.writeInt(contextId);
      for (long[] d : split) {
        out.writeInt((int) d[0]);
        out.writeInt((int) d[1]);
      }
      out.flush();
    }
  }

  private void simpleHeader(int error, long handle) throws IOException {
    out.writeInt(SIMPLE_REPLY_MAGIC);
    out.writeInt(error);
    out.writeLong(handle);
  }

  private void structuredHeader(int flags, int type, long handle, int length)
      throws IOException {
    out.writeInt(STRUCTURED_REPLY_MAGIC);
    out.writeShort(flags);
    out.writeShort(type);
    out.writeLong(handle);
    out.writeInt(length);
  }
}
