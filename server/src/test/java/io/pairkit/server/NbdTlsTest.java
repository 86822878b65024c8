package io.pairkit.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.server.config.ConfigLoader;
import io.pairkit.server.config.ConfigException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * NBD over TLS with real clients: pairkitd with {@code server.nbd.tls.dir} serves
 * {@code nbdinfo nbds://} and {@code qemu-img}/{@code qemu-io} with {@code tls-creds-x509}; a plain
 * client, a client that does not trust the server's CA and (with client certificates required) a
 * client without one are refused. Certificates are made with {@code openssl} for the run.
 */
@Timeout(120)
class NbdTlsTest {
  private static final long SIZE = 4L << 20;

  @TempDir
  Path dir;

  @Test
  void tlsClientsWork_plainAndUntrustingClientsAreRefused() throws Exception {
    Tools.require("openssl", "openssl");
    Tools.require("libnbd-bin", "nbdinfo");
    Path server = Files.createDirectories(dir.resolve("server"));
    Path client = Files.createDirectories(dir.resolve("client"));
    Path stranger = Files.createDirectories(dir.resolve("stranger"));
    TestCertificates.ca(dir.resolve("ca"));
    TestCertificates.ca(dir.resolve("other-ca"));
    TestCertificates.signed(dir.resolve("ca"), server, "server", "127.0.0.1", "serverAuth");
    Files.copy(dir.resolve("ca/ca-cert.pem"), client.resolve("ca-cert.pem"));
    Files.copy(dir.resolve("other-ca/ca-cert.pem"), stranger.resolve("ca-cert.pem"));
    try (DaemonRig rig = DaemonRig.start(dir, SIZE, "server.nbd.tls.dir=" + server)) {
      int port = rig.daemon.nbdPort();
      String ok = Tools.ok(30, "nbdinfo", "--size",
          "nbds://127.0.0.1:" + port + "/prod?tls-certificates=" + client);
      assertTrue(ok.trim().equals(Long.toString(SIZE)), ok);

      Tools.Run plain = Tools.run(30, List.of("nbdinfo", "nbd://127.0.0.1:" + port + "/prod"));
      assertNotEquals(0, plain.code(), "a plain client is refused: " + plain.out());
      assertTrue(plain.out().toLowerCase().contains("tls"), plain.out());

      Tools.Run untrusting = Tools.run(30, List.of("nbdinfo", "--size",
          "nbds://127.0.0.1:" + port + "/prod?tls-certificates=" + stranger));
      assertNotEquals(0, untrusting.code(), "a client without the CA is refused: "
          + untrusting.out());

      if (Tools.has("qemu-io")) { // a write and its read back through QEMU's TLS client
        String object = "tls-creds-x509,id=tls0,endpoint=client,dir=" + client;
        String image = "driver=nbd,host=127.0.0.1,port=" + port + ",export=prod,tls-creds=tls0";
        Tools.ok(60, "qemu-io", "--object", object, "--image-opts", image, "-c",
            "write -P 0x5a 1M 64k");
        String read = Tools.ok(60, "qemu-io", "--object", object, "--image-opts", image, "-c",
            "read -P 0x5a 1M 64k");
        assertTrue(!read.contains("Pattern verification failed"), read);
        byte[] want = new byte[64 << 10];
        java.util.Arrays.fill(want, (byte) 0x5a);
        assertArrayEquals(want, rig.daemon.controller().volume("prod").read(1 << 20, 64 << 10));
      }
    }
  }

  @Test
  void withClientCertificatesRequired_aClientWithoutOneIsRefused() throws Exception {
    Tools.require("openssl", "openssl");
    Tools.require("libnbd-bin", "nbdinfo");
    Path server = Files.createDirectories(dir.resolve("server"));
    Path client = Files.createDirectories(dir.resolve("client"));
    Path anonymous = Files.createDirectories(dir.resolve("anonymous"));
    TestCertificates.ca(dir.resolve("ca"));
    TestCertificates.signed(dir.resolve("ca"), server, "server", "127.0.0.1", "serverAuth");
    TestCertificates.signed(dir.resolve("ca"), client, "client", "backup-host", "clientAuth");
    Files.copy(dir.resolve("ca/ca-cert.pem"), server.resolve("ca-cert.pem"));
    Files.copy(dir.resolve("ca/ca-cert.pem"), client.resolve("ca-cert.pem"));
    Files.copy(dir.resolve("ca/ca-cert.pem"), anonymous.resolve("ca-cert.pem"));
    try (DaemonRig rig = DaemonRig.start(dir, SIZE, "server.nbd.tls.dir=" + server
        + "\nserver.nbd.tls.verifyClients=true")) {
      int port = rig.daemon.nbdPort();
      Tools.ok(30, "nbdinfo", "--size",
          "nbds://127.0.0.1:" + port + "/prod?tls-certificates=" + client);
      Tools.Run without = Tools.run(30, List.of("nbdinfo", "--size",
          "nbds://127.0.0.1:" + port + "/prod?tls-certificates=" + anonymous));
      assertNotEquals(0, without.code(), "no client certificate: refused: " + without.out());
    }
  }

  @Test
  void aNonLoopbackNbdAddressNeedsTlsOrAnExplicitOverride() throws Exception {
    Path config = DaemonRig.writeConfig(dir, SIZE, "server.allowRemote=true\n"
        + "server.nbd.address=0.0.0.0");
    ConfigException e = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
        () -> new ConfigLoader().load(config));
    assertTrue(e.getMessage().contains("server.nbd.tls.dir")
        && e.getMessage().contains("server.nbd.allowPlaintext=true"), e.getMessage());
    Path allowed = DaemonRig.writeConfig(dir, SIZE, "server.allowRemote=true\n"
        + "server.nbd.address=0.0.0.0\nserver.nbd.allowPlaintext=true");
    new ConfigLoader().load(allowed);
  }
}
