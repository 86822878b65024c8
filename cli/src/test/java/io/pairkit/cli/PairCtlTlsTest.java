package io.pairkit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.server.DaemonRig;
import io.pairkit.server.TestCertificates;
import io.pairkit.server.Tools;
import io.pairkit.server.config.ConfigException;
import io.pairkit.server.config.ConfigLoader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The control endpoint over HTTPS ({@code server.control.tls.dir}): pairctl with the daemon's
 * configuration trusts {@code ca-cert.pem} there and works; without the CA, with another CA or
 * in plain HTTP it is refused with a message that says what to give; a non-loopback control
 * address without TLS does not start. Certificates are made with {@code openssl} for the run.
 */
@Timeout(120)
class PairCtlTlsTest {
  private static final long SIZE = 4L << 20;

  @TempDir
  Path dir;

  private record Result(int code, String out, String err) {
  }

  private static Result ctl(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = PairCtl.run(new PrintWriter(out), new PrintWriter(err), args);
    return new Result(code, out.toString(), err.toString());
  }

  @Test
  void pairctlTalksHttpsWithTheConfiguredCa_andIsRefusedWithoutIt() throws Exception {
    Tools.require("openssl", "openssl");
    Path tls = Files.createDirectories(dir.resolve("tls"));
    TestCertificates.ca(dir.resolve("ca"));
    TestCertificates.ca(dir.resolve("other-ca"));
    TestCertificates.signed(dir.resolve("ca"), tls, "server", "127.0.0.1", "serverAuth");
    Files.copy(dir.resolve("ca/ca-cert.pem"), tls.resolve("ca-cert.pem"));
    try (DaemonRig rig = DaemonRig.start(dir, SIZE, "server.control.tls.dir=" + tls)) {
      String https = rig.endpoint();
      assertTrue(https.startsWith("https://"), https);
      String token = rig.tokenFile().toString();
      // The daemon's configuration as pairctl reads it: the port the daemon got.
      Path config = dir.resolve("pairctl.properties");
      Files.writeString(config, Files.readString(rig.configFile).replace(
          "server.control.port=0", "server.control.port=" + rig.daemon.controlPort()));

      Result viaConfig = ctl("--config", config.toString(), "volume", "list");
      assertEquals(PairCtl.OK, viaConfig.code, viaConfig.err);
      assertTrue(viaConfig.out.contains("prod") && viaConfig.out.contains("copy"),
          viaConfig.out);
      // server.control.url wins over the address (here one nothing answers at, TEST-NET-1).
      Path byUrl = dir.resolve("pairctl-url.properties");
      Files.writeString(byUrl, Files.readString(config)
          + "\nserver.control.address=192.0.2.1\nserver.control.url=" + https + "\n");
      Result viaUrl = ctl("--config", byUrl.toString(), "volume", "list");
      assertEquals(PairCtl.OK, viaUrl.code, viaUrl.err);
      Result created = ctl("--config", config.toString(), "pair", "create", "p1",
          "-p", "prod", "-s", "copy");
      assertEquals(PairCtl.OK, created.code, created.err);

      Result withCa = ctl("--endpoint", https, "--token-file", token, "--ca",
          dir.resolve("ca/ca-cert.pem").toString(), "pair", "display", "p1");
      assertEquals(PairCtl.OK, withCa.code, withCa.err);

      Result noCa = ctl("--endpoint", https, "--token-file", token, "volume", "list");
      assertEquals(PairCtl.FAILED, noCa.code, noCa.out);
      assertTrue(noCa.err.contains("--ca FILE"), noCa.err);

      String other = dir.resolve("other-ca/ca-cert.pem").toString();
      Result wrongCa = ctl("--endpoint", https, "--token-file", token, "--ca", other,
          "volume", "list");
      assertEquals(PairCtl.FAILED, wrongCa.code, wrongCa.out);
      assertTrue(wrongCa.err.contains("not signed by " + other), wrongCa.err);

      Result plain = ctl("--endpoint", https.replace("https://", "http://"), "--token-file",
          token, "volume", "list");
      assertEquals(PairCtl.NOT_RUNNING, plain.code, plain.out);
      assertTrue(plain.err.contains("use https://"), plain.err);

      Result missingCa = ctl("--endpoint", https, "--token-file", token, "--ca",
          dir.resolve("nowhere.pem").toString(), "volume", "list");
      assertEquals(PairCtl.USAGE, missingCa.code, missingCa.out);
      assertTrue(missingCa.err.contains("nowhere.pem"), missingCa.err);
    }
  }

  @Test
  void aNonLoopbackControlAddressNeedsTlsOrAnExplicitOverride() throws Exception {
    Path config = DaemonRig.writeConfig(dir, SIZE, "server.allowRemote=true\n"
        + "server.control.address=0.0.0.0");
    ConfigException e = assertThrows(ConfigException.class,
        () -> new ConfigLoader().load(config));
    assertTrue(e.getMessage().contains("server.control.tls.dir")
        && e.getMessage().contains("server.control.allowPlaintext=true"), e.getMessage());
    Path allowed = DaemonRig.writeConfig(dir, SIZE, "server.allowRemote=true\n"
        + "server.control.address=0.0.0.0\nserver.control.allowPlaintext=true");
    assertEquals("0.0.0.0", new ConfigLoader().load(allowed).controlAddress());
    Path withTls = DaemonRig.writeConfig(dir, SIZE, "server.allowRemote=true\n"
        + "server.control.address=0.0.0.0\nserver.control.tls.dir=" + dir);
    assertEquals(dir, new ConfigLoader().load(withTls).controlTlsDir().orElseThrow());
    Path plainUrlWithTls = DaemonRig.writeConfig(dir, SIZE, "server.allowRemote=true\n"
        + "server.control.address=0.0.0.0\nserver.control.tls.dir=" + dir
        + "\nserver.control.url=http://store1.example.com:10810");
    ConfigException wrongScheme = assertThrows(ConfigException.class,
        () -> new ConfigLoader().load(plainUrlWithTls));
    assertTrue(wrongScheme.getMessage().contains("server.control.url")
        && wrongScheme.getMessage().contains("https://HOST:PORT"), wrongScheme.getMessage());
    Path namedUrl = DaemonRig.writeConfig(dir, SIZE, "server.allowRemote=true\n"
        + "server.control.address=0.0.0.0\nserver.control.tls.dir=" + dir
        + "\nserver.control.url=https://store1.example.com:10810");
    assertEquals(dir, new ConfigLoader().load(namedUrl).controlTlsDir().orElseThrow());
  }
}
