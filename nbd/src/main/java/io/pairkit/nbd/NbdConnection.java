package io.pairkit.nbd;

import java.lang.System.Logger.Level;
import static io.pairkit.nbd.NbdProtocol.*;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Semaphore;

/**
 * One client: the handshake and option haggling (STARTTLS, structured replies, meta contexts,
 * the export), then {@link NbdTransmission} until it disconnects.
 */
final class NbdConnection {
  private static final System.Logger LOG = System.getLogger(NbdServer.class.getName());
  private final NbdServer server;
  /** The client's link; a TCP one is replaced by the encrypted one after STARTTLS. */
  private volatile NbdLink socket;
  /** Whether STARTTLS completed (always false without the server's TLS). */
  private boolean encrypted;
  private final Semaphore inFlight = new Semaphore(IN_FLIGHT);
  private DataInputStream in;
  private DataOutputStream out;
  private boolean structured;
  /** The meta contexts SET_META_CONTEXT selected, by id (1 is base:allocation). */
  private final java.util.LinkedHashMap<Integer, String> contexts =
      new java.util.LinkedHashMap<>();
  private NbdExport export;
  /** The export was writable when this client chose it (its writes then turned refused). */
  private boolean negotiatedWritable;

  NbdConnection(NbdServer server, NbdLink socket) {
    this.server = server;
    this.socket = socket;
  }

  /**
   * Lets requests in flight finish (bounded), then closes the socket: that also frees a worker
   * stuck writing a reply to a client that stopped reading.
   */
  void shutdown() {
    boolean drained = false;
    try {
      drained = inFlight.tryAcquire(IN_FLIGHT, DRAIN_SECONDS,
          java.util.concurrent.TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      if (drained) {
        inFlight.release(IN_FLIGHT);
      }
      closeQuietly();
    }
  }

  void run() {
    try {
      streams();
      if (handshake()) {
        new NbdTransmission(server, this, in, new NbdReplies(out, structured), export, structured,
            contexts, inFlight, negotiatedWritable).run();
      }
    } catch (javax.net.ssl.SSLException e) {
      LOG.log(Level.WARNING, "NBD: TLS handshake with " + socket.peer() + " failed, "
          + "connection refused: " + e.getMessage());
    } catch (EOFException | SocketException e) {
      // the client went away
    } catch (IOException | RuntimeException e) {
      if (!server.closed) {
        LOG.log(Level.WARNING, "NBD connection failed", e);
      }
    } finally {
      closeQuietly();
      server.connections.remove(this);
    }
  }

  private void streams() throws IOException {
    in = new DataInputStream(new BufferedInputStream(socket.in(), 1 << 16));
    out = new DataOutputStream(new BufferedOutputStream(socket.out(), 1 << 16));
  }

  /** STARTTLS: acknowledges, then runs the TLS handshake; the options go on encrypted. */
  private void startTls(int length) throws IOException {
    if (server.tls == null || socket.tcp() == null) {
      optionError(OPT_STARTTLS, REP_ERR_UNSUP, server.tls == null ? "this server has no TLS "
          + "configured" : "no TLS on the Unix socket: its file mode decides who connects");
      return;
    }
    if (encrypted || length != 0) {
      optionError(OPT_STARTTLS, REP_ERR_INVALID, encrypted ? "TLS is already on"
          : "STARTTLS takes no data");
      return;
    }
    optionReply(OPT_STARTTLS, REP_ACK, new byte[0]);
    javax.net.ssl.SSLSocket secure = server.tls.upgrade(socket.tcp());
    secure.setSoTimeout(HANDSHAKE_TIMEOUT_MS);
    socket = NbdLink.of(secure);
    encrypted = true;
    streams();
    String peer = NbdTls.peer(secure);
    LOG.log(Level.INFO, "NBD: TLS with " + secure.getRemoteSocketAddress() + " ("
        + secure.getSession()
        .getProtocol() + (peer != null ? ", client certificate " + peer : "") + ")");
  }

  // ------------------------------------------------------------ handshake

  private boolean handshake() throws IOException {
    socket.timeout(HANDSHAKE_TIMEOUT_MS);
    try {
      return negotiate();
    } finally {
      if (!socket.isClosed()) {
        socket.timeout(0); // in transmission a client may stay idle
      }
    }
  }

  private boolean negotiate() throws IOException {
    out.writeLong(NBDMAGIC);
    out.writeLong(IHAVEOPT);
    out.writeShort(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES);
    out.flush();
    int clientFlags = in.readInt();
    if ((clientFlags & FLAG_FIXED_NEWSTYLE) == 0
        || (clientFlags & ~(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES)) != 0) {
      return false; // only fixed newstyle clients; unknown flags: the spec says drop
    }
    boolean noZeroes = (clientFlags & FLAG_NO_ZEROES) != 0;
    while (true) {
      if (in.readLong() != IHAVEOPT) {
        return false;
      }
      int option = in.readInt();
      int length = in.readInt();
      if (length < 0 || length > 1 << 20) {
        return false;
      }
      byte[] data = new byte[length];
      in.readFully(data);
      if (server.tls != null && socket.tcp() != null && !encrypted && option != OPT_STARTTLS
          && option != OPT_ABORT) {
        if (option == OPT_EXPORT_NAME) {
          LOG.log(Level.WARNING, "NBD: " + socket.peer() + " asked for an export "
              + "without TLS, which this server requires; connection closed");
          return false; // no error reply exists for it: close
        }
        optionError(option, REP_ERR_TLS_REQD, "this server requires TLS (NBD_OPT_STARTTLS; "
            + "nbds:// with libnbd, tls-creds with QEMU)");
        continue;
      }
      switch (option) {
        case OPT_STARTTLS -> startTls(length);
        case OPT_EXPORT_NAME -> {
          NbdExport e = lookup(new String(data, StandardCharsets.UTF_8));
          if (e == null || !allowed(e)) {
            return false; // the protocol has no error reply here: close
          }
          export = e;
          negotiatedWritable = !e.readOnly();
          out.writeLong(e.size());
          out.writeShort(transmissionFlags(e));
          if (!noZeroes) {
            out.write(new byte[124]);
          }
          out.flush();
          return true;
        }
        case OPT_ABORT -> {
          optionReply(option, REP_ACK, new byte[0]);
          return false;
        }
        case OPT_LIST -> {
          if (length != 0) {
            optionError(option, REP_ERR_INVALID, "LIST takes no data");
            continue;
          }
          for (NbdExport e : server.listing.get()) {
            if (!e.allows(socket.identity())) {
              continue; // not listed to a client it refuses
            }
            byte[] name = e.name().getBytes(StandardCharsets.UTF_8);
            byte[] desc = e.description().getBytes(StandardCharsets.UTF_8);
            ByteBuffer b = ByteBuffer.allocate(4 + name.length + desc.length);
            b.putInt(name.length).put(name).put(desc);
            optionReply(option, REP_SERVER, b.array());
          }
          optionReply(option, REP_ACK, new byte[0]);
        }
        case OPT_INFO, OPT_GO -> {
          if (infoOrGo(option, data) && option == OPT_GO) {
            return true;
          }
        }
        case OPT_STRUCTURED_REPLY -> {
          if (length != 0) {
            optionError(option, REP_ERR_INVALID, "STRUCTURED_REPLY takes no data");
          } else {
            structured = true;
            optionReply(option, REP_ACK, new byte[0]);
          }
        }
        case OPT_LIST_META_CONTEXT, OPT_SET_META_CONTEXT -> metaContext(option, data);
        default -> optionError(option, REP_ERR_UNSUP, "option " + option + " not supported");
      }
    }
  }

  private boolean infoOrGo(int option, byte[] data) throws IOException {
    ByteBuffer b = ByteBuffer.wrap(data);
    if (data.length < 6) {
      optionError(option, REP_ERR_INVALID, "short INFO/GO request");
      return false;
    }
    int nameLength = b.getInt();
    if (nameLength < 0 || nameLength > data.length - 6) {
      optionError(option, REP_ERR_INVALID, "bad export name length");
      return false;
    }
    byte[] name = new byte[nameLength];
    b.get(name);
    int requests = b.getShort() & 0xffff;
    if (b.remaining() != requests * 2) {
      optionError(option, REP_ERR_INVALID, "bad information request count");
      return false;
    }
    List<Integer> wanted = new ArrayList<>();
    for (int i = 0; i < requests; i++) {
      wanted.add(b.getShort() & 0xffff);
    }
    String exportName = new String(name, StandardCharsets.UTF_8);
    NbdExport e = lookup(exportName);
    if (e == null) {
      optionError(option, REP_ERR_UNKNOWN, "no export named '" + exportName + "'");
      return false;
    }
    if (!allowed(e)) {
      optionError(option, REP_ERR_POLICY, "export '" + e.name() + "' does not serve this "
          + "client (its exportAllow rules)");
      return false;
    }
    ByteBuffer info = ByteBuffer.allocate(12);
    info.putShort((short) INFO_EXPORT).putLong(e.size()).putShort((short) transmissionFlags(e));
    optionReply(option, REP_INFO, info.array());
    if (wanted.contains(INFO_NAME)) {
      ByteBuffer n = ByteBuffer.allocate(2 + name.length);
      n.putShort((short) INFO_NAME).put(name);
      optionReply(option, REP_INFO, n.array());
    }
    if (wanted.contains(INFO_DESCRIPTION)) {
      byte[] d = e.description().getBytes(StandardCharsets.UTF_8);
      ByteBuffer n = ByteBuffer.allocate(2 + d.length);
      n.putShort((short) INFO_DESCRIPTION).put(d);
      optionReply(option, REP_INFO, n.array());
    }
    ByteBuffer sizes = ByteBuffer.allocate(14);
    sizes.putShort((short) INFO_BLOCK_SIZE).putInt(1).putInt(e.preferredBlockSize())
        .putInt(MAX_PAYLOAD);
    optionReply(option, REP_INFO, sizes.array());
    optionReply(option, REP_ACK, new byte[0]);
    if (option == OPT_GO) {
      export = e;
      negotiatedWritable = !e.readOnly();
    }
    return true;
  }

  private void metaContext(int option, byte[] data) throws IOException {
    if (option == OPT_SET_META_CONTEXT && !structured) {
      optionError(option, REP_ERR_INVALID, "SET_META_CONTEXT needs structured replies first");
      return;
    }
    if (option == OPT_SET_META_CONTEXT) {
      contexts.clear(); // a failed SET leaves nothing selected
    }
    ByteBuffer b = ByteBuffer.wrap(data);
    try {
      byte[] name = new byte[checkedLength(b)];
      b.get(name);
      NbdExport e = lookup(new String(name, StandardCharsets.UTF_8));
      if (e == null || !e.allows(socket.identity())) {
        optionError(option, e == null ? REP_ERR_UNKNOWN : REP_ERR_POLICY, e == null
            ? "no such export" : "export '" + e.name() + "' does not serve this client");
        return;
      }
      // Every context the export has: base:allocation (id 1), then its dirty bitmaps (2, ...).
      List<String> offered = new ArrayList<>();
      offered.add(ALLOCATION_CONTEXT);
      for (String bitmap : e.dirtyBitmaps()) {
        offered.add(DIRTY_BITMAP_PREFIX + bitmap);
      }
      int queries = b.getInt();
      java.util.LinkedHashSet<String> matched = new java.util.LinkedHashSet<>();
      for (int i = 0; i < queries; i++) {
        byte[] q = new byte[checkedLength(b)];
        b.get(q);
        String query = new String(q, StandardCharsets.UTF_8);
        for (String ctx : offered) {
          boolean listed = option == OPT_LIST_META_CONTEXT && query.endsWith(":")
              && ctx.startsWith(query);
          if (ctx.equals(query) || listed) {
            matched.add(ctx);
          }
        }
      }
      if (queries == 0 && option == OPT_LIST_META_CONTEXT) {
        matched.addAll(offered);
      }
      if (b.hasRemaining()) {
        optionError(option, REP_ERR_INVALID, "trailing bytes in meta context request");
        return;
      }
      for (String ctx : matched) {
        int id = offered.indexOf(ctx) + 1;
        byte[] bytes = ctx.getBytes(StandardCharsets.UTF_8);
        ByteBuffer r = ByteBuffer.allocate(4 + bytes.length);
        r.putInt(option == OPT_SET_META_CONTEXT ? id : 0).put(bytes);
        optionReply(option, REP_META_CONTEXT, r.array());
        if (option == OPT_SET_META_CONTEXT) {
          contexts.put(id, ctx);
        }
      }
      optionReply(option, REP_ACK, new byte[0]);
    } catch (java.nio.BufferUnderflowException | NegativeArraySizeException e) {
      optionError(option, REP_ERR_INVALID, "malformed meta context request");
    }
  }

  /** The export by name; the default name "" means the only export, if there is one. */
  private NbdExport lookup(String name) {
    NbdExport e = server.exports.apply(name);
    if (e == null && name.isEmpty()) {
      List<NbdExport> all = server.listing.get();
      return all.size() == 1 ? all.get(0) : null;
    }
    return e;
  }

  /** Whether {@code e} serves this client; logs a refusal. */
  private boolean allowed(NbdExport e) {
    if (e.allows(socket.identity())) {
      return true;
    }
    LOG.log(Level.WARNING, "NBD: refused export '" + e.name() + "' to " + socket.peer()
        + ": its client rules (volume." + e.name() + ".exportAllow) do not name it");
    return false;
  }

  private int transmissionFlags(NbdExport e) {
    int flags = TF_HAS_FLAGS | TF_SEND_FLUSH | TF_SEND_FUA | TF_CAN_MULTI_CONN;
    if (e.readOnly()) {
      flags |= TF_READ_ONLY;
    } else {
      flags |= TF_SEND_TRIM | TF_SEND_WRITE_ZEROES;
    }
    if (structured) {
      flags |= TF_SEND_DF;
    }
    return flags;
  }

  /** A length field that must fit in what is left of the option's data. */
  private int checkedLength(ByteBuffer b) {
    int len = b.getInt();
    if (len < 0 || len > b.remaining()) {
      throw new java.nio.BufferUnderflowException();
    }
    return len;
  }

  private void optionReply(int option, int type, byte[] data) throws IOException {
    out.writeLong(OPT_REPLY_MAGIC);
    out.writeInt(option);
    out.writeInt(type);
    out.writeInt(data.length);
    out.write(data);
    out.flush();
  }

  private void optionError(int option, int type, String message) throws IOException {
    byte[] m = message.getBytes(StandardCharsets.UTF_8);
    optionReply(option, type, java.util.Arrays.copyOf(m, Math.min(m.length, 4096)));
  }

  // ------------------------------------------------------------ transmission

  /** Who the client is, for the log. */
  String peer() {
    return socket.peer();
  }

  void closeQuietly() {
    try {
      socket.close();
    } catch (IOException e) {
      // already failing
    }
  }
}
