package io.pairkit.benchmarks;

import io.pairkit.backend.s3.S3ProxyServer;
import io.pairkit.backend.s3.TestStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Scenario {@code s3-nbd}: an S3 volume served by pairkitd (its own process, shipped defaults: 4
 * MiB chunks, 16 requests in flight, a 32-chunk buffer) and read and written over NBD, against a
 * plain loop of SDK PUTs and GETs of the same chunks with the same parallelism, and against
 * s3backer (a FUSE block device on S3, 4 MiB blocks, 16 threads, a 32-block cache) on the same
 * store, interleaved rounds, medians. Sequential write: {@code nbdcopy --flush} of a random image
 * (s3backer: into its FUSE file). Cold read: a fresh server or mount, {@code nbdcopy} to
 * {@code null:}. Then 4 KiB random writes, {@code fio --ioengine=nbd} at queue depth 16 on the
 * written volume: the latency percentiles and the maximum against one chunk's PUT time, since a
 * write should not wait longer than one upload behind the buffer's eviction. Uses Ceph RGW when
 * {@code ceph-rgw.sh} runs, else S3Proxy in this JVM.
 */
final class S3NbdBench {
  private static final Path RGW_ENV = Path.of(System.getenv().getOrDefault("PAIRKIT_RGW_ENV",
      "/var/tmp/pairkit-ceph/rgw.env"));
  private static final int CHUNK = 4 << 20;
  private static final int CONCURRENCY = 16;
  private static final String LOOP = "SDK PUT/GET loop";
  private static final String PAIRKITD = "pairkitd over NBD";
  private static final String S3BACKER = "s3backer (FUSE)";

  private final long size;
  private final Path dir;
  private final int seconds;
  private final int rounds;

  S3NbdBench(long size, Path dir, int seconds, int rounds) {
    this.size = size / CHUNK * CHUNK;
    this.dir = dir;
    this.seconds = seconds;
    this.rounds = rounds;
  }

  void run() throws Exception {
    for (String tool : List.of("nbdcopy", "fio")) {
      if (!MirrorBench.onPath(tool)) {
        System.out.println("s3-nbd skipped: " + tool + " is not installed (apt-get install "
            + "libnbd-bin fio)");
        return;
      }
    }
    TestStore store;
    try {
      store = TestStore.fromRgwEnvFile(RGW_ENV);
      try (S3Client c = store.client()) {
        c.listBuckets();
      }
    } catch (Exception e) {
      System.out.println("(Ceph RGW not answering at " + RGW_ENV + ": " + e.getMessage()
          + "; using S3Proxy in this JVM)");
      store = S3ProxyServer.get();
    }
    String s3backerMissing = !MirrorBench.onPath("s3backer") ? "s3backer is not installed"
        : !Files.exists(Path.of("/dev/fuse")) ? "no /dev/fuse" : null;
    Files.createDirectories(dir);
    Path src = dir.resolve("s3nbd-src.img");
    Scenarios.makeRandomImage(src, size);
    String bucket = store.newBucket();
    Map<String, List<Double>> write = new LinkedHashMap<>();
    Map<String, List<Double>> read = new LinkedHashMap<>();
    List<double[]> randomWrites = new ArrayList<>();
    List<Double> putMillis = new ArrayList<>();
    for (int round = 0; round < rounds; round++) {
      List<String> order = new ArrayList<>(List.of(LOOP, PAIRKITD, S3BACKER));
      java.util.Collections.rotate(order, round);
      for (String who : order) {
        String prefix = who.substring(0, 2) + "-" + round + "-"
            + UUID.randomUUID().toString().substring(0, 6) + "/";
        double[] wr;
        switch (who) {
          case LOOP -> {
            wr = loop(store, bucket, prefix, src);
            putMillis.add(wr[2]);
          }
          case PAIRKITD -> {
            wr = pairkitd(store, bucket, prefix, src, randomWrites);
          }
          default -> {
            if (s3backerMissing != null) {
              continue;
            }
            wr = s3backer(store, bucket, prefix, src);
          }
        }
        deletePrefix(store, bucket, prefix); // a one-OSD test cluster fills up otherwise
        write.computeIfAbsent(who, k -> new ArrayList<>()).add(wr[0]);
        read.computeIfAbsent(who, k -> new ArrayList<>()).add(wr[1]);
      }
    }
    Files.deleteIfExists(src);
    try (S3Client s3 = store.client()) {
      s3.deleteBucket(b -> b.bucket(bucket));
    }
    print(store, write, read, randomWrites, putMillis, s3backerMissing);
  }

  /** Deletes every object under {@code prefix}. */
  private static void deletePrefix(TestStore store, String bucket, String prefix) {
    try (S3Client s3 = store.client()) {
      String token = null;
      do {
        String t = token;
        var page = s3.listObjectsV2(l -> l.bucket(bucket).prefix(prefix).continuationToken(t));
        for (var o : page.contents()) {
          s3.deleteObject(d -> d.bucket(bucket).key(o.key()));
        }
        token = Boolean.TRUE.equals(page.isTruncated()) ? page.nextContinuationToken() : null;
      } while (token != null);
    }
  }

  /** The plain loop: {write MiB/s, read MiB/s, median ms per chunk PUT}. */
  private double[] loop(TestStore store, String bucket, String prefix, Path src)
      throws Exception {
    int chunks = (int) (size / CHUNK);
    ExecutorService pool = Executors.newFixedThreadPool(CONCURRENCY);
    List<Double> puts = java.util.Collections.synchronizedList(new ArrayList<>());
    try (S3Client s3 = store.client(); FileChannel in = FileChannel.open(src,
        StandardOpenOption.READ)) {
      Scenarios.dropPageCache();
      long t0 = System.nanoTime();
      List<Future<?>> fs = new ArrayList<>();
      for (int i = 0; i < chunks; i++) {
        int index = i;
        fs.add(pool.submit(() -> {
          ByteBuffer b = ByteBuffer.allocate(CHUNK);
          while (b.hasRemaining()) {
            if (in.read(b, (long) index * CHUNK + b.position()) < 0) {
              throw new IOException("short source");
            }
          }
          long p0 = System.nanoTime();
          s3.putObject(r -> r.bucket(bucket).key(prefix + index),
              RequestBody.fromBytes(b.array()));
          puts.add((System.nanoTime() - p0) / 1e6);
          return null;
        }));
      }
      for (Future<?> f : fs) {
        f.get();
      }
      double writeSeconds = (System.nanoTime() - t0) / 1e9;
      long r0 = System.nanoTime();
      fs.clear();
      for (int i = 0; i < chunks; i++) {
        int index = i;
        fs.add(pool.submit(() -> s3.getObjectAsBytes(r -> r.bucket(bucket).key(prefix + index))
            .asByteArray().length));
      }
      for (Future<?> f : fs) {
        f.get();
      }
      double readSeconds = (System.nanoTime() - r0) / 1e9;
      return new double[] {mib() / writeSeconds, mib() / readSeconds, Stats.median(puts)};
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * pairkitd: sequential write, then a fresh server for the cold read, then the random writes
   * (added to {@code randomWrites} as {p50, p99, max} in ms and writes/s).
   */
  private double[] pairkitd(TestStore store, String bucket, String prefix, Path src,
      List<double[]> randomWrites) throws Exception {
    int port = MirrorBench.freePort();
    Path config = dir.resolve("s3nbd-pairkitd.properties");
    Path meta = dir.resolve("s3nbd-meta");
    DurableBench.deleteTree(meta);
    String uri = "nbd://127.0.0.1:" + port + "/vol";
    try {
      writeConfig(config, meta, port, store, bucket, prefix, "create");
      Map<String, String> env = Map.of("PAIRKIT_BENCH_S3_ACCESS", store.accessKey(),
          "PAIRKIT_BENCH_S3_SECRET", store.secretKey());
      Process pk = MirrorBench.startPairkitd(config, env);
      double writeSeconds;
      try {
        Scenarios.dropPageCache();
        writeSeconds = timed("nbdcopy", "--flush", src.toString(), uri);
      } finally {
        MirrorBench.stop(pk);
      }
      writeConfig(config, meta, port, store, bucket, prefix, "open");
      pk = MirrorBench.startPairkitd(config, env);
      try {
        double readSeconds = timed("nbdcopy", uri, "null:");
        randomWrites.add(fio(uri));
        return new double[] {mib() / writeSeconds, mib() / readSeconds};
      } finally {
        MirrorBench.stop(pk);
      }
    } finally {
      Files.deleteIfExists(config);
      DurableBench.deleteTree(meta);
    }
  }

  private void writeConfig(Path config, Path meta, int port, TestStore store, String bucket,
      String prefix, String mode) throws IOException {
    String v = "volume.vol.";
    Files.writeString(config, String.join("\n",
        "controller.metadataDirectory=" + meta,
        "server.nbd.port=" + port,
        "server.control.port=" + MirrorBench.freePort(),
        v + "type=s3",
        v + "endpoint=" + store.endpoint(),
        v + "accessKey=${env:PAIRKIT_BENCH_S3_ACCESS}",
        v + "secretKey=${env:PAIRKIT_BENCH_S3_SECRET}",
        v + "bucket=" + bucket,
        v + "prefix=" + prefix,
        v + "pathStyle=true",
        v + "size=" + size,
        v + "mode=" + mode, ""));
  }

  /** s3backer: a fresh mount for the write and another for the cold read. */
  private double[] s3backer(TestStore store, String bucket, String prefix, Path src)
      throws Exception {
    Path mnt = dir.resolve("s3nbd-mnt");
    Files.createDirectories(mnt);
    Process m = mount(store, bucket, prefix, mnt);
    double writeSeconds;
    try {
      Scenarios.dropPageCache();
      writeSeconds = timed("nbdcopy", "--flush", src.toString(), mnt.resolve("file").toString());
    } finally {
      unmount(m, mnt);
    }
    m = mount(store, bucket, prefix, mnt);
    try {
      Scenarios.dropPageCache();
      double readSeconds = timed("nbdcopy", mnt.resolve("file").toString(), "null:");
      return new double[] {mib() / writeSeconds, mib() / readSeconds};
    } finally {
      unmount(m, mnt);
    }
  }

  private Process mount(TestStore store, String bucket, String prefix, Path mnt)
      throws Exception {
    List<String> cmd = List.of("s3backer", "-f", "--baseURL=" + store.endpoint() + "/",
        "--accessId=" + store.accessKey(), "--accessKey=" + store.secretKey(),
        "--prefix=" + prefix, "--blockSize=4M", "--size=" + size, "--blockCacheSize=32",
        "--blockCacheThreads=" + CONCURRENCY, "--listBlocks", bucket, mnt.toString());
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(dir.resolve("s3nbd-s3backer.log").toFile()).start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!Files.exists(mnt.resolve("file"))) {
      if (!p.isAlive() || System.nanoTime() > deadline) {
        p.destroyForcibly();
        throw new IOException("s3backer did not mount: "
            + Files.readString(dir.resolve("s3nbd-s3backer.log")));
      }
      Thread.sleep(50); // polling another process's mount
    }
    return p;
  }

  private static void unmount(Process p, Path mnt) throws Exception {
    new ProcessBuilder("umount", mnt.toString()).inheritIO().start().waitFor();
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
    }
  }

  /** Runs a command and returns its seconds; fails on a non-zero exit. */
  private static double timed(String... cmd) throws Exception {
    long t0 = System.nanoTime();
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(30, TimeUnit.MINUTES) || p.exitValue() != 0) {
      p.destroyForcibly();
      throw new IOException(String.join(" ", cmd) + " failed: " + out);
    }
    return (System.nanoTime() - t0) / 1e9;
  }

  /** 4 KiB random writes at QD 16: {p50 ms, p99 ms, max ms, writes/s}. */
  private double[] fio(String uri) throws Exception {
    List<String> cmd = List.of("fio", "--name=s3", "--ioengine=nbd", "--uri=" + uri,
        "--rw=randwrite", "--bs=4k", "--iodepth=16", "--size=" + size, "--time_based",
        "--runtime=" + seconds, "--randrepeat=0", "--output-format=terse", "--terse-version=3");
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(seconds + 300L, TimeUnit.SECONDS) || p.exitValue() != 0) {
      p.destroyForcibly();
      throw new IOException("fio failed: " + out);
    }
    String line = out.lines().filter(l -> l.startsWith("3;")).reduce((a, b) -> b)
        .orElseThrow(() -> new IOException("no terse line from fio: " + out));
    String[] f = line.split(";");
    // Terse v3, write part: 48 iops, 55 clat max (us), 58..77 clat percentiles "p%=us".
    double p50 = 0;
    double p99 = 0;
    for (int i = 58; i < 78; i++) {
      String[] kv = f[i].split("%=");
      if (kv[0].equals("50.000000")) {
        p50 = Double.parseDouble(kv[1]) / 1000;
      } else if (kv[0].equals("99.000000")) {
        p99 = Double.parseDouble(kv[1]) / 1000;
      }
    }
    return new double[] {p50, p99, Double.parseDouble(f[55]) / 1000, Double.parseDouble(f[48])};
  }

  private double mib() {
    return size / 1048576.0;
  }

  private void print(TestStore store, Map<String, List<Double>> write,
      Map<String, List<Double>> read, List<double[]> randomWrites, List<Double> putMillis,
      String s3backerMissing) {
    System.out.println("## S3 volume over NBD: pairkitd against a plain loop and s3backer");
    System.out.println();
    System.out.printf(Locale.ROOT, "%d MiB, 4 MiB chunks, %d requests in flight, %s, %d "
        + "interleaved rounds, medians (MiB/s)%s.%n%n", size >> 20, CONCURRENCY,
        store.description(), rounds, s3backerMissing == null ? ""
            : "; s3backer rows skipped: " + s3backerMissing);
    System.out.println("| workload | SDK PUT/GET loop | pairkitd over NBD | s3backer | **pairkitd /"
        + " loop** | pairkitd / s3backer |");
    System.out.println("|---|---|---|---|---|---|");
    row("sequential write (nbdcopy --flush)", write);
    row("cold sequential read (nbdcopy)", read);
    System.out.println();
    double put = Stats.median(putMillis);
    System.out.printf(Locale.ROOT, "4 KiB random writes, fio nbd QD 16, %d s on the written "
        + "volume, per round: %s; one chunk PUT in the loop takes %.0f ms (median).%n",
        seconds, randomWrites.stream().map(r -> String.format(Locale.ROOT,
            "%.0f writes/s, p50 %.1f ms, p99 %.0f ms, max %.0f ms", r[3], r[0], r[1], r[2]))
            .toList(), put);
    System.out.println("- targets: sequential write and cold read >= 0.9x the loop; no write "
        + "waits much longer than a chunk's upload behind eviction");
  }

  private static void row(String name, Map<String, List<Double>> m) {
    double loop = median(m.get(LOOP));
    double pk = median(m.get(PAIRKITD));
    double sb = median(m.get(S3BACKER));
    System.out.printf(Locale.ROOT, "| %s | %.0f | %.0f | %s | **%.2fx** | %s |%n", name, loop, pk,
        sb > 0 ? String.format(Locale.ROOT, "%.0f", sb) : "-", pk / loop,
        sb > 0 ? String.format(Locale.ROOT, "%.2fx", pk / sb) : "-");
  }

  private static double median(List<Double> v) {
    return v == null || v.isEmpty() ? 0 : Stats.median(v);
  }
}
