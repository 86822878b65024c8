package io.pairkit.nbd;

import io.pairkit.api.Extent;
import io.pairkit.api.ExtentSet;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * A Network Block Device server (the protocol of {@code nbd-server}, {@code qemu-nbd} and
 * {@code nbdkit}, as its specification {@code proto.md} describes it): fixed newstyle handshake
 * with {@code NBD_OPT_GO}, {@code INFO}, {@code LIST}, {@code EXPORT_NAME},
 * {@code STRUCTURED_REPLY} and the {@code base:allocation} meta context; commands read, write,
 * flush, trim, write-zeroes (each with {@code FUA}), block status and disconnect. With
 * {@link NbdTls} it requires TLS ({@code NBD_OPT_STARTTLS}, as {@code qemu-nbd --tls-creds}): before
 * it, every option but STARTTLS and ABORT is refused with {@code NBD_REP_ERR_TLS_REQD}.
 *
 * <p>Each connection has a reader thread; requests run concurrently on a shared pool (up to
 * {@value #IN_FLIGHT} per connection) and replies are written whole under the connection's lock,
 * so clients may pipeline. A flush replies once every write completed before it is durable
 * ({@link NbdExport#flush}), across connections, so {@code CAN_MULTI_CONN} is advertised.
 *
 * <p>Threading: {@link #start} and {@link #close} from any thread; {@link #close} stops accepting,
 * lets requests in flight finish and closes every connection.
 */
public final class NbdServer implements Closeable {
  private static final System.Logger LOG = System.getLogger(NbdServer.class.getName());

  static final long NBDMAGIC = 0x4e42444d41474943L;
  static final long IHAVEOPT = 0x49484156454F5054L;
  static final long OPT_REPLY_MAGIC = 0x3e889045565a9L;
  static final int REQUEST_MAGIC = 0x25609513;
  static final int SIMPLE_REPLY_MAGIC = 0x67446698;
  static final int STRUCTURED_REPLY_MAGIC = 0x668e33ef;

  static final int FLAG_FIXED_NEWSTYLE = 1;
  static final int FLAG_NO_ZEROES = 2;

  static final int OPT_EXPORT_NAME = 1;
  static final int OPT_ABORT = 2;
  static final int OPT_LIST = 3;
  static final int OPT_STARTTLS = 5;
  static final int OPT_INFO = 6;
  static final int OPT_GO = 7;
  static final int OPT_STRUCTURED_REPLY = 8;
  static final int OPT_LIST_META_CONTEXT = 9;
  static final int OPT_SET_META_CONTEXT = 10;

  static final int REP_ACK = 1;
  static final int REP_SERVER = 2;
  static final int REP_INFO = 3;
  static final int REP_META_CONTEXT = 4;
  static final int REP_ERR_UNSUP = 0x80000001;
  static final int REP_ERR_INVALID = 0x80000003;
  static final int REP_ERR_UNKNOWN = 0x80000006;
  static final int REP_ERR_TLS_REQD = 0x80000005;
  static final int REP_ERR_POLICY = 0x80000002;

  static final int INFO_EXPORT = 0;
  static final int INFO_NAME = 1;
  static final int INFO_DESCRIPTION = 2;
  static final int INFO_BLOCK_SIZE = 3;

  static final int TF_HAS_FLAGS = 1;
  static final int TF_READ_ONLY = 2;
  static final int TF_SEND_FLUSH = 4;
  static final int TF_SEND_FUA = 8;
  static final int TF_SEND_TRIM = 32;
  static final int TF_SEND_WRITE_ZEROES = 64;
  static final int TF_SEND_DF = 128;
  static final int TF_CAN_MULTI_CONN = 256;

  static final int CMD_READ = 0;
  static final int CMD_WRITE = 1;
  static final int CMD_DISC = 2;
  static final int CMD_FLUSH = 3;
  static final int CMD_TRIM = 4;
  static final int CMD_WRITE_ZEROES = 6;
  static final int CMD_BLOCK_STATUS = 7;

  static final int CMD_FLAG_FUA = 1;
  static final int CMD_FLAG_NO_HOLE = 2;
  static final int CMD_FLAG_DF = 4;
  static final int CMD_FLAG_REQ_ONE = 8;

  static final int REPLY_FLAG_DONE = 1;
  static final int REPLY_TYPE_NONE = 0;
  static final int REPLY_TYPE_OFFSET_DATA = 1;
  static final int REPLY_TYPE_BLOCK_STATUS = 5;
  static final int REPLY_TYPE_ERROR = 0x8001;

  static final int STATE_HOLE = 1;
  static final int STATE_ZERO = 2;

  static final int EPERM = 1;
  static final int EIO = 5;
  static final int EINVAL = 22;
  static final int ENOSPC = 28;
  static final int EOVERFLOW = 75;
  static final int ESHUTDOWN = 108;

  /** Largest read or write payload accepted (as qemu-nbd). */
  static final int MAX_PAYLOAD = 32 << 20;
  static final int IN_FLIGHT = 16;
  /** Payload bytes (reads and writes) held in memory at once, over all connections. */
  static final int MEMORY_BUDGET = 256 << 20;
  static final int MAX_CONNECTIONS = 64;
  /** Of that, what one connection may hold (a client that stops reading holds no more). */
  static final int CONNECTION_BUDGET = 64 << 20;
  /** A client must finish the handshake within this time. */
  static final int HANDSHAKE_TIMEOUT_MS = 30_000;
  /** How long close waits for requests in flight before it cuts connections. */
  static final long DRAIN_SECONDS = 10;
  static final int MAX_DESCRIPTORS = 1 << 16;
  /** QEMU's name space for dirty bitmaps as meta contexts. */
  static final String DIRTY_BITMAP_PREFIX = "qemu:dirty-bitmap:";
  /** A dirty bitmap's block status flag: the range is dirty. */
  static final int STATE_DIRTY = 1;
  private static final String ALLOCATION_CONTEXT = "base:allocation";

  /** The TCP listener, or null when NBD is served on the Unix socket only. */
  private final ServerSocket listener;
  /** The Unix socket listener and its file, or null. */
  private final java.nio.channels.ServerSocketChannel unixListener;
  private final java.nio.file.Path socketPath;
  private final Thread unixAcceptor;
  private final Function<String, NbdExport> exports;
  private final java.util.function.Supplier<List<NbdExport>> listing;
  private final Function<Throwable, Integer> errno;
  /** Null: plain TCP; else TLS is required before any export. */
  private final NbdTls tls;
  private final ExecutorService workers;
  private final Set<Connection> connections = ConcurrentHashMap.newKeySet();
  private final Thread acceptor;
  private final AtomicInteger connectionCount = new AtomicInteger();
  private final Semaphore memory = new Semaphore(MEMORY_BUDGET);
  /** Payload arrays reused across requests and connections. */
  private final PayloadPool payloads = new PayloadPool();
  private volatile boolean closed;

  private NbdServer(ServerSocket listener, java.nio.channels.ServerSocketChannel unixListener,
      java.nio.file.Path socketPath, Function<String, NbdExport> exports,
      java.util.function.Supplier<List<NbdExport>> listing, Function<Throwable, Integer> errno,
      NbdTls tls) {
    this.tls = tls;
    this.listener = listener;
    this.unixListener = unixListener;
    this.socketPath = socketPath;
    this.exports = exports;
    this.listing = listing;
    this.errno = errno;
    AtomicInteger n = new AtomicInteger();
    this.workers = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "nbd-worker-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    this.acceptor = listener == null ? null
        : new Thread(this::acceptLoop, "nbd-accept-" + listener.getLocalPort());
    this.unixAcceptor = unixListener == null ? null
        : new Thread(this::acceptUnixLoop, "nbd-accept-unix");
    for (Thread t : new Thread[] {acceptor, unixAcceptor}) {
      if (t != null) {
        t.setDaemon(true);
      }
    }
  }

  /**
   * Where and how to serve: a TCP address (null: none), a Unix socket file (null: none) with the
   * file's permissions and group (null: the process's), and TLS for TCP (null: plain).
   */
  public record Listen(InetSocketAddress tcp, java.nio.file.Path unixSocket,
      java.util.Set<java.nio.file.attribute.PosixFilePermission> socketMode, String socketGroup,
      NbdTls tls) {
  }

  /** Starts serving as {@code listen} says; at least one listener. */
  public static NbdServer start(Listen listen, Function<String, NbdExport> exports,
      java.util.function.Supplier<List<NbdExport>> listing, Function<Throwable, Integer> errno)
      throws IOException {
    ServerSocket tcp = null;
    java.nio.channels.ServerSocketChannel unix = null;
    try {
      if (listen.tcp() != null) {
        tcp = new ServerSocket();
        tcp.setReuseAddress(true);
        tcp.bind(listen.tcp());
      }
      if (listen.unixSocket() != null) {
        unix = bindUnix(listen.unixSocket(), listen.socketMode(), listen.socketGroup());
      }
    } catch (IOException | RuntimeException e) {
      if (tcp != null) {
        tcp.close();
      }
      throw e;
    }
    if (tcp == null && unix == null) {
      throw new IllegalArgumentException("NBD needs a TCP address or a Unix socket");
    }
    NbdServer server = new NbdServer(tcp, unix, listen.unixSocket(), exports, listing,
        errno != null ? errno : NbdServer::defaultErrno, listen.tls());
    if (server.acceptor != null) {
      server.acceptor.start();
    }
    if (server.unixAcceptor != null) {
      server.unixAcceptor.start();
    }
    return server;
  }

  /**
   * Binds the Unix socket at {@code path}: a socket file left by a process that died is replaced
   * (a live server there is refused), then the file gets {@code mode} and {@code group}, which
   * decide who may connect (as Docker's socket does).
   */
  private static java.nio.channels.ServerSocketChannel bindUnix(java.nio.file.Path path,
      java.util.Set<java.nio.file.attribute.PosixFilePermission> mode, String group)
      throws IOException {
    if (java.nio.file.Files.exists(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      if (!java.nio.file.Files.readAttributes(path,
          java.nio.file.attribute.BasicFileAttributes.class,
          java.nio.file.LinkOption.NOFOLLOW_LINKS).isOther()) {
        throw new IOException("NBD socket " + path + " exists and is not a socket; remove it "
            + "or configure another server.nbd.socket");
      }
      try (java.nio.channels.SocketChannel probe = java.nio.channels.SocketChannel.open(
          java.net.UnixDomainSocketAddress.of(path))) {
        throw new IOException("NBD socket " + path + " is in use by a running "
            + "server; stop it or configure another server.nbd.socket");
      } catch (java.net.SocketException stale) {
        java.nio.file.Files.delete(path); // left by a process that died: nobody listens
      }
    }
    if (path.getParent() != null) {
      java.nio.file.Files.createDirectories(path.getParent());
    }
    java.nio.channels.ServerSocketChannel ch = java.nio.channels.ServerSocketChannel.open(
        java.net.StandardProtocolFamily.UNIX);
    try {
      ch.bind(java.net.UnixDomainSocketAddress.of(path));
      if (group != null) {
        java.nio.file.attribute.GroupPrincipal g = path.getFileSystem()
            .getUserPrincipalLookupService().lookupPrincipalByGroupName(group);
        java.nio.file.Files.getFileAttributeView(path,
            java.nio.file.attribute.PosixFileAttributeView.class).setGroup(g);
      }
      java.nio.file.Files.setPosixFilePermissions(path, mode);
      return ch;
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
  }

  /**
   * Starts serving on {@code bind} (port 0 picks a free one).
   *
   * @param exports looks an export up by name (null if there is none)
   * @param listing the exports {@code NBD_OPT_LIST} shows
   * @param errno   maps an exception from an export to an NBD error number; null for the
   *                default ({@code EINVAL} for a range error, else {@code EIO})
   */
  public static NbdServer start(InetSocketAddress bind, Function<String, NbdExport> exports,
      java.util.function.Supplier<List<NbdExport>> listing, Function<Throwable, Integer> errno)
      throws IOException {
    return start(bind, exports, listing, errno, null);
  }

  /** As {@link #start(InetSocketAddress, Function, java.util.function.Supplier, Function)}, with
   * TLS required when {@code tls} is not null. */
  public static NbdServer start(InetSocketAddress bind, Function<String, NbdExport> exports,
      java.util.function.Supplier<List<NbdExport>> listing, Function<Throwable, Integer> errno,
      NbdTls tls) throws IOException {
    return start(new Listen(bind, null, null, null, tls), exports, listing, errno);
  }

  /** Serves a fixed set of exports. */
  public static NbdServer start(InetSocketAddress bind, Map<String, NbdExport> exports)
      throws IOException {
    return start(bind, exports::get, () -> List.copyOf(exports.values()), null);
  }

  static int defaultErrno(Throwable t) {
    return t instanceof IndexOutOfBoundsException || t instanceof IllegalArgumentException
        ? EINVAL : EIO;
  }

  /** The TCP port it listens on, or -1 if it serves the Unix socket only. */
  public int port() {
    return listener == null ? -1 : listener.getLocalPort();
  }

  /** The Unix socket it listens on, or null. */
  public java.nio.file.Path socketPath() {
    return socketPath;
  }

  /** Connections accepted since start. */
  /** Connections open now. */
  public int connectionsOpen() {
    return connections.size();
  }

  public int connectionsAccepted() {
    return connectionCount.get();
  }

  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    if (listener != null) {
      listener.close();
    }
    if (unixListener != null) {
      unixListener.close();
      java.nio.file.Files.deleteIfExists(socketPath);
    }
    try {
      for (Thread t : new Thread[] {acceptor, unixAcceptor}) {
        if (t != null) {
          t.join(5000);
        }
      }
      for (Connection c : connections) {
        c.shutdown();
      }
      workers.shutdown();
      if (!workers.awaitTermination(DRAIN_SECONDS, java.util.concurrent.TimeUnit.SECONDS)) {
        LOG.log(System.Logger.Level.WARNING, "NBD requests still running at close; their replies are lost");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void acceptLoop() {
    while (!closed) {
      try {
        Socket s = listener.accept();
        if (closed || connections.size() >= MAX_CONNECTIONS) {
          if (!closed) {
            LOG.log(System.Logger.Level.WARNING, "NBD: refusing a connection from " + s.getRemoteSocketAddress() + ": "
                + MAX_CONNECTIONS + " already open");
          }
          s.close();
          continue;
        }
        s.setTcpNoDelay(true);
        serve(NbdLink.of(s));
      } catch (IOException | RuntimeException | Error e) {
        if (!closed) {
          LOG.log(System.Logger.Level.WARNING, "NBD accept failed", e); // keep accepting
        }
      }
    }
  }

  private void acceptUnixLoop() {
    while (!closed) {
      try {
        java.nio.channels.SocketChannel c = unixListener.accept();
        if (closed || connections.size() >= MAX_CONNECTIONS) {
          c.close();
          continue;
        }
        serve(NbdLink.of(c));
      } catch (IOException | RuntimeException | Error e) {
        if (!closed) {
          LOG.log(System.Logger.Level.WARNING, "NBD accept on " + socketPath + " failed", e);
        }
      }
    }
  }

  private void serve(NbdLink link) {
    Connection c = new Connection(link);
    connections.add(c);
    connectionCount.incrementAndGet();
    Thread t = new Thread(c::run, "nbd-conn-" + connectionCount.get());
    t.setDaemon(true);
    t.start();
  }

  /** One client: handshake, then requests until it disconnects. */
  private final class Connection {
    /** The client's link; a TCP one is replaced by the encrypted one after STARTTLS. */
    private volatile NbdLink socket;
    /** Whether STARTTLS completed (always false without {@link #tls}). */
    private boolean encrypted;
    private final Semaphore inFlight = new Semaphore(IN_FLIGHT);
    private final Semaphore connectionMemory = new Semaphore(CONNECTION_BUDGET);
    private final Object writeLock = new Object();
    private DataInputStream in;
    private DataOutputStream out;
    private boolean structured;
    /** The meta contexts SET_META_CONTEXT selected, by id (1 is base:allocation). */
    private final java.util.LinkedHashMap<Integer, String> contexts =
        new java.util.LinkedHashMap<>();
    private NbdExport export;
    /** The export was writable when this client chose it (its writes then turned refused). */
    private boolean negotiatedWritable;
    private boolean warnedReadOnly;

    Connection(NbdLink socket) {
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
          transmission();
        }
      } catch (javax.net.ssl.SSLException e) {
        LOG.log(System.Logger.Level.WARNING, "NBD: TLS handshake with " + socket.peer() + " failed, "
            + "connection refused: " + e.getMessage());
      } catch (EOFException | SocketException e) {
        // the client went away
      } catch (IOException | RuntimeException e) {
        if (!closed) {
          LOG.log(System.Logger.Level.WARNING, "NBD connection failed", e);
        }
      } finally {
        closeQuietly();
        connections.remove(this);
      }
    }

    private void streams() throws IOException {
      in = new DataInputStream(new BufferedInputStream(socket.in(), 1 << 16));
      out = new DataOutputStream(new BufferedOutputStream(socket.out(), 1 << 16));
    }

    /** STARTTLS: acknowledges, then runs the TLS handshake; the options go on encrypted. */
    private void startTls(int length) throws IOException {
      if (tls == null || socket.tcp() == null) {
        optionError(OPT_STARTTLS, REP_ERR_UNSUP, tls == null ? "this server has no TLS "
            + "configured" : "no TLS on the Unix socket: its file mode decides who connects");
        return;
      }
      if (encrypted || length != 0) {
        optionError(OPT_STARTTLS, REP_ERR_INVALID, encrypted ? "TLS is already on"
            : "STARTTLS takes no data");
        return;
      }
      optionReply(OPT_STARTTLS, REP_ACK, new byte[0]);
      javax.net.ssl.SSLSocket secure = tls.upgrade(socket.tcp());
      secure.setSoTimeout(HANDSHAKE_TIMEOUT_MS);
      socket = NbdLink.of(secure);
      encrypted = true;
      streams();
      String peer = NbdTls.peer(secure);
      LOG.log(System.Logger.Level.INFO, "NBD: TLS with " + secure.getRemoteSocketAddress() + " (" + secure.getSession()
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
        if (tls != null && socket.tcp() != null && !encrypted && option != OPT_STARTTLS
            && option != OPT_ABORT) {
          if (option == OPT_EXPORT_NAME) {
            LOG.log(System.Logger.Level.WARNING, "NBD: " + socket.peer() + " asked for an export "
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
            for (NbdExport e : listing.get()) {
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
      NbdExport e = exports.apply(name);
      if (e == null && name.isEmpty()) {
        List<NbdExport> all = listing.get();
        return all.size() == 1 ? all.get(0) : null;
      }
      return e;
    }

    /** Whether {@code e} serves this client; logs a refusal. */
    private boolean allowed(NbdExport e) {
      if (e.allows(socket.identity())) {
        return true;
      }
      LOG.log(System.Logger.Level.WARNING, "NBD: refused export '" + e.name() + "' to " + socket.peer()
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

    private void transmission() throws IOException {
      while (true) {
        int magic = in.readInt();
        if (magic != REQUEST_MAGIC) {
          throw new IOException("bad NBD request magic " + Integer.toHexString(magic));
        }
        int flags = in.readShort() & 0xffff;
        int type = in.readShort() & 0xffff;
        long handle = in.readLong();
        long offset = in.readLong();
        long length = in.readInt() & 0xffffffffL;
        byte[] payload = null;
        int held = 0;
        if (type == CMD_WRITE) {
          if (length > MAX_PAYLOAD) {
            throw new IOException("NBD write of " + length + " bytes exceeds " + MAX_PAYLOAD);
          }
          held = (int) length;
          reserve(held); // bounded memory per connection and over all of them
          payload = payloads.take(held);
          try {
            in.readFully(payload, 0, held);
          } catch (IOException e) {
            payloads.give(payload);
            unreserve(held);
            throw e;
          }
        } else if (type == CMD_READ && length <= MAX_PAYLOAD) {
          held = (int) length;
          reserve(held);
        }
        if (type == CMD_DISC) {
          inFlight.acquireUninterruptibly(IN_FLIGHT);
          inFlight.release(IN_FLIGHT);
          try {
            if (!export.readOnly()) {
              export.flush(); // a clean disconnect leaves nothing unflushed
            }
          } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "flush at NBD disconnect failed", e);
          }
          return;
        }
        byte[] data = payload;
        int budget = held;
        inFlight.acquireUninterruptibly();
        try {
          workers.execute(() -> {
            try {
              serve(flags, type, handle, offset, length, data);
            } catch (IOException e) {
              closeQuietly();
            } catch (Throwable t) {
              LOG.log(System.Logger.Level.ERROR, "NBD request failed unexpectedly", t);
              closeQuietly(); // no reply can be trusted now; the client sees the connection end
            } finally {
              if (data != null) {
                payloads.give(data);
              }
              unreserve(budget);
              inFlight.release();
            }
          });
        } catch (java.util.concurrent.RejectedExecutionException e) {
          if (data != null) {
            payloads.give(data);
          }
          unreserve(budget);
          inFlight.release();
          return;
        }
      }
    }

    private void reserve(int bytes) {
      connectionMemory.acquireUninterruptibly(bytes);
      memory.acquireUninterruptibly(bytes);
    }

    private void unreserve(int bytes) {
      memory.release(bytes);
      connectionMemory.release(bytes);
    }

    private void serve(int flags, int type, long handle, long offset, long length, byte[] data)
        throws IOException {
      NbdExport e = export;
      boolean inRange = offset >= 0 && offset + length <= e.size() && offset + length >= offset;
      int allowed = switch (type) {
        case CMD_READ -> CMD_FLAG_DF;
        case CMD_WRITE, CMD_TRIM -> CMD_FLAG_FUA;
        case CMD_WRITE_ZEROES -> CMD_FLAG_FUA | CMD_FLAG_NO_HOLE;
        case CMD_BLOCK_STATUS -> CMD_FLAG_REQ_ONE;
        default -> 0;
      };
      if ((flags & ~allowed) != 0 || ((flags & CMD_FLAG_DF) != 0 && !structured)) {
        error(handle, EINVAL, "command flags " + flags + " are not valid for command " + type);
        return;
      }
      try {
        switch (type) {
          case CMD_READ -> {
            if (length > MAX_PAYLOAD) {
              // EOVERFLOW is for clients that asked for structured replies and DF.
              error(handle, structured && (flags & CMD_FLAG_DF) != 0 ? EOVERFLOW : EINVAL,
                  "read larger than " + MAX_PAYLOAD);
            } else if (!inRange) {
              error(handle, EINVAL, "read beyond the end of the export");
            } else {
              int n = (int) length;
              byte[] buf = payloads.take(n);
              try {
                e.read(offset, ByteBuffer.wrap(buf, 0, n));
                readReply(handle, offset, buf, n);
              } finally {
                payloads.give(buf);
              }
            }
          }
          case CMD_WRITE -> {
            if (e.readOnly()) {
              if (negotiatedWritable && !warnedReadOnly) {
                warnedReadOnly = true; // once per connection: a writer retries in a loop
                LOG.log(System.Logger.Level.WARNING, "NBD: export '" + e.name() + "' turned read-only under a connected "
                    + "writer (" + socket.peer() + "): its writes now fail with "
                    + "EPERM (" + e.description() + ")");
              }
              error(handle, EPERM, "export is read-only");
            } else if (!inRange) {
              error(handle, ENOSPC, "write beyond the end of the export");
            } else {
              e.write(offset, ByteBuffer.wrap(data, 0, (int) length));
              if ((flags & CMD_FLAG_FUA) != 0) {
                e.flush();
              }
              ok(handle);
            }
          }
          case CMD_FLUSH -> {
            e.flush();
            ok(handle);
          }
          case CMD_TRIM, CMD_WRITE_ZEROES -> {
            if (e.readOnly()) {
              error(handle, EPERM, "export is read-only");
            } else if (!inRange) {
              error(handle, type == CMD_TRIM ? EINVAL : ENOSPC, "range beyond the end");
            } else {
              if (type == CMD_TRIM) {
                e.trim(offset, length);
              } else {
                e.writeZeroes(offset, length, (flags & CMD_FLAG_NO_HOLE) == 0);
              }
              if ((flags & CMD_FLAG_FUA) != 0) {
                e.flush();
              }
              ok(handle);
            }
          }
          case CMD_BLOCK_STATUS -> {
            if (!structured || contexts.isEmpty()) {
              error(handle, EINVAL, "block status needs a meta context (base:allocation or "
                  + DIRTY_BITMAP_PREFIX + "NAME)");
            } else if (offset < 0 || offset >= e.size() || length == 0) {
              error(handle, EINVAL, "block status outside the export");
            } else {
              long len = Math.min(length, e.size() - offset);
              int left = contexts.size();
              for (Map.Entry<Integer, String> ctx : contexts.entrySet()) {
                boolean allocation = ctx.getValue().equals(ALLOCATION_CONTEXT);
                ExtentSet set = allocation ? e.allocated(offset, len)
                    : e.dirty(ctx.getValue().substring(DIRTY_BITMAP_PREFIX.length()), offset, len);
                blockStatus(handle, ctx.getKey(), offset, len, set, allocation,
                    (flags & CMD_FLAG_REQ_ONE) != 0, --left == 0);
              }
            }
          }
          default -> error(handle, EINVAL, "command " + type + " not supported");
        }
      } catch (IOException | RuntimeException failure) {
        int code = errno.apply(failure);
        LOG.log(System.Logger.Level.DEBUG, "NBD command " + type + " failed", failure);
        error(handle, code, String.valueOf(failure.getMessage()));
      }
    }

    private void ok(long handle) throws IOException {
      synchronized (writeLock) {
        if (structured) {
          structuredHeader(REPLY_FLAG_DONE, REPLY_TYPE_NONE, handle, 0);
        } else {
          simpleHeader(0, handle);
        }
        out.flush();
      }
    }

    private void readReply(long handle, long offset, byte[] buf, int length) throws IOException {
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

    private void error(long handle, int code, String message) throws IOException {
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
    private void blockStatus(long handle, int contextId, long offset, long length,
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

    private void closeQuietly() {
      try {
        socket.close();
      } catch (IOException e) {
        // already failing
      }
    }
  }
}
