package io.pairkit.benchmarks;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.pairkit.cli.PairCtl;
import io.pairkit.control.ControlApi;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Scenario {@code mirror}: a mirrored volume served over NBD, pairkitd against QEMU, driven by
 * {@code fio --ioengine=nbd} in the same run, interleaved, medians. pairkitd runs as its own
 * process with a shipped-style configuration (durable metadata in a directory on the same disk);
 * QEMU is {@code qemu-storage-daemon} with a {@code blockdev-mirror} job READY (mirroring) and
 * an NBD export of the mirrored node. Both mirror in both copy modes: asynchronous
 * ({@code copy-mode=background} / {@code --mirror async}) and synchronous
 * ({@code copy-mode=write-blocking} / {@code --mirror sync}). The plain exports (qemu-nbd and an
 * unpaired pairkitd volume) give the ceiling. Every image is a copy of the same random 1 GiB
 * file on the same file system; everyone uses the page cache.
 */
final class MirrorBench {
  private record Case(String name, String rw, String bs, int depth) {
  }

  private static final List<Case> CASES = List.of(
      new Case("random write 4 KiB, QD 1", "randwrite", "4k", 1),
      new Case("random write 4 KiB, QD 16", "randwrite", "4k", 16),
      new Case("sequential write 1 MiB, QD 4", "write", "1m", 4));

  private static final String QEMU_NBD = "qemu-nbd, plain";
  private static final String PK_PLAIN = "pairkitd, plain";
  /** pairkitd's control token (made beside its metadata directory). */
  private Path tokenFile;
  private static final String QEMU_ASYNC = "QEMU mirror, background";
  private static final String PK_ASYNC = "pairkitd mirror, async";
  private static final String QEMU_SYNC = "QEMU mirror, write-blocking";
  private static final String PK_SYNC = "pairkitd mirror, sync";

  private final long size;
  private final Path dir;
  private final int seconds;
  private final int rounds;
  private final ObjectMapper json = new ObjectMapper();

  MirrorBench(long size, Path dir, int seconds, int rounds) {
    this.size = size;
    this.dir = dir;
    this.seconds = seconds;
    this.rounds = rounds;
  }

  /** One fio run: IOPS, and the server's CPU time per I/O in microseconds. */
  private record Result(double iops, double mibps, double cpuMicrosPerIo) {
  }

  /** A target: its NBD URI, how to read its server's CPU time, and how to wait out its backlog. */
  private record Target(String uri, LongSupplier cpuNanos, Drain drain) {
  }

  @FunctionalInterface
  private interface Drain {
    void await() throws Exception;
  }

  void run() throws Exception {
    for (String tool : List.of("fio", "qemu-nbd", QemuStorageDaemon.BINARY)) {
      if (!onPath(tool)) {
        System.out.println("## Mirror over NBD: skipped: " + tool + " is not installed (Debian "
            + "packages fio, qemu-utils, qemu-system-common)");
        return;
      }
    }
    Path qsd = QemuStorageDaemon.find().orElseThrow();
    Path base = dir.resolve("mirror-base.img");
    Scenarios.makeRandomImage(base, size);
    List<Path> files = new ArrayList<>();
    Map<String, Path> image = new LinkedHashMap<>();
    for (String name : List.of("qnbd", "plain", "qbg", "qwb", "pasync", "psync")) {
      Path p = dir.resolve("mirror-" + name + ".img");
      Files.copy(base, p, StandardCopyOption.REPLACE_EXISTING);
      image.put(name, p);
      files.add(p);
    }
    Map<String, Path> copy = new LinkedHashMap<>();
    for (String name : List.of("qbg", "qwb", "pasync", "psync")) {
      Path c = dir.resolve("mirror-" + name + "-copy.img");
      Files.deleteIfExists(c);
      copy.put(name, c);
      files.add(c);
    }
    for (String name : List.of("qbg", "qwb")) { // QEMU mirrors into an existing image
      try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(copy.get(name).toFile(),
          "rw")) {
        f.setLength(size);
      }
    }
    Path meta = dir.resolve("mirror-meta");
    tokenFile = io.pairkit.server.config.ConfigLoader.defaultTokenFile(meta);
    DurableBench.deleteTree(meta);
    int nbdPort = freePort();
    int controlPort = freePort();
    Path config = dir.resolve("mirror-pairkitd.properties");
    files.add(config);
    StringBuilder cfg = new StringBuilder(String.join("\n",
        "controller.metadataDirectory=" + meta,
        "server.nbd.port=" + nbdPort,
        "server.control.port=" + controlPort, ""));
    for (String name : List.of("plain", "pasync", "psync")) {
      cfg.append("volume.").append(name).append(".type=file\nvolume.").append(name)
          .append(".path=").append(image.get(name)).append("\nvolume.").append(name)
          .append(".mode=open\n");
    }
    for (String name : List.of("pasync", "psync")) {
      String c = name + "c";
      cfg.append("volume.").append(c).append(".type=file\nvolume.").append(c).append(".path=")
          .append(copy.get(name)).append("\nvolume.").append(c).append(".size=").append(size)
          .append("\nvolume.").append(c).append(".mode=create\nvolume.").append(c)
          .append(".export=false\n");
    }
    Files.writeString(config, cfg.toString());
    int qemuNbdPort = freePort();
    int qbgPort = freePort();
    int qwbPort = freePort();
    Process pairkitd = null;
    Process qemuNbd = null;
    QemuStorageDaemon qbg = null;
    QemuStorageDaemon qwb = null;
    String endpoint = "http://127.0.0.1:" + controlPort;
    try {
      pairkitd = startPairkitd(config);
      ctl(endpoint, "pair", "create", "async", "-p", "pasync", "-s", "pasyncc", "--mirror",
          "async");
      ctl(endpoint, "pair", "create", "sync", "-p", "psync", "-s", "psyncc", "--mirror", "sync");
      ctl(endpoint, "pair", "wait", "async", "--state", "FORMED", "--timeout", "10m");
      ctl(endpoint, "pair", "wait", "sync", "--state", "FORMED", "--timeout", "10m");
      qemuNbd = new ProcessBuilder("qemu-nbd", "-f", "raw", "-p", String.valueOf(qemuNbdPort),
          "-b", "127.0.0.1", "-t", "--persistent", "-x", "vol", image.get("qnbd").toString())
          .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      qbg = new QemuStorageDaemon(qsd, image.get("qbg"), copy.get("qbg"), false,
          dir.resolve("mirror-qbg.sock"), qbgPort);
      double qbgReady = qbg.mirrorUntilReady("background");
      qwb = new QemuStorageDaemon(qsd, image.get("qwb"), copy.get("qwb"), false,
          dir.resolve("mirror-qwb.sock"), qwbPort);
      double qwbReady = qwb.mirrorUntilReady("write-blocking");
      Process pk = pairkitd;
      Process qn = qemuNbd;
      QemuStorageDaemon bg = qbg;
      QemuStorageDaemon wb = qwb;
      Map<String, Target> targets = new LinkedHashMap<>();
      targets.put(QEMU_NBD, new Target("nbd://127.0.0.1:" + qemuNbdPort + "/vol", cpu(qn),
          () -> { }));
      targets.put(PK_PLAIN, new Target("nbd://127.0.0.1:" + nbdPort + "/plain", cpu(pk),
          () -> { }));
      targets.put(QEMU_ASYNC, new Target("nbd://127.0.0.1:" + qbgPort + "/src",
          cpu(bg.process()), () -> waitUntil(() -> bg.mirrorRemaining() == 0)));
      targets.put(PK_ASYNC, new Target("nbd://127.0.0.1:" + nbdPort + "/pasync", cpu(pk),
          () -> waitUntil(() -> backlog(endpoint, "async") == 0)));
      targets.put(QEMU_SYNC, new Target("nbd://127.0.0.1:" + qwbPort + "/src",
          cpu(wb.process()), () -> waitUntil(() -> wb.mirrorRemaining() == 0)));
      targets.put(PK_SYNC, new Target("nbd://127.0.0.1:" + nbdPort + "/psync", cpu(pk),
          () -> waitUntil(() -> backlog(endpoint, "sync") == 0)));
      System.out.println("## Mirrored volume over NBD: pairkitd against QEMU's mirror");
      System.out.println();
      System.out.printf(Locale.ROOT, "fio %s --ioengine=nbd, %d MiB images (copies of one random "
          + "file), %d s timed after 1 s ramp, %d rounds, order rotated each round, medians; "
          + "page cache for all; sync before every run; each mirror drained before the next "
          + "run. %s; pairkitd %s as its own process, durable metadata in %s (same disk). "
          + "QEMU mirrors READY after %.1f s (background) and %.1f s (write-blocking).%n%n",
          version("fio", "--version"), size >> 20, seconds, rounds,
          QemuStorageDaemon.version(qsd), javaVersion(), meta, qbgReady, qwbReady);
      for (Target t : targets.values()) {
        fio(t, new Case("warm-up", "randwrite", "4k", 16), 2);
        t.drain().await();
      }
      Map<String, Map<String, List<Result>>> results = new LinkedHashMap<>();
      List<String> names = new ArrayList<>(targets.keySet());
      for (int r = 0; r < rounds; r++) {
        for (Case c : CASES) {
          List<String> order = new ArrayList<>(names);
          java.util.Collections.rotate(order, r);
          for (String name : order) {
            Target t = targets.get(name);
            Result res = fio(t, c, seconds);
            t.drain().await();
            results.computeIfAbsent(c.name(), k -> new LinkedHashMap<>())
                .computeIfAbsent(name, k -> new ArrayList<>()).add(res);
            System.out.printf(Locale.ROOT, "  (round %d, %s, %s: %.0f IOPS, %.1f us CPU/IO)%n",
                r + 1, c.name(), name, res.iops(), res.cpuMicrosPerIo());
          }
        }
      }
      print(results);
    } finally {
      if (qbg != null) {
        qbg.close();
      }
      if (qwb != null) {
        qwb.close();
      }
      stop(qemuNbd);
      stop(pairkitd);
      for (Path f : files) {
        Files.deleteIfExists(f);
      }
      DurableBench.deleteTree(meta);
    }
  }

  private void print(Map<String, Map<String, List<Result>>> results) {
    System.out.println();
    System.out.println("| workload | qemu-nbd | pairkitd plain | QEMU mirror background | "
        + "pairkitd async | **async / QEMU** | QEMU mirror write-blocking | pairkitd sync | "
        + "**sync / QEMU** | server CPU per I/O, µs: QEMU bg / pk async / QEMU wb / pk sync |");
    System.out.println("|---|---|---|---|---|---|---|---|---|---|");
    List<String> missed = new ArrayList<>();
    for (Case c : CASES) {
      Map<String, List<Result>> by = results.get(c.name());
      double qa = median(by.get(QEMU_ASYNC));
      double pa = median(by.get(PK_ASYNC));
      double qs = median(by.get(QEMU_SYNC));
      double ps = median(by.get(PK_SYNC));
      System.out.printf(Locale.ROOT, "| %s | %s | %s | %s | %s | **%.2fx** | %s | %s | **%.2fx** "
          + "| %.0f / %.0f / %.0f / %.0f |%n", c.name(), show(by.get(QEMU_NBD), c),
          show(by.get(PK_PLAIN), c), show(by.get(QEMU_ASYNC), c), show(by.get(PK_ASYNC), c),
          pa / qa, show(by.get(QEMU_SYNC), c), show(by.get(PK_SYNC), c), ps / qs,
          cpu(by.get(QEMU_ASYNC)), cpu(by.get(PK_ASYNC)), cpu(by.get(QEMU_SYNC)),
          cpu(by.get(PK_SYNC)));
      if (c.rw().equals("randwrite")) {
        if (pa / qa < 1.0) {
          missed.add(String.format(Locale.ROOT, "%s async (%.2fx)", c.name(), pa / qa));
        }
        if (ps / qs < 1.0) {
          missed.add(String.format(Locale.ROOT, "%s sync (%.2fx)", c.name(), ps / qs));
        }
      }
    }
    System.out.println();
    System.out.println("- target pairkitd mirror >= 1.0x QEMU's mirror in the matching copy mode "
        + "(4 KiB random writes, QD 1 and 16): " + (missed.isEmpty() ? "met"
        : "MISSED: " + String.join(", ", missed)));
    System.out.println();
  }

  private static String show(List<Result> rs, Case c) {
    double iops = median(rs);
    if (c.bs().equals("1m")) {
      return String.format(Locale.ROOT, "%.0f MiB/s", Stats.median(rs.stream()
          .map(Result::mibps).toList()));
    }
    return iops >= 1000 ? String.format(Locale.ROOT, "%.1f k", iops / 1000)
        : String.format(Locale.ROOT, "%.0f", iops);
  }

  private static double median(List<Result> rs) {
    return Stats.median(rs.stream().map(Result::iops).toList());
  }

  private static double cpu(List<Result> rs) {
    return Stats.median(rs.stream().map(Result::cpuMicrosPerIo).toList());
  }

  private Result fio(Target t, Case c, int runSeconds) throws Exception {
    Scenarios.sync();
    long cpu0 = t.cpuNanos().getAsLong();
    List<String> cmd = List.of("fio", "--name=nbd", "--ioengine=nbd", "--uri=" + t.uri(),
        "--rw=" + c.rw(), "--bs=" + c.bs(), "--iodepth=" + c.depth(), "--size=" + size,
        "--time_based", "--runtime=" + runSeconds, "--ramp_time=1", "--randrepeat=0",
        "--output-format=terse", "--terse-version=3");
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(runSeconds + 120L, TimeUnit.SECONDS) || p.exitValue() != 0) {
      p.destroyForcibly();
      throw new IOException("fio failed: " + String.join(" ", cmd) + "\n" + out);
    }
    long cpu = t.cpuNanos().getAsLong() - cpu0;
    String line = out.lines().filter(l -> l.startsWith("3;")).reduce((a, b) -> b)
        .orElseThrow(() -> new IOException("no terse line from fio: " + out));
    String[] f = line.split(";");
    double kib = Double.parseDouble(f[47]);
    double iops = Double.parseDouble(f[48]);
    double ios = iops * (runSeconds + 1);
    return new Result(iops, kib / 1024.0, ios > 0 ? cpu / 1000.0 / ios : 0);
  }

  /** Starts pairkitd as its own process on {@code config}; returns once it says it is ready. */
  static Process startPairkitd(Path config) throws Exception {
    return startPairkitd(config, java.util.Map.of());
  }

  /** {@link #startPairkitd(Path)} with more environment variables (secrets the config names). */
  static Process startPairkitd(Path config, java.util.Map<String, String> env) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (a.startsWith("--add-opens") || a.startsWith("--add-exports")) {
        cmd.add(a);
      }
    }
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"),
        "io.pairkit.server.Pairkitd", "--config", config.toString()));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().putAll(env);
    Process p = pb.start();
    java.io.BufferedReader out = new java.io.BufferedReader(new java.io.InputStreamReader(
        p.getInputStream(), StandardCharsets.UTF_8));
    String line;
    StringBuilder seen = new StringBuilder();
    while ((line = out.readLine()) != null) {
      seen.append(line).append('\n');
      if (line.startsWith("pairkitd ready")) {
        Thread drain = new Thread(() -> {
          try {
            while (out.readLine() != null) {
              // keep the pipe empty; pairkitd's log is not needed here
            }
          } catch (IOException e) {
            // the process ended
          }
        }, "pairkitd-output");
        drain.setDaemon(true);
        drain.start();
        return p;
      }
    }
    throw new IOException("pairkitd did not start:\n" + seen);
  }

  private String ctl(String endpoint, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    String[] all = new String[args.length + 4];
    all[0] = "--endpoint";
    all[1] = endpoint;
    all[2] = "--token-file"; // pairkitd made it beside its metadata directory
    all[3] = tokenFile.toString();
    System.arraycopy(args, 0, all, 4, args.length);
    int code = PairCtl.run(new PrintWriter(out), new PrintWriter(err), all);
    if (code != 0) {
      throw new IllegalStateException("pairctl " + String.join(" ", args) + " exited " + code
          + ": " + err);
    }
    return out.toString();
  }

  private long backlog(String endpoint, String pair) throws IOException {
    ControlApi.PairView v = json.readValue(ctl(endpoint, "--json", "pair", "display", pair),
        ControlApi.PairView[].class)[0];
    return v.pendingTracks();
  }

  @FunctionalInterface
  private interface Check {
    boolean done() throws Exception;
  }

  /** Polls a backlog until it is gone (at most 10 minutes). */
  private static void waitUntil(Check check) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(10);
    while (!check.done()) {
      if (System.nanoTime() > deadline) {
        throw new IOException("a mirror did not drain in 10 minutes");
      }
      Thread.sleep(50); // polling another process's progress
    }
  }

  /** utime + stime of a process from /proc/PID/stat, in nanoseconds (USER_HZ = 100). */
  private static LongSupplier cpu(Process p) {
    return () -> {
      try {
        String stat = Files.readString(Path.of("/proc", String.valueOf(p.pid()), "stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return (Long.parseLong(f[11]) + Long.parseLong(f[12])) * 10_000_000L;
      } catch (IOException e) {
        return 0L;
      }
    };
  }

  static void stop(Process p) throws InterruptedException {
    if (p == null) {
      return;
    }
    p.destroy();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
    }
  }

  static int freePort() throws IOException {
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  static boolean onPath(String tool) {
    for (String d : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
      if (Files.isExecutable(Path.of(d, tool))) {
        return true;
      }
    }
    return false;
  }

  private static String version(String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String v = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    p.waitFor(10, TimeUnit.SECONDS);
    return v;
  }

  private static String javaVersion() {
    return "on " + System.getProperty("java.vm.name") + " " + System.getProperty("java.version");
  }
}
