package io.pairkit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.server.config.ConfigException;
import io.pairkit.server.config.ConfigLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * NBD on a Unix socket whose file mode decides who connects: {@code nbdinfo} and
 * {@code qemu-io} reach the exports through {@code nbd+unix://}, with TCP switched off; another
 * local user, without the file's permission, is refused (run when the test runs as root and the
 * system has a second user to run as).
 */
@Timeout(120)
class NbdUnixSocketTest {
  private static final long SIZE = 4L << 20;

  @TempDir
  Path dir;

  @Test
  void clientsConnectThroughTheSocket_andItsFileModeKeepsOtherUsersOut() throws Exception {
    Tools.require("libnbd-bin", "nbdinfo");
    Path socket = dir.resolve("run/nbd.sock");
    try (DaemonRig rig = DaemonRig.start(dir, SIZE, "server.nbd.socket=" + socket
        + "\nserver.nbd.tcp=false\nserver.nbd.socketMode=rw-------")) {
      assertEquals(-1, rig.daemon.nbdPort(), "no TCP listener");
      assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(
          socket)));
      String uri = "nbd+unix:///prod?socket=" + socket;
      assertEquals(Long.toString(SIZE), Tools.ok(30, "nbdinfo", "--size", uri).trim());
      if (Tools.has("qemu-io")) {
        Tools.ok(60, "qemu-io", "-f", "raw", uri, "-c", "write -P 0x3c 64k 64k");
        String read = Tools.ok(60, "qemu-io", "-f", "raw", uri, "-c", "read -P 0x3c 64k 64k");
        assertTrue(!read.contains("Pattern verification failed"), read);
      }
      String other = otherUser();
      if (other != null) {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(dir.resolve("run"),
            PosixFilePermissions.fromString("rwxr-xr-x"));
        Tools.Run refused = Tools.run(30, List.of("runuser", "-u", other, "--", "nbdinfo",
            "--size", uri));
        assertNotEquals(0, refused.code(), "user " + other + " is refused: " + refused.out());
        assertTrue(refused.out().toLowerCase().contains("permission denied"), refused.out());
      }
    }
    assertTrue(!Files.exists(socket), "the socket file goes with the daemon");
  }

  @Test
  void noListenerAtAll_isRefusedAtStart() throws Exception {
    Path config = DaemonRig.writeConfig(dir, SIZE, "server.nbd.tcp=false");
    ConfigException e = assertThrows(ConfigException.class,
        () -> new ConfigLoader().load(config));
    assertTrue(e.getMessage().contains("server.nbd.socket"), e.getMessage());
  }

  /** A second local user to run a client as (root only), or null (then that part is skipped). */
  private static String otherUser() throws Exception {
    if (!"root".equals(System.getProperty("user.name")) || !Tools.has("runuser")) {
      System.out.println("SKIPPED part: another user's refusal needs root and runuser");
      return null;
    }
    for (String user : List.of("pkfresh", "nobody")) {
      if (Tools.run(10, List.of("id", "-u", user)).code() == 0) {
        return user;
      }
    }
    System.out.println("SKIPPED part: no second local user to run a client as");
    return null;
  }
}
