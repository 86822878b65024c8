package io.pairkit.server;

import io.pairkit.nbd.NbdClientRules;
import io.pairkit.nbd.NbdPeer;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.server.config.ConfigException;
import io.pairkit.server.config.ConfigLoader;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Per-export client rules ({@code volume.NAME.exportAllow}): addresses and networks, certificate
 * subjects, Unix users; an export refuses (and does not list) a client its rules do not name,
 * checked with nbdinfo against pairkitd.
 */
@Timeout(60)
class NbdClientRulesTest {
  @TempDir
  Path dir;

  private static NbdPeer tcp(String address) throws Exception {
    return new NbdPeer(InetAddress.getByName(address), null, null);
  }

  @Test
  void rulesAdmitTheClientsTheyName() throws Exception {
    NbdClientRules r = NbdClientRules.parse("10.0.0.0/8, 192.0.2.7, fd00::/8, cert:CN=backup, "
        + "user:backup");
    assertTrue(r.admits(tcp("10.1.2.3")));
    assertTrue(r.admits(tcp("192.0.2.7")));
    assertFalse(r.admits(tcp("192.0.2.8")));
    assertFalse(r.admits(tcp("127.0.0.1")));
    assertTrue(r.admits(tcp("fd12::1")));
    assertTrue(r.admits(new NbdPeer(InetAddress.getByName("127.0.0.1"), "CN=backup,O=x", null)));
    assertFalse(r.admits(new NbdPeer(null, "CN=backupx", null)));
    assertTrue(r.admits(new NbdPeer(null, null, "backup")));
    assertFalse(r.admits(new NbdPeer(null, null, "root")));
    assertTrue(NbdClientRules.all().admits(new NbdPeer(null, null, null)));
    IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
        () -> NbdClientRules.parse("backup-host"));
    assertTrue(bad.getMessage().contains("cert:SUBJECT or user:NAME"), bad.getMessage());
    assertThrows(IllegalArgumentException.class, () -> NbdClientRules.parse("10.0.0.0/33"));
  }

  @Test
  void anExportRefusesAndHidesItselfFromClientsItsRulesDoNotName() throws Exception {
    Tools.require("libnbd-bin", "nbdinfo");
    try (DaemonRig rig = DaemonRig.start(dir, 4L << 20,
        "volume.prod.exportAllow=10.0.0.0/8\nvolume.copy.exportAllow=127.0.0.0/8")) {
      String base = "nbd://127.0.0.1:" + rig.daemon.nbdPort() + "/";
      Tools.Run refused = Tools.run(30, List.of("nbdinfo", "--size", base + "prod"));
      assertNotEquals(0, refused.code(), refused.out());
      assertTrue(refused.out().toLowerCase().contains("policy")
          || refused.out().toLowerCase().contains("not serve"), refused.out());
      assertEquals(Long.toString(4L << 20), Tools.ok(30, "nbdinfo", "--size", base + "copy")
          .trim());
      String list = Tools.ok(30, "nbdinfo", "--list", base);
      assertTrue(list.contains("copy") && !list.contains("export=\"prod\"")
          && !list.contains("prod\n"), list);
    }
    Path bad = DaemonRig.writeConfig(dir, 4L << 20, "volume.prod.exportAllow=somehost");
    ConfigException e = assertThrows(ConfigException.class, () -> new ConfigLoader().load(bad));
    assertTrue(e.getMessage().contains("volume.prod.exportAllow"), e.getMessage());
  }
}
