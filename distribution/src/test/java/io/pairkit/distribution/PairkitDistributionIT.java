package io.pairkit.distribution;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tarball as an admin gets it: unpacked into a temporary prefix, its layout checked (bin/
 * executable, conf/, lib/, the systemd unit, LICENSE, INSTALL), then bin/pairkitd started on a
 * configuration in that prefix and the admin workflow run through bin/pairctl (volume list, pair
 * create, wait, split, extent update, display, delete), and a SIGTERM stop that exits 0.
 */
@Timeout(180)
class PairkitDistributionIT {
  @TempDir
  Path prefix;

  private record Run(int code, String out) {
  }

  @Test
  void unpackedTarballRunsTheAdminWorkflowAndStopsOnSigterm() throws Exception {
    Path tarball = Path.of(System.getProperty("pairkit.tarball"));
    assertTrue(Files.isRegularFile(tarball), "the build made " + tarball);
    run(prefix, 60, "tar", "xzf", tarball.toString(), "-C", prefix.toString());
    Path home;
    try (var dirs = Files.list(prefix)) {
      home = dirs.filter(Files::isDirectory).findFirst().orElseThrow();
    }
    assertTrue(home.getFileName().toString().startsWith("pairkit-"), home.toString());
    for (String f : List.of("bin/pairkitd", "bin/pairctl")) {
      assertTrue(Files.getPosixFilePermissions(home.resolve(f))
          .contains(PosixFilePermission.OWNER_EXECUTE), f + " is executable");
    }
    for (String f : List.of("conf/pairkitd.properties", "systemd/pairkitd.service", "LICENSE",
        "INSTALL")) {
      assertTrue(Files.isRegularFile(home.resolve(f)), f);
    }
    String unit = Files.readString(home.resolve("systemd/pairkitd.service"));
    assertTrue(unit.contains("ExecStart=/opt/pairkit/bin/pairkitd")
        && unit.contains("PAIRKIT_CONF=/etc/pairkit/pairkitd.properties")
        && unit.contains("Restart=on-failure") && unit.contains("KillSignal=SIGTERM"), unit);
    try (var jars = Files.list(home.resolve("lib"))) {
      assertTrue(jars.anyMatch(j -> j.getFileName().toString().startsWith(
          "pairkit-controller-core")), "lib/ holds the engine");
    }
    // bin/pairctl runs the cli jar alone: its manifest's class path is all pairctl loads, and it
    // must name no engine, backend or server jar (that is what keeps pairctl's start short),
    // and only jars lib/ has.
    Path cli;
    try (var jars = Files.list(home.resolve("lib"))) {
      cli = jars.filter(j -> j.getFileName().toString().startsWith("pairkit-cli-")).findFirst()
          .orElseThrow(() -> new AssertionError("lib/ has no pairkit-cli jar"));
    }
    String classPath;
    try (var jar = new java.util.jar.JarFile(cli.toFile())) {
      classPath = jar.getManifest().getMainAttributes().getValue("Class-Path");
    }
    assertTrue(classPath != null && classPath.contains("pairkit-control-"), "" + classPath);
    for (String entry : classPath.trim().split("\\s+")) {
      assertTrue(Files.isRegularFile(home.resolve("lib").resolve(entry)), "lib/ lacks " + entry);
      for (String heavy : List.of("pairkit-controller-core", "pairkit-backend-", "pairkit-server",
          "pairkit-nbd", "s3-", "chronicle-", "micrometer-")) {
        assertTrue(!entry.startsWith(heavy), "pairctl loads " + entry);
      }
    }

    // The shipped configuration, with its paths moved into the prefix and free ports.
    Path state = Files.createDirectories(prefix.resolve("state"));
    int nbdPort = freePort();
    int controlPort = freePort();
    String conf = Files.readString(home.resolve("conf/pairkitd.properties"))
        .replace("/var/lib/pairkit", state.toString())
        .replace("=10g", "=16m")
        .replace("server.nbd.port=10809", "server.nbd.port=" + nbdPort)
        .replace("server.control.port=10810", "server.control.port=" + controlPort);
    Path confFile = prefix.resolve("pairkitd.properties");
    Files.writeString(confFile, conf);
    Files.createDirectories(state.resolve("volumes"));

    ProcessBuilder pb = new ProcessBuilder(home.resolve("bin/pairkitd").toString())
        .redirectErrorStream(true);
    pb.environment().put("PAIRKIT_CONF", confFile.toString());
    pb.environment().put("JAVA", Path.of(System.getProperty("java.home"), "bin", "java")
        .toString());
    Process daemon = pb.start();
    List<String> output = Collections.synchronizedList(new ArrayList<>());
    BufferedReader reader = new BufferedReader(new InputStreamReader(daemon.getInputStream(),
        StandardCharsets.UTF_8));
    String line;
    while ((line = reader.readLine()) != null) {
      output.add(line);
      if (line.contains("pairkitd ready")) {
        break;
      }
    }
    assertTrue(output.stream().anyMatch(l -> l.contains("pairkitd ready nbd=127.0.0.1:"
        + nbdPort + " control=127.0.0.1:" + controlPort)), String.join("\n", output));
    Thread drain = new Thread(() -> {
      try {
        String l;
        while ((l = reader.readLine()) != null) {
          output.add(l);
        }
      } catch (IOException e) {
        // the daemon ended
      }
    });
    drain.start();
    try {
      Run list = pairctl(home, confFile, "volume", "list");
      assertTrue(list.out.contains("prod") && list.out.contains("copy"), list.out);
      assertEquals(0, pairctl(home, confFile, "pair", "create", "backup", "--primary", "prod",
          "--secondary", "copy").code);
      assertEquals(0, pairctl(home, confFile, "pair", "wait", "backup", "--state", "FORMED",
          "--timeout", "60s").code);
      assertEquals(0, pairctl(home, confFile, "pair", "split", "backup").code);
      assertEquals(0, pairctl(home, confFile, "pair", "wait", "backup", "--state", "SPLIT",
          "--timeout", "60s").code);
      Run update = pairctl(home, confFile, "extent", "update", "backup", "1m-2m");
      assertEquals(0, update.code, update.out);
      Run display = pairctl(home, confFile, "pair", "display", "backup");
      assertTrue(display.out.contains("backup") && display.out.contains("SPLIT"), display.out);
      assertEquals(0, pairctl(home, confFile, "pair", "delete", "backup").code);
      assertEquals(4, pairctl(home, confFile, "pair", "display", "backup").code,
          "deleted: not found");
    } finally {
      daemon.toHandle().destroy(); // SIGTERM
      assertTrue(daemon.waitFor(60, TimeUnit.SECONDS), "pairkitd stops on SIGTERM");
      drain.join(10_000);
    }
    assertEquals(0, daemon.exitValue(), String.join("\n", output));
    assertTrue(output.stream().anyMatch(l -> l.contains("pairkitd stopped cleanly")),
        String.join("\n", output));
    assertTrue(output.stream().noneMatch(l -> l.contains("No SLF4J providers")),
        "the shipped class path gives the libraries' SLF4J logging a provider: "
            + String.join("\n", output));
  }

  private Run pairctl(Path home, Path conf, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(home.resolve("bin/pairctl").toString()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("PAIRKIT_CONF", conf.toString());
    pb.environment().put("JAVA", Path.of(System.getProperty("java.home"), "bin", "java")
        .toString());
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "pairctl " + String.join(" ", args));
    return new Run(p.exitValue(), out);
  }

  private static void run(Path dir, int seconds, String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(seconds, TimeUnit.SECONDS) && p.exitValue() == 0,
        String.join(" ", cmd) + ": " + out);
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
