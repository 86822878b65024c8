package io.pairkit.nbd;

import java.lang.System.Logger.Level;
import static io.pairkit.nbd.NbdProtocol.*;

import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
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
 * {@link NbdTls} it requires TLS ({@code NBD_OPT_STARTTLS}, as {@code qemu-nbd --tls-creds}):
 * before it, every option but STARTTLS and ABORT is refused with {@code NBD_REP_ERR_TLS_REQD}.
 *
 * <p>Each connection has a reader thread; requests run concurrently on a shared pool (up to
 * 16 per connection) and replies are written whole under the connection's lock,
 * so clients may pipeline. A flush replies once every write completed before it is durable
 * ({@link NbdExport#flush}), across connections, so {@code CAN_MULTI_CONN} is advertised.
 *
 * <p>Threading: {@link #start} and {@link #close} from any thread; {@link #close} stops accepting,
 * lets requests in flight finish and closes every connection.
 */
public final class NbdServer implements Closeable {
  private static final System.Logger LOG = System.getLogger(NbdServer.class.getName());


  /** The TCP listener, or null when NBD is served on the Unix socket only. */
  private final ServerSocket listener;
  /** The Unix socket listener and its file, or null. */
  private final java.nio.channels.ServerSocketChannel unixListener;
  private final java.nio.file.Path socketPath;
  private final Thread unixAcceptor;
  final Function<String, NbdExport> exports;
  final java.util.function.Supplier<List<NbdExport>> listing;
  final Function<Throwable, Integer> errno;
  /** Null: plain TCP; else TLS is required before any export. */
  final NbdTls tls;
  final ExecutorService workers;
  final Set<NbdConnection> connections = ConcurrentHashMap.newKeySet();
  private final Thread acceptor;
  private final AtomicInteger connectionCount = new AtomicInteger();
  final Semaphore memory = new Semaphore(MEMORY_BUDGET);
  /** Payload arrays reused across requests and connections. */
  final PayloadPool payloads = new PayloadPool();
  volatile boolean closed;

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
      for (NbdConnection c : connections) {
        c.shutdown();
      }
      workers.shutdown();
      if (!workers.awaitTermination(DRAIN_SECONDS, java.util.concurrent.TimeUnit.SECONDS)) {
        LOG.log(Level.WARNING, "NBD requests still running at close; their replies are lost");
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
            LOG.log(Level.WARNING, "NBD: refusing a connection from "
                + s.getRemoteSocketAddress() + ": "
                + MAX_CONNECTIONS + " already open");
          }
          s.close();
          continue;
        }
        s.setTcpNoDelay(true);
        serve(NbdLink.of(s));
      } catch (IOException | RuntimeException | Error e) {
        if (!closed) {
          LOG.log(Level.WARNING, "NBD accept failed", e); // keep accepting
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
          LOG.log(Level.WARNING, "NBD accept on " + socketPath + " failed", e);
        }
      }
    }
  }

  private void serve(NbdLink link) {
    NbdConnection c = new NbdConnection(this, link);
    connections.add(c);
    connectionCount.incrementAndGet();
    Thread t = new Thread(c::run, "nbd-conn-" + connectionCount.get());
    t.setDaemon(true);
    t.start();
  }
}
