package io.pairkit.nbd;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.channels.SocketChannel;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One client's byte stream, over TCP (a {@link Socket}, which STARTTLS may replace by an
 * encrypted one) or a Unix domain socket (a {@link SocketChannel}, whose file's mode and group
 * decide who may connect, and whose peer is named by its credentials).
 */
abstract class NbdLink implements Closeable {
  abstract InputStream in() throws IOException;

  abstract OutputStream out() throws IOException;

  /** Who is at the other end, for logs. */
  abstract String peer();

  /** A read that waits longer than {@code ms} (0: for ever) closes the link. */
  abstract void timeout(int ms) throws IOException;

  abstract boolean isClosed();

  /** Who the client is (address, certificate subject, Unix user), for export rules. */
  abstract NbdPeer identity();

  /** The TCP socket, or null for a Unix socket (no TLS there: its file mode guards it). */
  abstract Socket tcp();

  static NbdLink of(Socket s) {
    return new Tcp(s);
  }

  static NbdLink of(SocketChannel c) {
    return new Unix(c);
  }

  private static final class Tcp extends NbdLink {
    private final Socket socket;

    Tcp(Socket socket) {
      this.socket = socket;
    }

    @Override
    InputStream in() throws IOException {
      return socket.getInputStream();
    }

    @Override
    OutputStream out() throws IOException {
      return socket.getOutputStream();
    }

    @Override
    String peer() {
      return String.valueOf(socket.getRemoteSocketAddress());
    }

    @Override
    void timeout(int ms) throws IOException {
      socket.setSoTimeout(ms);
    }

    @Override
    boolean isClosed() {
      return socket.isClosed();
    }

    @Override
    Socket tcp() {
      return socket;
    }

    @Override
    NbdPeer identity() {
      String subject = socket instanceof javax.net.ssl.SSLSocket tls ? NbdTls.peer(tls) : null;
      return new NbdPeer(socket.getInetAddress(), subject, null);
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }

  private static final class Unix extends NbdLink {
    /** Closes Unix links whose handshake outlives its timeout (their streams have none). */
    private static final ScheduledExecutorService TIMER =
        Executors.newSingleThreadScheduledExecutor(r -> {
          Thread t = new Thread(r, "nbd-unix-timeouts");
          t.setDaemon(true);
          return t;
        });

    private final SocketChannel channel;
    private final String peer;
    private final String user;
    private ScheduledFuture<?> deadline;

    Unix(SocketChannel channel) {
      this.channel = channel;
      String who;
      String name = null;
      try {
        jdk.net.UnixDomainPrincipal p = channel.getOption(jdk.net.ExtendedSocketOptions
            .SO_PEERCRED);
        name = p.user().getName();
        who = "unix socket, user " + name + " group " + p.group().getName();
      } catch (IOException | UnsupportedOperationException e) {
        who = "unix socket";
      }
      this.peer = who;
      this.user = name;
    }

    // Not Channels.newInputStream/newOutputStream: both lock the channel's blocking lock, so a
    // reply could not be written while the reader waits for the next request.
    @Override
    InputStream in() {
      return new InputStream() {
        @Override
        public int read() throws IOException {
          byte[] one = new byte[1];
          return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
          return len == 0 ? 0 : channel.read(java.nio.ByteBuffer.wrap(b, off, len));
        }
      };
    }

    @Override
    OutputStream out() {
      return new OutputStream() {
        @Override
        public void write(int b) throws IOException {
          write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
          java.nio.ByteBuffer buf = java.nio.ByteBuffer.wrap(b, off, len);
          while (buf.hasRemaining()) {
            channel.write(buf);
          }
        }
      };
    }

    @Override
    String peer() {
      return peer;
    }

    @Override
    synchronized void timeout(int ms) {
      if (deadline != null) {
        deadline.cancel(false);
        deadline = null;
      }
      if (ms > 0) {
        deadline = TIMER.schedule(() -> {
          try {
            channel.close();
          } catch (IOException e) {
            // closing anyway
          }
        }, ms, TimeUnit.MILLISECONDS);
      }
    }

    @Override
    boolean isClosed() {
      return !channel.isOpen();
    }

    @Override
    Socket tcp() {
      return null;
    }

    @Override
    NbdPeer identity() {
      return new NbdPeer(null, null, user);
    }

    @Override
    public void close() throws IOException {
      timeout(0);
      channel.close();
    }
  }
}
