package io.pairkit.server;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * X.509 certificates made with {@code openssl} for a test run, in QEMU's tls-creds-x509 file
 * names (callers check {@code Tools.require("openssl", "openssl")} first).
 */
public final class TestCertificates {
  private TestCertificates() {
  }

  /** A CA: {@code ca-cert.pem} and {@code ca-key.pem} in {@code dir}. */
  public static void ca(Path dir) throws Exception {
    Files.createDirectories(dir);
    Tools.ok(60, "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=pairkit test CA " + dir.getFileName(),
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-keyout", dir.resolve("ca-key.pem").toString(),
        "-out", dir.resolve("ca-cert.pem").toString());
  }

  /**
   * A certificate the CA in {@code ca} signs, as {@code ROLE-cert.pem} and {@code ROLE-key.pem}
   * in {@code dir}, for {@code name} (an IP address or a host name) and {@code usage}.
   */
  public static void signed(Path ca, Path dir, String role, String name, String usage)
      throws Exception {
    Path key = dir.resolve(role + "-key.pem");
    Path csr = dir.resolve(role + ".csr");
    Path ext = dir.resolve(role + ".ext");
    Files.writeString(ext, "subjectAltName=" + (name.matches("[0-9.]+") ? "IP:" : "DNS:")
        + name + "\nextendedKeyUsage=" + usage
        + "\nkeyUsage=critical,digitalSignature,keyEncipherment\n");
    Tools.ok(60, "openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + name,
        "-keyout", key.toString(), "-out", csr.toString());
    Tools.ok(60, "openssl", "x509", "-req", "-in", csr.toString(), "-CA",
        ca.resolve("ca-cert.pem").toString(), "-CAkey", ca.resolve("ca-key.pem").toString(),
        "-CAcreateserial", "-days", "2", "-extfile", ext.toString(),
        "-out", dir.resolve(role + "-cert.pem").toString());
  }
}
