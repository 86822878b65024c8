package io.pairkit.control;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.Collection;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * TLS contexts from X.509 credentials in QEMU's {@code tls-creds-x509} directory layout:
 * {@code server-cert.pem} (the server's certificate, its chain after it), {@code server-key.pem}
 * (its key: PKCS#8, or PKCS#1 RSA, unencrypted) and {@code ca-cert.pem} (the CA). pairkitd's NBD
 * listener and control endpoint load their server side from it, pairctl trusts a CA file with
 * it, so an admin keeps one set of files for QEMU, pairkitd and pairctl.
 */
public final class TlsFiles {
  private TlsFiles() {
  }

  /**
   * The server side of {@code dir}.
   *
   * @param verifyClients whether a client must present a certificate {@code ca-cert.pem} signed
   * @param what          what the credentials are for, in messages (e.g. "NBD TLS")
   * @throws IOException naming the file that is missing, unreadable or wrong, and what it must
   *     hold
   */
  public static SSLContext server(Path dir, boolean verifyClients, String what)
      throws IOException {
    Path cert = dir.resolve("server-cert.pem");
    Path key = dir.resolve("server-key.pem");
    Path ca = dir.resolve("ca-cert.pem");
    for (Path p : verifyClients ? new Path[] {cert, key, ca} : new Path[] {cert, key}) {
      if (!Files.isReadable(p)) {
        throw new IOException(what + ": " + p + " is missing or unreadable; the directory "
            + "holds server-cert.pem, server-key.pem" + (verifyClients ? " and ca-cert.pem" : "")
            + " (QEMU's tls-creds-x509 layout)");
      }
    }
    try {
      Collection<? extends Certificate> chain = certificates(cert);
      if (chain.isEmpty()) {
        throw new IOException(what + ": " + cert + " holds no certificate");
      }
      PrivateKey privateKey = privateKey(key, what);
      KeyStore keys = KeyStore.getInstance("PKCS12");
      keys.load(null, null);
      keys.setKeyEntry("server", privateKey, new char[0], chain.toArray(new Certificate[0]));
      KeyManagerFactory kmf = KeyManagerFactory.getInstance(
          KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(keys, new char[0]);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(kmf.getKeyManagers(), verifyClients ? trustManagers(ca) : null, null);
      return context;
    } catch (GeneralSecurityException e) {
      throw new IOException(what + ": the credentials in " + dir + " do not load: "
          + e.getMessage() + " (server-key.pem must be the key of server-cert.pem, PEM, "
          + "unencrypted)", e);
    }
  }

  /**
   * A client context that trusts the certificates of {@code caPem} (and no others).
   *
   * @throws IOException naming the file if it is unreadable or holds no certificate
   */
  public static SSLContext trusting(Path caPem) throws IOException {
    if (!Files.isReadable(caPem)) {
      throw new IOException(caPem + " is missing or unreadable (the CA certificate, PEM)");
    }
    try {
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, trustManagers(caPem), null);
      return context;
    } catch (GeneralSecurityException e) {
      throw new IOException(caPem + " does not load as a PEM CA certificate: " + e.getMessage(),
          e);
    }
  }

  private static javax.net.ssl.TrustManager[] trustManagers(Path ca)
      throws IOException, GeneralSecurityException {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    int i = 0;
    for (Certificate c : certificates(ca)) {
      trust.setCertificateEntry("ca" + i++, c);
    }
    if (i == 0) {
      throw new IOException(ca + " holds no certificate");
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(
        TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    return tmf.getTrustManagers();
  }

  private static Collection<? extends Certificate> certificates(Path pem)
      throws IOException, GeneralSecurityException {
    try (var in = Files.newInputStream(pem)) {
      return CertificateFactory.getInstance("X.509").generateCertificates(in);
    }
  }

  /** A PEM private key: PKCS#8 ({@code BEGIN PRIVATE KEY}) or PKCS#1 RSA. */
  private static PrivateKey privateKey(Path file, String what) throws IOException, GeneralSecurityException {
    String pem = Files.readString(file, StandardCharsets.US_ASCII);
    boolean pkcs1 = pem.contains("BEGIN RSA PRIVATE KEY");
    if (!pkcs1 && !pem.contains("BEGIN PRIVATE KEY")) {
      throw new IOException(what + ": " + file + " is not an unencrypted PKCS#8 or RSA PEM key; "
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
    throw new IOException(what + ": " + file + " holds a key of an algorithm other than RSA, "
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

}
