package io.pairkit.cli;

import io.pairkit.server.DaemonRig;
import io.pairkit.server.Pairkitd;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.pairkit.cli.PairCtl;
import io.pairkit.control.ControlApi;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * pairkitd as a real process: SIGTERM shuts it down cleanly (it says so, exits, and releases its
 * locks: the next start opens the same volumes and metadata), and after SIGKILL the next start
 * recovers the pairs in their states.
 */
@Timeout(180)
class PairkitdProcessTest {
  private static final Pattern READY = Pattern.compile("pairkitd ready nbd=\\S+:(\\d+) "
      + "control=\\S+:(\\d+)");

  @TempDir
  Path dir;

  private final ObjectMapper json = new ObjectMapper();

  private record Running(Process process, int controlPort, int nbdPort, List<String> output,
      Thread drain) {
  }

  /** The control token pairkitd makes beside the rig's metadata directory. */
  private Path token() {
    return io.pairkit.server.config.ConfigLoader.defaultTokenFile(dir.resolve("meta"));
  }

  private Running start(Path config) throws Exception {
    List<String> cmd = io.pairkit.server.Tools.javaCommand(Pairkitd.class.getName(),
        "--config", config.toString());
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(),
        StandardCharsets.UTF_8));
    List<String> output = java.util.Collections.synchronizedList(new ArrayList<>());
    String line;
    while ((line = r.readLine()) != null) {
      output.add(line);
      Matcher m = READY.matcher(line);
      if (m.find()) {
        Thread drain = new Thread(() -> {
          try {
            String l;
            while ((l = r.readLine()) != null) {
              output.add(l);
            }
          } catch (java.io.IOException e) {
            // process gone
          }
        });
        drain.setDaemon(true);
        drain.start();
        return new Running(p, Integer.parseInt(m.group(2)), Integer.parseInt(m.group(1)),
            output, drain);
      }
    }
    throw new AssertionError("pairkitd did not start: " + output);
  }

  private ControlApi.PairView[] pairs(Running d) throws Exception {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = PairCtl.run(new PrintWriter(out), new PrintWriter(err), "--endpoint",
        "http://127.0.0.1:" + d.controlPort, "--token-file", token().toString(), "--json", "pair",
        "display");
    assertEquals(0, code, err.toString());
    return json.readValue(out.toString(), ControlApi.PairView[].class);
  }

  private int ctl(Running d, String... args) {
    String[] all = new String[args.length + 4];
    all[0] = "--endpoint";
    all[1] = "http://127.0.0.1:" + d.controlPort;
    all[2] = "--token-file";
    all[3] = token().toString();
    System.arraycopy(args, 0, all, 4, args.length);
    return PairCtl.run(new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()),
        all);
  }

  @Test
  void sigterm_shutsDownCleanly_andSigkill_isRecoveredAtTheNextStart() throws Exception {
    Path config = DaemonRig.writeConfig(dir, 8L << 20, "");
    Running first = start(config);
    assertEquals(0, ctl(first, "pair", "create", "p1", "-p", "prod", "-s", "copy"));
    assertEquals(0, ctl(first, "pair", "wait", "p1", "--state", "FORMED"));
    assertEquals(0, ctl(first, "pair", "split", "p1"));
    assertEquals(0, ctl(first, "pair", "wait", "p1", "--state", "SPLIT"));
    // SIGTERM through the handle: Process.destroy() would also close our end of its output.
    assertTrue(first.process.toHandle().destroy());
    assertTrue(first.process.waitFor(60, TimeUnit.SECONDS), "pairkitd did not stop");
    first.drain.join(10_000); // it ends at the end of the output
    assertEquals(0, first.process.exitValue(), "a clean stop exits 0");
    assertTrue(first.output.stream().anyMatch(l -> l.contains("pairkitd stopped cleanly")),
        String.join("\n", first.output));
    // Locks released: the same volumes and metadata open again, the pair as it was.
    Running second = start(config);
    ControlApi.PairView[] after = pairs(second);
    assertEquals(1, after.length);
    assertEquals("SPLIT", after[0].state());
    assertEquals(0, ctl(second, "pair", "resync", "p1"));
    second.process.destroyForcibly(); // SIGKILL
    second.process.waitFor(60, TimeUnit.SECONDS);
    Running third = start(config);
    try {
      assertEquals(0, ctl(third, "pair", "wait", "p1", "--state", "FORMED", "--timeout",
          "60s"));
      assertTrue(third.output.stream().anyMatch(l -> l.contains("restored 1 pair")),
          String.join("\n", third.output));
    } finally {
      third.process.destroy();
      third.process.waitFor(60, TimeUnit.SECONDS);
    }
  }

  @Test
  void aRestoreInFlightAtSigkillFinishesAtTheNextStart_andAHostWriteAfterItStays()
      throws Exception {
    io.pairkit.server.Tools.require("qemu-utils", "qemu-io");
    long size = 8L << 20;
    byte[] original = new byte[(int) size];
    new java.util.Random(5).nextBytes(original);
    java.nio.file.Files.write(dir.resolve("prod.img"), original);
    Path config = DaemonRig.writeConfig(dir, size, "");
    Running first = start(config);
    assertEquals(0, ctl(first, "pair", "create", "p1", "-p", "prod", "-s", "copy"));
    assertEquals(0, ctl(first, "pair", "wait", "p1", "--state", "FORMED"));
    assertEquals(0, ctl(first, "pair", "split", "p1"));
    assertEquals(0, ctl(first, "pair", "wait", "p1", "--state", "SPLIT"));
    String prod = "nbd://127.0.0.1:" + first.nbdPort + "/prod";
    io.pairkit.server.Tools.ok(60, "qemu-io", "-f", "raw", "-c", "write -P 0x55 0 8M",
        prod); // all of prod damaged
    assertEquals(0, ctl(first, "pair", "set", "p1", "--pace", "256k")); // the restore is slow
    assertEquals(0, ctl(first, "pair", "restore", "p1"));
    io.pairkit.server.Tools.ok(60, "qemu-io", "-f", "raw", "-c",
        "write -P 0x77 4M 64k", prod); // a host write during the restore wins over it
    assertEquals("RESTORING", pairs(first)[0].state());
    first.process.destroyForcibly(); // SIGKILL mid-restore
    first.process.waitFor(60, TimeUnit.SECONDS);

    Running second = start(config);
    try {
      assertEquals(0, ctl(second, "pair", "set", "p1", "--pace", "none"));
      assertEquals(0, ctl(second, "pair", "wait", "p1", "--state", "SPLIT", "--timeout", "60s"));
      // A crash counts the written region's split tracks changed (conservative: a resync
      // copies them again); the data differs only where the host wrote after the restore.
      assertTrue(pairs(second)[0].changedTracks() >= 1, "the late write is a difference");
      assertEquals(7, ctl(second, "verify", "prod", "copy"), "exit 7: they differ");
    } finally {
      second.process.toHandle().destroy();
      second.process.waitFor(60, TimeUnit.SECONDS);
    }
    byte[] expected = original.clone();
    java.util.Arrays.fill(expected, 4 << 20, (4 << 20) + (64 << 10), (byte) 0x77);
    assertTrue(java.util.Arrays.equals(expected,
        java.nio.file.Files.readAllBytes(dir.resolve("prod.img"))),
        "prod holds the split image again, with the late write on top");
  }
}
