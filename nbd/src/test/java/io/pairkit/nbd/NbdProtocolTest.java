package io.pairkit.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.testkit.MemoryVolume;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The protocol on the wire, with a raw client: option replies, errors that keep the connection,
 * flags, structured replies, pipelining, and a close that does not hang on a client that stopped
 * reading.
 */
@Timeout(60)
class NbdProtocolTest {
  private static final long SIZE = 8L << 20;
  private NbdServer server;
  private final MemoryVolume disk = new MemoryVolume("disk", SIZE);

  /** An export over a memory volume. */
  private static NbdExport export(String name, MemoryVolume v, boolean readOnly) {
    return export(name, v, () -> readOnly);
  }

  /** An export whose read-only flag is asked each time (as a pair's secondary's is). */
  private static NbdExport export(String name, MemoryVolume v,
      java.util.function.BooleanSupplier readOnly) {
    return new NbdExport() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public long size() {
        return v.size();
      }

      @Override
      public boolean readOnly() {
        return readOnly.getAsBoolean();
      }

      @Override
      public void read(long offset, ByteBuffer dst) {
        v.read(offset, dst);
      }

      @Override
      public void write(long offset, ByteBuffer src) {
        v.write(offset, src);
      }

      @Override
      public void flush() {
        v.flush();
      }

      @Override
      public void trim(long offset, long length) {
        v.discard(offset, length);
      }

      @Override
      public void writeZeroes(long offset, long length, boolean mayFree) {
        v.discard(offset, length);
      }
    };
  }

  @BeforeEach
  void start() throws IOException {
    server = NbdServer.start(new InetSocketAddress("127.0.0.1", 0), Map.of(
        "rw", export("rw", disk, false), "ro", export("ro", disk, true)));
  }

  @AfterEach
  void stop() throws IOException {
    server.close();
  }

  /** A minimal fixed-newstyle client. */
  private final class Client implements AutoCloseable {
    final Socket socket;
    final DataInputStream in;
    final DataOutputStream out;
    long handle;

    Client() throws IOException {
      socket = new Socket("127.0.0.1", server.port());
      in = new DataInputStream(socket.getInputStream());
      out = new DataOutputStream(socket.getOutputStream());
      assertEquals(NbdProtocol.NBDMAGIC, in.readLong());
      assertEquals(NbdProtocol.IHAVEOPT, in.readLong());
      assertEquals(NbdProtocol.FLAG_FIXED_NEWSTYLE | NbdProtocol.FLAG_NO_ZEROES, in.readShort());
      out.writeInt(NbdProtocol.FLAG_FIXED_NEWSTYLE | NbdProtocol.FLAG_NO_ZEROES);
    }

    void option(int option, byte[] data) throws IOException {
      out.writeLong(NbdProtocol.IHAVEOPT);
      out.writeInt(option);
      out.writeInt(data.length);
      out.write(data);
      out.flush();
    }

    /** Reads one option reply: {type, data}. */
    Object[] reply(int option) throws IOException {
      assertEquals(NbdProtocol.OPT_REPLY_MAGIC, in.readLong());
      assertEquals(option, in.readInt());
      int type = in.readInt();
      byte[] data = new byte[in.readInt()];
      in.readFully(data);
      return new Object[] {type, data};
    }

    int go(String name) throws IOException {
      byte[] n = name.getBytes(StandardCharsets.UTF_8);
      ByteBuffer b = ByteBuffer.allocate(4 + n.length + 2);
      b.putInt(n.length).put(n).putShort((short) 0);
      option(NbdProtocol.OPT_GO, b.array());
      while (true) {
        Object[] r = reply(NbdProtocol.OPT_GO);
        if ((int) r[0] != NbdProtocol.REP_INFO) {
          return (int) r[0];
        }
      }
    }

    void request(int flags, int type, long offset, int length, byte[] payload)
        throws IOException {
      out.writeInt(NbdProtocol.REQUEST_MAGIC);
      out.writeShort(flags);
      out.writeShort(type);
      out.writeLong(++handle);
      out.writeLong(offset);
      out.writeInt(length);
      if (payload != null) {
        out.write(payload);
      }
      out.flush();
    }

    /** A simple reply: {error, handle}; reads {@code dataLength} bytes of data after success. */
    long[] simpleReply(byte[] data) throws IOException {
      assertEquals(NbdProtocol.SIMPLE_REPLY_MAGIC, in.readInt());
      int error = in.readInt();
      long h = in.readLong();
      if (error == 0 && data != null) {
        in.readFully(data);
      }
      return new long[] {error, h};
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }

  @Test
  void unknownOption_unknownExport_thenGo() throws Exception {
    try (Client c = new Client()) {
      c.option(99, new byte[0]);
      assertEquals(NbdProtocol.REP_ERR_UNSUP, (int) c.reply(99)[0]);
      assertEquals(NbdProtocol.REP_ERR_UNKNOWN, c.go("nope"));
      assertEquals(NbdProtocol.REP_ACK, c.go("rw"));
      c.request(0, NbdProtocol.CMD_READ, 0, 4096, null);
      assertEquals(0, c.simpleReply(new byte[4096])[0]);
    }
  }

  @Test
  void oversizedMetaContextLengths_areRefusedWithoutKillingTheConnection() throws Exception {
    try (Client c = new Client()) {
      c.option(NbdProtocol.OPT_STRUCTURED_REPLY, new byte[0]);
      assertEquals(NbdProtocol.REP_ACK, (int) c.reply(NbdProtocol.OPT_STRUCTURED_REPLY)[0]);
      ByteBuffer b = ByteBuffer.allocate(8);
      b.putInt(Integer.MAX_VALUE).putInt(0); // a name "length" of 2 GiB
      c.option(NbdProtocol.OPT_SET_META_CONTEXT, b.array());
      assertEquals(NbdProtocol.REP_ERR_INVALID, (int) c.reply(NbdProtocol.OPT_SET_META_CONTEXT)[0]);
      assertEquals(NbdProtocol.REP_ACK, c.go("rw"));
    }
  }

  @Test
  void aWriterWhoseExportTurnsReadOnlyGetsEpermAndTheLogSaysSoOnce() throws Exception {
    java.util.concurrent.atomic.AtomicBoolean readOnly =
        new java.util.concurrent.atomic.AtomicBoolean();
    List<java.util.logging.LogRecord> warnings = new java.util.concurrent.CopyOnWriteArrayList<>();
    java.util.logging.Handler h = new java.util.logging.Handler() {
      @Override
      public void publish(java.util.logging.LogRecord r) {
        if (r.getLevel() == java.util.logging.Level.WARNING) {
          warnings.add(r);
        }
      }

      @Override
      public void flush() {
      }

      @Override
      public void close() {
      }
    };
    java.util.logging.Logger log = java.util.logging.Logger.getLogger(NbdServer.class.getName());
    log.addHandler(h);
    try (NbdServer flip = NbdServer.start(new InetSocketAddress("127.0.0.1", 0),
        Map.of("flip", export("flip", disk, readOnly::get)))) {
      server.close();
      server = flip; // the client connects to server.port()
      try (Client c = new Client()) {
        assertEquals(NbdProtocol.REP_ACK, c.go("flip"));
        c.request(0, NbdProtocol.CMD_WRITE, 0, 512, new byte[512]);
        assertEquals(0, c.simpleReply(null)[0], "writable when the client chose it");
        readOnly.set(true); // e.g. the pair of this secondary was resynced
        for (int i = 0; i < 3; i++) {
          c.request(0, NbdProtocol.CMD_WRITE, 0, 512, new byte[512]);
          assertEquals(NbdProtocol.EPERM, c.simpleReply(null)[0]);
        }
      }
      long said = warnings.stream().filter(r -> r.getMessage().contains(
          "export 'flip' turned read-only under a connected writer")).count();
      assertEquals(1, said, "one warning per connection, not one per refused write");
    } finally {
      log.removeHandler(h);
      server = NbdServer.start(new InetSocketAddress("127.0.0.1", 0), Map.of(
          "rw", export("rw", disk, false), "ro", export("ro", disk, true)));
    }
  }

  @Test
  void errorsKeepTheConnection_readOnlyRangeAndFlags() throws Exception {
    try (Client c = new Client()) {
      assertEquals(NbdProtocol.REP_ACK, c.go("ro"));
      c.request(0, NbdProtocol.CMD_WRITE, 0, 512, new byte[512]);
      assertEquals(NbdProtocol.EPERM, c.simpleReply(null)[0]);
      c.request(0, NbdProtocol.CMD_READ, SIZE - 10, 20, null);
      assertEquals(NbdProtocol.EINVAL, c.simpleReply(null)[0]);
      c.request(NbdProtocol.CMD_FLAG_FUA, NbdProtocol.CMD_READ, 0, 10, null);
      assertEquals(NbdProtocol.EINVAL, c.simpleReply(null)[0], "FUA is not a read flag");
      c.request(0, NbdProtocol.CMD_READ, 0, 10, null);
      assertEquals(0, c.simpleReply(new byte[10])[0], "the connection still serves");
    }
  }

  @Test
  void pipelinedWritesAndReads_beyondTheInFlightLimit_allAnsweredRight() throws Exception {
    byte[][] data = new byte[64][];
    try (Client c = new Client()) {
      assertEquals(NbdProtocol.REP_ACK, c.go("rw"));
      Random r = new Random(1);
      for (int i = 0; i < 64; i++) {
        data[i] = new byte[4096];
        r.nextBytes(data[i]);
        c.request(0, NbdProtocol.CMD_WRITE, i * 65536L, 4096, data[i]);
      }
      java.util.Set<Long> answered = new java.util.HashSet<>();
      for (int i = 0; i < 64; i++) {
        long[] reply = c.simpleReply(null);
        assertEquals(0, reply[0]);
        answered.add(reply[1]);
      }
      assertEquals(64, answered.size());
      c.request(0, NbdProtocol.CMD_FLUSH, 0, 0, null);
      assertEquals(0, c.simpleReply(null)[0]);
    }
    for (int i = 0; i < 64; i++) {
      byte[] back = new byte[4096];
      disk.read(i * 65536L, ByteBuffer.wrap(back));
      assertArrayEquals(data[i], back);
    }
  }

  @Test
  void close_doesNotHangOnAClientThatStoppedReading() throws Exception {
    Client c = new Client();
    assertEquals(NbdProtocol.REP_ACK, c.go("rw"));
    for (int i = 0; i < 16; i++) {
      c.request(0, NbdProtocol.CMD_READ, 0, 8 << 20, null); // 128 MiB of replies nobody reads
    }
    long start = System.nanoTime();
    server.close();
    double seconds = (System.nanoTime() - start) / 1e9;
    assertTrue(seconds < NbdProtocol.DRAIN_SECONDS + 10, "close took " + seconds + " s");
    c.close();
  }
}
