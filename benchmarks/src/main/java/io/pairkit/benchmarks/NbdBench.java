package io.pairkit.benchmarks;

import io.pairkit.api.HostVolume;
import io.pairkit.api.VolumePair;
import io.pairkit.server.config.ConfigLoader;
import io.pairkit.server.Daemon;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Scenario {@code nbd}: pairkitd's NBD export against {@code qemu-nbd} exporting a raw file of the same
 * content on the same disk, driven by {@code fio --ioengine=nbd} (libnbd), in the same run,
 * interleaved, medians of the rounds. Three targets: pairkitd serving a file volume, the same
 * with the volume mirrored by a FORMED volume pair to a second file volume (every write also
 * travels to the secondary), and qemu-nbd ({@code -f raw -t --persistent}, its default
 * writeback cache: the page cache, as the file volumes use). pairkitd runs in this JVM.
 */
final class NbdBench {
  private static final Duration WAIT = Duration.ofHours(1);

  private record Case(String name, String rw, String bs, int depth) {
  }

  private static final List<Case> CASES = List.of(
      new Case("sequential read 1 MiB, QD 4", "read", "1m", 4),
      new Case("sequential write 1 MiB, QD 4", "write", "1m", 4),
      new Case("random read 4 KiB, QD 16", "randread", "4k", 16),
      new Case("random write 4 KiB, QD 16", "randwrite", "4k", 16),
      new Case("random read 4 KiB, QD 1", "randread", "4k", 1),
      new Case("random write 4 KiB, QD 1", "randwrite", "4k", 1));

  private static final String PK = "pairkitd";
  private static final String PK_MIRRORED = "pairkitd, pair FORMED";
  private static final String QEMU = "qemu-nbd";
  private static final String PK_TLS = "pairkitd, TLS";
  private static final String QEMU_TLS = "qemu-nbd, TLS";

  private final long size;
  private final Path dir;
  private final int seconds;
  private final int rounds;

  NbdBench(long size, Path dir, int seconds, int rounds) {
    this.size = size;
    this.dir = dir;
    this.seconds = seconds;
    this.rounds = rounds;
  }

  /**
   * One fio result: MiB/s and IOPS of the direction the case measures, and the server's CPU time
   * per I/O in microseconds (pairkitd: this whole JVM; qemu-nbd: its process).
   */
  private record Result(double mibps, double iops, double cpuMicrosPerIo) {
  }

  void run() throws Exception {
    for (String tool : List.of("fio", "qemu-nbd")) {
      if (!onPath(tool)) {
        System.out.println("## 11. NBD export: skipped: " + tool + " is not installed (Debian "
            + "packages fio, qemu-utils)");
        return;
      }
    }
    Path pkImage = dir.resolve("nbd-pk.img");
    Path mirrored = dir.resolve("nbd-mirrored.img");
    Path mirrorCopy = dir.resolve("nbd-mirror-copy.img");
    Path qemuImage = dir.resolve("nbd-qemu.img");
    Path pkTlsImage = dir.resolve("nbd-pk-tls.img");
    Path qemuTlsImage = dir.resolve("nbd-qemu-tls.img");
    Path tlsDir = dir.resolve("nbd-tls");
    Path tlsConfig = dir.resolve("nbd-pairkitd-tls.properties");
    boolean tls = onPath("openssl");
    Path config = dir.resolve("nbd-pairkitd.properties");
    Path meta = dir.resolve("nbd-meta");
    // Every served image is a copy of one base image, so their page cache starts alike. An
    // image this JVM wrote itself in large writes served 4 KiB random writes at a third of the
    // rate of a copied one, from pairkitd and from qemu-nbd alike: the kernel then spent a third
    // of the server's CPU in ext4_block_write_begin and i_rwsem spinning (perf), a property of
    // the file's cached pages, not of the server. Before that was found, an earlier run measured
    // pairkitd's freshly written image against qemu-nbd's copy.
    Path base = dir.resolve("nbd-base.img");
    Scenarios.makeRandomImage(base, size);
    Files.copy(base, pkImage, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    Files.copy(base, qemuImage, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    Files.copy(base, mirrored, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    if (tls) {
      Files.copy(base, pkTlsImage, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      Files.copy(base, qemuTlsImage, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      makeCertificates(tlsDir);
      Files.writeString(tlsConfig, String.join("\n",
          "controller.metadataDirectory=" + meta + "-tls",
          "server.nbd.port=0",
          "server.control.port=0",
          "server.nbd.tls.dir=" + tlsDir.resolve("server"),
          "volume.vol.type=file",
          "volume.vol.path=" + pkTlsImage,
          "volume.vol.mode=open", ""));
    } else {
      System.out.println("(TLS cases skipped: openssl is not installed)");
    }
    Files.delete(base);
    Files.deleteIfExists(mirrorCopy);
    Files.writeString(config, String.join("\n",
        "controller.metadataDirectory=" + meta,
        "server.nbd.port=0",
        "server.control.port=0",
        "volume.vol.type=file",
        "volume.vol.path=" + pkImage,
        "volume.vol.mode=open",
        "volume.mirrored.type=file",
        "volume.mirrored.path=" + mirrored,
        "volume.mirrored.mode=open",
        "volume.mcopy.type=file",
        "volume.mcopy.path=" + mirrorCopy,
        "volume.mcopy.size=" + size,
        "volume.mcopy.mode=create", ""));
    int qemuPort = freePort();
    int qemuTlsPort = freePort();
    Process qemu = null;
    Process qemuTls = null;
    Daemon tlsDaemon = null;
    try (Daemon daemon = Daemon.start(new ConfigLoader().load(config))) {
      HostVolume p = daemon.controller().volume("mirrored");
      HostVolume s = daemon.controller().volume("mcopy");
      VolumePair pair = daemon.controller().createVolumePair("bench", p, s);
      pair.initialCopy().await(WAIT);
      qemu = new ProcessBuilder("qemu-nbd", "-f", "raw", "-p", String.valueOf(qemuPort),
          "-b", "127.0.0.1", "-t", "--persistent", "-x", "vol", qemuImage.toString())
          .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      waitForPort(qemuPort, qemu);
      Map<String, String> uri = new LinkedHashMap<>();
      uri.put(PK, "nbd://127.0.0.1:" + daemon.nbdPort() + "/vol");
      uri.put(QEMU, "nbd://127.0.0.1:" + qemuPort + "/vol");
      uri.put(PK_MIRRORED, "nbd://127.0.0.1:" + daemon.nbdPort() + "/mirrored");
      if (tls) {
        tlsDaemon = Daemon.start(new ConfigLoader().load(tlsConfig));
        qemuTls = new ProcessBuilder("qemu-nbd", "--object", "tls-creds-x509,id=tls0,"
            + "endpoint=server,verify-peer=off,dir=" + tlsDir.resolve("server"), "--tls-creds",
            "tls0",
            "-f", "raw", "-p", String.valueOf(qemuTlsPort), "-b", "127.0.0.1", "-t",
            "--persistent", "-x", "vol", qemuTlsImage.toString())
            .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        waitForPort(qemuTlsPort, qemuTls);
        // fio's nbd engine refuses tls-certificates (a local file) in its URI: the cost
        // measured is the encryption, so the client skips verifying the test certificate.
        String certs = "?tls-verify-peer=false";
        uri.put(PK_TLS, "nbds://127.0.0.1:" + tlsDaemon.nbdPort() + "/vol" + certs);
        uri.put(QEMU_TLS, "nbds://127.0.0.1:" + qemuTlsPort + "/vol" + certs);
      }
      System.out.println("## 11. NBD export: pairkitd against qemu-nbd");
      System.out.println();
      System.out.printf("fio %s --ioengine=nbd, %d MiB export, %d s timed after 1 s ramp, %d "
          + "rounds interleaved (order reversed every other round), medians; page cache warm "
          + "for all; sync before every run.%n%n", version("fio", "--version"), size >> 20, seconds, rounds);
      for (String u : uri.values()) {
        fio(u, new Case("warm-up", "read", "1m", 4), 2); // page cache and JIT for everyone
      }
      Map<String, Map<String, List<Result>>> results = new LinkedHashMap<>();
      for (int r = 0; r < rounds; r++) {
        for (Case c : CASES) {
          List<String> order = new ArrayList<>(uri.keySet());
          if (r % 2 == 1) {
            java.util.Collections.reverse(order);
          }
          for (String target : order) {
            Result res = fio(uri.get(target), c, seconds,
                target.equals(QEMU) ? qemuCpu(qemu) : target.equals(QEMU_TLS)
                    ? qemuCpu(qemuTls) : NbdBench::jvmCpuNanos);
            results.computeIfAbsent(c.name(), k -> new LinkedHashMap<>())
                .computeIfAbsent(target, k -> new ArrayList<>()).add(res);
            if (c.rw().contains("write")) {
              pair.mirrorDrained().get(10, TimeUnit.MINUTES); // no backlog into the next run
            }
          }
        }
      }
      print(results);
    } finally {
      for (Process q : new Process[] {qemu, qemuTls}) {
        if (q != null) {
          q.destroy();
          if (!q.waitFor(30, TimeUnit.SECONDS)) {
            q.destroyForcibly();
          }
        }
      }
      if (tlsDaemon != null) {
        tlsDaemon.close();
      }
      for (Path f : List.of(pkImage, mirrored, mirrorCopy, qemuImage, config, pkTlsImage,
          qemuTlsImage, tlsConfig)) {
        Files.deleteIfExists(f);
      }
      DurableBench.deleteTree(meta);
      DurableBench.deleteTree(Path.of(meta + "-tls"));
      DurableBench.deleteTree(tlsDir);
    }
  }

  private void print(Map<String, Map<String, List<Result>>> results) {
    System.out.println("| workload | qemu-nbd MiB/s (IOPS) | pairkitd MiB/s (IOPS) | pairkitd / "
        + "qemu-nbd | pairkitd, pair FORMED MiB/s (IOPS) | mirrored / qemu-nbd | pairkitd "
        + "range over rounds | server CPU per I/O, qemu-nbd / pairkitd (us) |");
    System.out.println("|---|---|---|---|---|---|---|---|");
    List<String> missed = new ArrayList<>();
    for (Case c : CASES) {
      Map<String, List<Result>> byTarget = results.get(c.name());
      double q = Stats.median(mibps(byTarget.get(QEMU)));
      double p = Stats.median(mibps(byTarget.get(PK)));
      double m = Stats.median(mibps(byTarget.get(PK_MIRRORED)));
      List<Double> pk = mibps(byTarget.get(PK));
      System.out.printf(Locale.ROOT, "| %s | %s (%s) | %s (%s) | **%.2fx** | %s (%s) | %.2fx | "
          + "%s-%s | %.1f / %.1f |%n", c.name(), fmt(q), iops(byTarget.get(QEMU)), fmt(p),
          iops(byTarget.get(PK)), p / q, fmt(m), iops(byTarget.get(PK_MIRRORED)), m / q,
          fmt(pk.stream().mapToDouble(Double::doubleValue).min().orElse(0)),
          fmt(pk.stream().mapToDouble(Double::doubleValue).max().orElse(0)),
          cpu(byTarget.get(QEMU)), cpu(byTarget.get(PK)));
      if (p / q < 0.9) {
        missed.add(c.name() + String.format(Locale.ROOT, " (%.2fx)", p / q));
      }
    }
    System.out.println();
    System.out.println("- target pairkitd >= 0.9x qemu-nbd: " + (missed.isEmpty() ? "met in "
        + "every workload" : "MISSED in " + String.join(", ", missed)));
    System.out.println();
    if (!results.get(CASES.get(0).name()).containsKey(PK_TLS)) {
      return;
    }
    System.out.println("TLS (NBD_OPT_STARTTLS, X.509, TLS 1.3), same run: each server with TLS "
        + "against itself without, and pairkitd against qemu-nbd both with TLS.");
    System.out.println();
    System.out.println("| workload | pairkitd TLS MiB/s (IOPS) | TLS / plain, pairkitd | qemu-nbd "
        + "TLS MiB/s (IOPS) | TLS / plain, qemu-nbd | pairkitd TLS / qemu-nbd TLS |");
    System.out.println("|---|---|---|---|---|---|");
    for (Case c : CASES) {
      Map<String, List<Result>> t = results.get(c.name());
      double p = Stats.median(mibps(t.get(PK)));
      double q = Stats.median(mibps(t.get(QEMU)));
      double pt = Stats.median(mibps(t.get(PK_TLS)));
      double qt = Stats.median(mibps(t.get(QEMU_TLS)));
      System.out.printf(Locale.ROOT, "| %s | %s (%s) | %.2fx | %s (%s) | %.2fx | **%.2fx** |%n",
          c.name(), fmt(pt), iops(t.get(PK_TLS)), pt / p, fmt(qt), iops(t.get(QEMU_TLS)),
          qt / q, pt / qt);
    }
    System.out.println();
  }

  /** A CA, a server certificate for 127.0.0.1 (dir/server) and the CA for clients (dir/client). */
  private static void makeCertificates(Path dir) throws Exception {
    Path server = Files.createDirectories(dir.resolve("server"));
    Path client = Files.createDirectories(dir.resolve("client"));
    Path ext = dir.resolve("server.ext");
    Files.writeString(ext, "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
        "/CN=pairkit bench CA", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-keyout", dir.resolve("ca-key.pem").toString(),
        "-out", server.resolve("ca-cert.pem").toString());
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout",
        server.resolve("server-key.pem").toString(), "-out", dir.resolve("server.csr")
            .toString());
    openssl("x509", "-req", "-in", dir.resolve("server.csr").toString(), "-CA",
        server.resolve("ca-cert.pem").toString(), "-CAkey", dir.resolve("ca-key.pem").toString(),
        "-CAcreateserial", "-days", "2", "-extfile", ext.toString(), "-out",
        server.resolve("server-cert.pem").toString());
    Files.copy(server.resolve("ca-cert.pem"), client.resolve("ca-cert.pem"));
  }

  private static void openssl(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("openssl"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (p.waitFor() != 0) {
      throw new IOException(String.join(" ", cmd) + ": " + out);
    }
  }

  private static List<Double> mibps(List<Result> rs) {
    return rs.stream().map(Result::mibps).toList();
  }

  private static double cpu(List<Result> rs) {
    return Stats.median(rs.stream().map(Result::cpuMicrosPerIo).toList());
  }

  private static String iops(List<Result> rs) {
    double v = Stats.median(rs.stream().map(Result::iops).toList());
    return v >= 1000 ? String.format(Locale.ROOT, "%.1fk", v / 1000)
        : String.format(Locale.ROOT, "%.0f", v);
  }

  private static String fmt(double v) {
    return v >= 100 ? String.format(Locale.ROOT, "%.0f", v)
        : String.format(Locale.ROOT, "%.1f", v);
  }

  /** Runs one fio job against an NBD URI; terse v3 fields 7/8 (read) and 48/49 (write). */
  private Result fio(String uri, Case c, int runSeconds) throws Exception {
    return fio(uri, c, runSeconds, () -> 0L);
  }

  private Result fio(String uri, Case c, int runSeconds,
      java.util.function.LongSupplier serverCpuNanos) throws Exception {
    Scenarios.sync(); // no earlier run's write-back competes with this one
    long cpu0 = serverCpuNanos.getAsLong();
    List<String> cmd = List.of("fio", "--name=nbd", "--ioengine=nbd", "--uri=" + uri,
        "--rw=" + c.rw(), "--bs=" + c.bs(), "--iodepth=" + c.depth(), "--size=" + size,
        "--time_based", "--runtime=" + runSeconds, "--ramp_time=1", "--randrepeat=0",
        "--output-format=terse", "--terse-version=3");
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(runSeconds + 120L, TimeUnit.SECONDS) || p.exitValue() != 0) {
      p.destroyForcibly();
      throw new IOException("fio failed: " + String.join(" ", cmd) + "\n" + out);
    }
    long cpu = serverCpuNanos.getAsLong() - cpu0; // includes the 1 s ramp
    String line = out.lines().filter(l -> l.startsWith("3;")).reduce((a, b) -> b)
        .orElseThrow(() -> new IOException("no terse line from fio: " + out));
    String[] f = line.split(";");
    boolean write = c.rw().contains("write");
    double kib = Double.parseDouble(f[write ? 47 : 6]);
    double iops = Double.parseDouble(f[write ? 48 : 7]);
    double ios = iops * (runSeconds + 1);
    return new Result(kib / 1024.0, iops, ios > 0 ? cpu / 1000.0 / ios : 0);
  }

  private static long jvmCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
        .getOperatingSystemMXBean()).getProcessCpuTime();
  }

  /** utime + stime of a process from /proc/PID/stat, in nanoseconds (USER_HZ = 100). */
  private static java.util.function.LongSupplier qemuCpu(Process p) {
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

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static void waitForPort(int port, Process owner) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
        return;
      } catch (IOException e) {
        if (!owner.isAlive() || System.nanoTime() > deadline) {
          throw new IOException("qemu-nbd did not listen on port " + port, e);
        }
        Thread.sleep(20);
      }
    }
  }

  private static boolean onPath(String tool) {
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
}
