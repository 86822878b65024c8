package io.pairkit.core.internal.metadata;

import io.pairkit.api.Extent;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.spi.Checksums;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.roaringbitmap.longlong.Roaring64Bitmap;

/**
 * The on-disk framing of every metadata record (docs/RELIABILITY.md has the format): a record is
 * {@code u32 length, u32 crc32c, u8 type, payload}, little-endian, where {@code length} counts the
 * type byte and the payload and the CRC covers the same bytes. A reader stops at the first record
 * that is short (a torn tail) or whose CRC does not match, and says which. The checksum is
 * {@link Checksums}', as for a RAID member's superblocks and partial parity log.
 */
final class RecordCodec {
  static final int HEADER_BYTES = 8;
  /** Largest record accepted when reading: a corrupt length never allocates more. */
  static final int MAX_RECORD = 256 << 20;

  private RecordCodec() {
  }

  static byte[] frame(int type, byte[] payload) {
    ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES + 1 + payload.length)
        .order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(1 + payload.length).putInt(0).put((byte) type).put(payload);
    b.putInt(4, Checksums.crc32c(b.array(), HEADER_BYTES, 1 + payload.length));
    return b.array();
  }

  /** One record read back. */
  record Frame(int type, byte[] payload, long offset, long end) {
  }

  /** What reading a file found: its whole records and why it stopped, if before the end. */
  record Scan(List<Frame> frames, long validBytes, String stoppedBecause) {
    boolean clean() {
      return stoppedBecause == null;
    }
  }

  static Scan scan(byte[] file) {
    List<Frame> frames = new ArrayList<>();
    ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
    while (b.remaining() > 0) {
      long offset = b.position();
      if (b.remaining() < HEADER_BYTES + 1) {
        return new Scan(frames, offset, "a torn record header at byte " + offset);
      }
      int length = b.getInt();
      int crc = b.getInt();
      if (length < 1 || length > MAX_RECORD) {
        return new Scan(frames, offset, "a bad record length " + length + " at byte " + offset);
      }
      if (b.remaining() < length) {
        return new Scan(frames, offset, "a torn record at byte " + offset + " (" + length
            + " bytes announced, " + b.remaining() + " there)");
      }
      byte[] body = new byte[length];
      b.get(body);
      if (Checksums.crc32c(body, 0, length) != crc) {
        return new Scan(frames, offset, "a checksum mismatch at byte " + offset);
      }
      byte[] payload = new byte[length - 1];
      System.arraycopy(body, 1, payload, 0, payload.length);
      frames.add(new Frame(body[0] & 0xff, payload, offset, b.position()));
    }
    return new Scan(frames, file.length, null);
  }

  /**
   * The largest "synced up to" of the whole {@link DurableState#SYNCED} markers at or after byte
   * {@code from}, found at any offset (after damage the record boundaries are unknown; a CRC32C
   * match by chance is negligible); -1 if there is none.
   */
  static long syncedAfter(byte[] file, long from) {
    ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
    long best = -1;
    for (int at = (int) from; at + HEADER_BYTES + 1 + 8 <= file.length; at++) {
      if (b.getInt(at) != 9 || (file[at + HEADER_BYTES] & 0xff) != DurableState.SYNCED) {
        continue;
      }
      if (Checksums.crc32c(file, at + HEADER_BYTES, 9) == b.getInt(at + 4)) {
        best = Math.max(best, ByteBuffer.wrap(file, at + HEADER_BYTES + 1, 8).getLong());
      }
    }
    return best;
  }

  // ---------------------------------------------------------------- payload helpers

  /** Writes a payload with the helpers below. */
  static final class Out {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final DataOutputStream out = new DataOutputStream(bytes);

    Out i8(int v) throws IOException {
      out.writeByte(v);
      return this;
    }

    Out i32(int v) throws IOException {
      out.writeInt(v);
      return this;
    }

    Out i64(long v) throws IOException {
      out.writeLong(v);
      return this;
    }

    Out bool(boolean v) throws IOException {
      out.writeBoolean(v);
      return this;
    }

    Out str(String s) throws IOException {
      byte[] b = s == null ? null : s.getBytes(StandardCharsets.UTF_8);
      out.writeInt(b == null ? -1 : b.length);
      if (b != null) {
        out.write(b);
      }
      return this;
    }

    /** A length-prefixed byte string (a nested record's payload). */
    Out blob(byte[] b) throws IOException {
      out.writeInt(b.length);
      out.write(b);
      return this;
    }

    Out extents(ExtentSet set) throws IOException {
      out.writeInt(set.extents().size());
      for (Extent e : set.extents()) {
        out.writeLong(e.start());
        out.writeLong(e.end());
      }
      return this;
    }

    Out bitmap(Roaring64Bitmap bitmap) throws IOException {
      Roaring64Bitmap copy = bitmap.clone();
      copy.runOptimize();
      ByteArrayOutputStream b = new ByteArrayOutputStream();
      copy.serializePortable(new DataOutputStream(b));
      out.writeInt(b.size());
      out.write(b.toByteArray());
      return this;
    }

    Out map(Map<String, String> m) throws IOException {
      out.writeInt(m.size());
      for (Map.Entry<String, String> e : m.entrySet()) {
        str(e.getKey());
        str(e.getValue());
      }
      return this;
    }

    byte[] bytes() throws IOException {
      out.flush();
      return bytes.toByteArray();
    }
  }

  /** Reads a payload written by {@link Out}; malformed input is an IOException. */
  static final class In {
    private final DataInputStream in;

    In(byte[] payload) {
      this.in = new DataInputStream(new ByteArrayInputStream(payload));
    }

    int i8() throws IOException {
      return in.readUnsignedByte();
    }

    int i32() throws IOException {
      return in.readInt();
    }

    long i64() throws IOException {
      return in.readLong();
    }

    boolean bool() throws IOException {
      return in.readBoolean();
    }

    byte[] blob() throws IOException {
      int n = in.readInt();
      if (n < 0 || n > MAX_RECORD) {
        throw new IOException("a nested record of " + n + " bytes");
      }
      byte[] b = in.readNBytes(n);
      if (b.length != n) {
        throw new IOException("a nested record cut short");
      }
      return b;
    }

    String str() throws IOException {
      int n = in.readInt();
      if (n < 0) {
        return null;
      }
      if (n > MAX_RECORD) {
        throw new IOException("a string of " + n + " bytes");
      }
      byte[] b = in.readNBytes(n);
      if (b.length != n) {
        throw new IOException("a string cut short");
      }
      return new String(b, StandardCharsets.UTF_8);
    }

    ExtentSet extents() throws IOException {
      int n = in.readInt();
      if (n < 0 || n > MAX_RECORD / 16) {
        throw new IOException("an extent count of " + n);
      }
      List<Extent> out = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        long start = in.readLong();
        long end = in.readLong();
        if (start < 0 || end <= start) {
          throw new IOException("an extent [" + start + ", " + end + ")");
        }
        out.add(Extent.of(start, end));
      }
      return ExtentSet.of(out);
    }

    Roaring64Bitmap bitmap() throws IOException {
      int n = in.readInt();
      if (n < 0 || n > MAX_RECORD) {
        throw new IOException("a bitmap of " + n + " bytes");
      }
      byte[] b = in.readNBytes(n);
      if (b.length != n) {
        throw new IOException("a bitmap cut short");
      }
      Roaring64Bitmap bitmap = new Roaring64Bitmap();
      try {
        bitmap.deserializePortable(new DataInputStream(new ByteArrayInputStream(b)));
      } catch (RuntimeException e) {
        throw new IOException("a malformed bitmap (" + e + ")", e);
      }
      return bitmap;
    }

    Map<String, String> map() throws IOException {
      int n = in.readInt();
      if (n < 0 || n > 10_000) {
        throw new IOException("a property count of " + n);
      }
      Map<String, String> m = new LinkedHashMap<>();
      for (int i = 0; i < n; i++) {
        m.put(str(), str());
      }
      return m;
    }
  }
}
