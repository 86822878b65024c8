package io.pairkit.nbd;

import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.Collection;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/**
 * TLS for NBD ({@code NBD_OPT_STARTTLS}, as {@code qemu-nbd --tls-creds}) from X.509
 * credentials in QEMU's directory layout: {@code server-cert.pem} (the server's certificate,
 * its chain after it), {@code server-key.pem} (its key: PKCS#8, or PKCS#1 RSA) and
 * {@code ca-cert.pem} (the CA that signs client certificates, needed when clients must present
 * one). The same directory serves {@code qemu-nbd}, so an admin keeps one set of files.
 *
 * <p>Threading: immutable after {@link #load}; {@link #upgrade} from any thread.
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
   * Loads the credentials of {@code dir}.
   *
   * @param verifyClients whether a client must present a certificate signed by
   *                      {@code ca-cert.pem}
   * @throws IOException naming the file that is missing or unreadable and what it must hold
   */
  public static NbdTls load(Path dir, boolean verifyClients) throws IOException {
    Path cert = dir.resolve("server-cert.pem");
    Path key = dir.resolve("server-key.pem");
    Path ca = dir.resolve("ca-cert.pem");
    for (Path p : verifyClients ? new Path[] {cert, key, ca} : new Path[] {cert, key}) {
      if (!Files.isReadable(p)) {
        throw new IOException("NBD TLS: " + p + " is missing or unreadable; the directory "
            + "holds server-cert.pem, server-key.pem" + (verifyClients ? " and ca-cert.pem" : "")
            + " (QEMU's tls-creds-x509 layout)");
      }
    }
    try {
      CertificateFactory x509 = CertificateFactory.getInstance("X.509");
      Collection<? extends Certificate> chain;
      try (var in = Files.newInputStream(cert)) {
        chain = x509.generateCertificates(in);
      }
      if (chain.isEmpty()) {
        throw new IOException("NBD TLS: " + cert + " holds no certificate");
      }
      PrivateKey privateKey = privateKey(key);
      KeyStore keys = KeyStore.getInstance("PKCS12");
      keys.load(null, null);
      keys.setKeyEntry("server", privateKey, new char[0], chain.toArray(new Certificate[0]));
      KeyManagerFactory kmf = KeyManagerFactory.getInstance(
          KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(keys, new char[0]);
      TrustManagerFactory tmf = null;
      if (verifyClients) {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        int i = 0;
        try (var in = Files.newInputStream(ca)) {
          for (Certificate c : x509.generateCertificates(in)) {
            trust.setCertificateEntry("ca" + i++, c);
          }
        }
        tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
      }
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(kmf.getKeyManagers(), tmf == null ? null : tmf.getTrustManagers(), null);
      return new NbdTls(context, verifyClients, dir);
    } catch (GeneralSecurityException e) {
      throw new IOException("NBD TLS: the credentials in " + dir + " do not load: " + e
          .getMessage() + " (server-key.pem must be the key of server-cert.pem, PEM, "
          + "unencrypted)", e);
    }
  }

  /** A PEM private key: PKCS#8 ({@code BEGIN PRIVATE KEY}) or PKCS#1 RSA. */
  private static PrivateKey privateKey(Path file) throws IOException, GeneralSecurityException {
    String pem = Files.readString(file, StandardCharsets.US_ASCII);
    boolean pkcs1 = pem.contains("BEGIN RSA PRIVATE KEY");
    if (!pkcs1 && !pem.contains("BEGIN PRIVATE KEY")) {
      throw new IOException("NBD TLS: " + file + " is not an unencrypted PKCS#8 or RSA PEM key; "
          + "convert it with: openssl pkcs8 -topk8 -nocrypt -in KEY -out " + file);
    }
    String body = pem.replaceAll("-----(BEGIN|END)[^-]*-----", "").replaceAll("\\s", "");
    byte[] der = Base64.getDecoder().decode(body);
    if (pkcs1) {
      der = pkcs1ToPkcs8(der);
    }
    PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(der);
    for (String algorithm : new String[] {"RSA", "EC", "Ed25519"}) {
      try {
        return KeyFactory.getInstance(algorithm).generatePrivate(spec);
      } catch (GeneralSecurityException wrongAlgorithm) {
        // try the next
      }
    }
    throw new IOException("NBD TLS: " + file + " holds a key of an algorithm other than RSA, "
        + "EC or Ed25519");
  }

  /** Wraps a PKCS#1 RSAPrivateKey in a PKCS#8 PrivateKeyInfo. */
  private static byte[] pkcs1ToPkcs8(byte[] pkcs1) {
    byte[] algorithm = {0x30, 0x0d, 0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86,
        (byte) 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};
    byte[] version = {0x02, 0x01, 0x00};
    byte[] octets = concat(new byte[] {0x04}, length(pkcs1.length), pkcs1);
    byte[] body = concat(version, algorithm, octets);
    return concat(new byte[] {0x30}, length(body.length), body);
  }

  private static byte[] length(int n) {
    if (n < 0x80) {
      return new byte[] {(byte) n};
    }
    if (n < 0x100) {
      return new byte[] {(byte) 0x81, (byte) n};
    }
    if (n < 0x10000) {
      return new byte[] {(byte) 0x82, (byte) (n >> 8), (byte) n};
    }
    return new byte[] {(byte) 0x83, (byte) (n >> 16), (byte) (n >> 8), (byte) n};
  }

  private static byte[] concat(byte[]... parts) {
    int n = 0;
    for (byte[] p : parts) {
      n += p.length;
    }
    byte[] out = new byte[n];
    int at = 0;
    for (byte[] p : parts) {
      System.arraycopy(p, 0, out, at, p.length);
      at += p.length;
    }
    return out;
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
