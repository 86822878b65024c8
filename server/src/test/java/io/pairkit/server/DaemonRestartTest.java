package io.pairkit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.PairState;
import io.pairkit.server.config.ConfigLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A restart reopens the recovered pairs' volumes as the configuration describes them. */
@Timeout(120)
class DaemonRestartTest {
  @TempDir
  Path dir;

  @Test
  void movingAVolumeThatAPairHolds_isRefusedNamingBothSettings() throws Exception {
    try (DaemonRig rig = DaemonRig.start(dir, 4L << 20, "")) {
      var c = rig.daemon.controller();
      c.createVolumePair("p", c.volume("prod"), c.volume("copy")).initialCopy()
          .await(Duration.ofSeconds(60));
    }
    // Same settings: the pair comes back.
    try (Daemon d = Daemon.start(new ConfigLoader().load(dir.resolve("pairkitd.properties")))) {
      assertEquals(PairState.FORMED, d.controller().pair("p").state());
    }
    // The configuration moves prod to another image: refused, naming both.
    Path config = dir.resolve("pairkitd.properties");
    Files.writeString(config, Files.readString(config).replace(
        "volume.prod.path=" + dir.resolve("prod.img"),
        "volume.prod.path=" + dir.resolve("elsewhere.img")));
    RuntimeException e = assertThrows(RuntimeException.class,
        () -> Daemon.start(new ConfigLoader().load(config)));
    String all = e.getMessage() + (e.getCause() == null ? "" : " " + e.getCause().getMessage());
    assertTrue(all.contains("prod") && all.contains("elsewhere.img")
        && all.contains("prod.img"), all);
  }
}
