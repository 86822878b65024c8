package io.pairkit.nbd;

import java.io.IOException;
import java.net.Socket;
import java.nio.file.Path;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSocket;

/**
 * TLS for NBD ({@code NBD_OPT_STARTTLS}, as {@code qemu-nbd --tls-creds}): the server side of
 * the handshake after the STARTTLS reply, optionally requiring a client certificate, and the
 * client's certificate subject for client rules and the log.
 *
 * <p>Threading: immutable; {@link #upgrade} from any thread.
 */
public final class NbdTls {
  private final SSLContext context;
  private final boolean verifyClients;
  private final Path dir;

  private NbdTls(SSLContext context, boolean verifyClients, Path dir) {
    this.context = context;
    this.verifyClients = verifyClients;
    this.dir = dir;
  }

  /**
   * NBD TLS with {@code context} (its server side loaded, e.g. by pairkitd from QEMU's
   * tls-creds-x509 directory {@code dir}).
   *
   * @param verifyClients whether a client must present a certificate the context trusts
   */
  public static NbdTls of(SSLContext context, boolean verifyClients, Path dir) {
    return new NbdTls(context, verifyClients, dir);
  }

  /**
   * Runs the server side of the TLS handshake on {@code plain} (after the STARTTLS reply) and
   * returns the encrypted socket; closing it closes {@code plain}.
   *
   * @throws IOException if the handshake fails (a client that does not trust the certificate,
   *     or without an accepted certificate of its own)
   */
  SSLSocket upgrade(Socket plain) throws IOException {
    SSLSocket tls = (SSLSocket) context.getSocketFactory().createSocket(plain,
        plain.getInetAddress().getHostAddress(), plain.getPort(), true);
    tls.setUseClientMode(false);
    tls.setNeedClientAuth(verifyClients);
    tls.startHandshake();
    return tls;
  }

  /** The client's certificate subject, or null if it presented none. */
  static String peer(SSLSocket tls) {
    try {
      Certificate[] chain = tls.getSession().getPeerCertificates();
      return chain.length > 0 && chain[0] instanceof X509Certificate x
          ? x.getSubjectX500Principal().getName() : null;
    } catch (SSLPeerUnverifiedException none) {
      return null;
    }
  }

  public boolean verifyClients() {
    return verifyClients;
  }

  @Override
  public String toString() {
    return "TLS (" + dir + (verifyClients ? ", client certificates required" : "") + ")";
  }
}
