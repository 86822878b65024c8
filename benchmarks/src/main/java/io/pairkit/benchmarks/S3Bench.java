package io.pairkit.benchmarks;

import io.pairkit.api.CopyProgress;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.HostVolume;
import io.pairkit.api.PairController;
import io.pairkit.api.VolumePair;
import io.pairkit.api.spi.VolumeSpec;
import io.pairkit.backend.s3.FaultProxy;
import io.pairkit.backend.s3.S3ProxyServer;
import io.pairkit.backend.s3.TestStore;
import io.pairkit.core.PairKit;
import java.io.ByteArrayInputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * Scenario {@code s3} (docs/benchmarks-history.md section 11): S3 volumes. Initial copy of a file volume to an S3 volume against a plain loop of
 * SDK {@code putObject} calls of the same 4 MiB chunks with the same parallelism (same client
 * configuration, same source file, interleaved rounds), on S3Proxy in this JVM and on Ceph RGW
 * (when {@code ceph-rgw.sh} runs); scaling with requests in flight and with 20 ms injected per
 * request (through backend-s3's fault proxy); and an extent update of one 8 MiB file: objects
 * written and bytes uploaded, counted by the proxy.
 */
final class S3Bench {
  private static final int CHUNK = 4 << 20;
  private static final Duration WAIT = Duration.ofHours(1);
  private static final Path RGW_ENV = Path.of(System.getenv().getOrDefault("PAIRKIT_RGW_ENV",
      "/var/tmp/pairkit-ceph/rgw.env"));
  private final long size;
  private final Path dir;
  private final int rounds;

  S3Bench(long size, Path dir, int rounds) {
    this.size = size;
    this.dir = dir;
    this.rounds = rounds;
  }

  void run() throws Exception {
    try {
      runScenarios();
    } finally {
      S3ProxyServer.stop();
    }
  }

  private void runScenarios() throws Exception {
    Path src = dir.resolve("src.img");
    Scenarios.makeRandomImage(src, size);
    List<TestStore> stores = new ArrayList<>();
    stores.add(S3ProxyServer.get());
    try {
      TestStore rgw = TestStore.fromRgwEnvFile(RGW_ENV);
      try (S3Client c = rgw.client()) {
        c.listBuckets();
      }
      stores.add(rgw);
    } catch (Exception e) {
      System.out.println("Ceph RGW rows skipped: " + RGW_ENV + " unreadable or RGW not "
          + "answering (" + e.getMessage() + "); start it with backend-s3/src/test/ceph/"
          + "ceph-rgw.sh start");
    }
    System.out.println("## 10. S3 volumes (" + (size >> 20) + " MiB, 4 MiB chunks)");
    System.out.println();
    System.out.println("### 10a. Initial copy, 16 requests in flight: PairKit vs a plain "
        + "putObject loop (after one untimed warm-up of each, median of " + rounds
        + " rounds, the order alternating)");
    System.out.println();
    System.out.println("| store | putObject loop (MB/s) | PairKit pair create (MB/s) | "
        + "PairKit / loop | runs (loop; PairKit, s) |");
    System.out.println("|---|---|---|---|---|");
    for (TestStore store : stores) {
      String bucket = store.newBucket();
      List<Double> loop = new ArrayList<>();
      List<Double> pk = new ArrayList<>();
      putLoop(store, bucket, src, 16); // warm-up of both (JIT, connections), untimed
      pairCopy(store, bucket, src, 16);
      alternate(store, bucket, src, 16, rounds, loop, pk);
      double l = Stats.median(loop);
      double p = Stats.median(pk);
      System.out.printf("| %s | %s | %s | %sx | %s; %s |%n", store.description(),
          Scenarios.fmt(mb(l)), Scenarios.fmt(mb(p)), Scenarios.fmt(l / p), secs(loop),
          secs(pk));
    }
    System.out.println();
    System.out.println("### 10b. Scaling: requests in flight, and 20 ms added per request "
        + "(median of " + scalingRounds() + " rounds, the order alternating)");
    System.out.println();
    System.out.println("| store | latency added | in flight | putObject loop (MB/s) | "
        + "PairKit (MB/s) | PairKit / loop |");
    System.out.println("|---|---|---|---|---|---|");
    for (TestStore store : stores) {
      String bucket = store.newBucket();
      for (int delay : new int[] {0, 20}) {
        try (FaultProxy proxy = new FaultProxy(store.endpoint())) {
          proxy.delayMillis(delay);
          TestStore via = delay == 0 ? store : store.through(proxy);
          for (int n : new int[] {1, 4, 16}) {
            List<Double> loop = new ArrayList<>();
            List<Double> pk = new ArrayList<>();
            alternate(via, bucket, src, n, scalingRounds(), loop, pk);
            double l = Stats.median(loop);
            double p = Stats.median(pk);
            System.out.printf("| %s | %d ms | %d | %s | %s | %sx |%n", store.description(),
                delay, n, Scenarios.fmt(mb(l)), Scenarios.fmt(mb(p)), Scenarios.fmt(l / p));
          }
        }
      }
    }
    System.out.println();
    System.out.println("### 10c. Extent update of one 8 MiB file on a " + (size >> 20)
        + " MiB pair (file primary, S3 secondary)");
    System.out.println();
    System.out.println("| store | file extent | chunks it touches | tracks copied | PUTs | "
        + "bytes uploaded | GETs (base of partial chunks) | update time (ms) |");
    System.out.println("|---|---|---|---|---|---|---|---|");
    for (TestStore store : stores) {
      extentUpdate(store, src);
    }
    System.out.println();
  }

  /** Times {@code count} rounds of the loop and of PairKit, alternating which goes first. */
  private void alternate(TestStore store, String bucket, Path src, int n, int count,
      List<Double> loop, List<Double> pk) throws Exception {
    for (int r = 0; r < count; r++) {
      if (r % 2 == 0) {
        loop.add(putLoop(store, bucket, src, n));
        pk.add(pairCopy(store, bucket, src, n));
      } else {
        pk.add(pairCopy(store, bucket, src, n));
        loop.add(putLoop(store, bucket, src, n));
      }
    }
  }

  private int scalingRounds() {
    return Math.min(rounds, 3);
  }

  private double mb(double seconds) {
    return size / seconds / 1e6;
  }

  private static String secs(List<Double> runs) {
    StringBuilder sb = new StringBuilder();
    for (double r : runs) {
      sb.append(sb.length() == 0 ? "" : " ").append(Scenarios.fmt(r));
    }
    return sb.toString();
  }

  /** Baseline: each 4 MiB chunk read from the file and PUT, {@code n} at once; seconds. */
  private double putLoop(TestStore store, String bucket, Path src, int n) throws Exception {
    String prefix = "loop-" + UUID.randomUUID() + "/";
    long chunks = (size + CHUNK - 1) / CHUNK;
    ExecutorService pool = Executors.newFixedThreadPool(n);
    try (S3Client s3 = store.client(); FileChannel in = FileChannel.open(src,
        StandardOpenOption.READ)) {
      s3.listBuckets(); // connection warmed, untimed
      long t0 = System.nanoTime();
      List<Future<?>> done = new ArrayList<>();
      for (long i = 0; i < chunks; i++) {
        long index = i;
        done.add(pool.submit(() -> {
          int len = (int) Math.min(CHUNK, size - index * CHUNK);
          byte[] data = new byte[len];
          ByteBuffer b = ByteBuffer.wrap(data);
          while (b.hasRemaining()) {
            in.read(b, index * CHUNK + b.position());
          }
          s3.putObject(p -> p.bucket(bucket).key(prefix + String.format("%016x", index))
              .contentLength((long) len), RequestBody.fromContentProvider(
                  () -> new ByteArrayInputStream(data), len, "application/octet-stream"));
          return null;
        }));
      }
      for (Future<?> f : done) {
        f.get();
      }
      double s = (System.nanoTime() - t0) / 1e9;
      deleteAll(s3, bucket, prefix, chunks);
      return s;
    } finally {
      pool.shutdown();
    }
  }

  private VolumeSpec s3Spec(TestStore store, String bucket, String prefix, int n) {
    return store.spec("s", bucket).property("prefix", prefix).property("mode", "create")
        .property("size", size).property("chunkSize", CHUNK).property("concurrency", n).build();
  }

  private static VolumeSpec fileSpec(Path path, int n) {
    return VolumeSpec.builder("p", "file").property("path", path.toString())
        .property("mode", "open").property("concurrency", n).build();
  }

  /** PairKit: timed from createVolumePair to copied and the S3 volume flushed; seconds. */
  private double pairCopy(TestStore store, String bucket, Path src, int n) throws Exception {
    String prefix = "pair-" + UUID.randomUUID() + "/";
    double s;
    try (PairController pk = PairKit.builder().copyThreads(Math.max(n, 8)).build()) {
      HostVolume p = pk.openVolume(fileSpec(src, n));
      HostVolume sv = pk.openVolume(s3Spec(store, bucket, prefix, n));
      long t0 = System.nanoTime();
      VolumePair pair = pk.createVolumePair("copy", p, sv);
      pair.initialCopy().await(WAIT);
      sv.flush();
      s = (System.nanoTime() - t0) / 1e9;
    }
    try (S3Client s3 = store.client()) {
      deleteAll(s3, bucket, prefix, (size + CHUNK - 1) / CHUNK);
    }
    return s;
  }

  /** Deletes the objects under {@code prefix}, checking that the chunks were all there. */
  private static void deleteAll(S3Client s3, String bucket, String prefix, long chunks) {
    List<S3Object> all = new ArrayList<>();
    String token = null;
    do {
      String t = token;
      var page = s3.listObjectsV2(l -> l.bucket(bucket).prefix(prefix).continuationToken(t));
      all.addAll(page.contents());
      token = Boolean.TRUE.equals(page.isTruncated()) ? page.nextContinuationToken() : null;
    } while (token != null);
    long data = all.stream().filter(o -> o.size() >= 4096).count();
    if (data != chunks) {
      throw new IllegalStateException(prefix + " holds " + data + " chunk objects, not " + chunks);
    }
    for (S3Object o : all) {
      s3.deleteObject(d -> d.bucket(bucket).key(o.key()));
    }
  }

  private void extentUpdate(TestStore store, Path src) throws Exception {
    Path primary = dir.resolve("s3-primary.img");
    Files.copy(src, primary, StandardCopyOption.REPLACE_EXISTING);
    String bucket = store.newBucket();
    long fileStart = 101L << 20; // 8 MiB from 101 MiB: chunks 25, 26 and 27 (of 4 MiB)
    long fileLength = 8L << 20;
    try (FaultProxy proxy = new FaultProxy(store.endpoint());
        PairController pk = PairKit.controller()) {
      HostVolume p = pk.openVolume(fileSpec(primary, 16));
      HostVolume s = pk.openVolume(s3Spec(store.through(proxy), bucket, "upd/", 16));
      VolumePair pair = pk.createVolumePair("upd", p, s);
      pair.initialCopy().await(WAIT);
      s.flush();
      pair.split().await(WAIT);
      byte[] file = new byte[(int) fileLength];
      new Random(11).nextBytes(file);
      p.write(fileStart, ByteBuffer.wrap(file));
      p.flush();
      proxy.resetCounters();
      long t0 = System.nanoTime();
      ExtentSet extent = ExtentSet.of(fileStart, fileStart + fileLength);
      CopyProgress done = pair.extentUpdate(extent).await(WAIT);
      s.flush();
      double ms = (System.nanoTime() - t0) / 1e6;
      int puts = proxy.count("PUT");
      int gets = proxy.count("GET");
      long putBytes = proxy.putBytes();
      long firstChunk = fileStart / CHUNK;
      long lastChunk = (fileStart + fileLength - 1) / CHUNK;
      byte[] back = new byte[(int) fileLength];
      s.read(fileStart, ByteBuffer.wrap(back));
      if (!java.util.Arrays.equals(back, file)) {
        throw new IllegalStateException("the S3 secondary does not hold the updated file");
      }
      System.out.printf("| %s | [%d MiB, %d MiB) | %d (%d..%d) | %d | %d | %d MiB | %d | %s |%n",
          store.description(), fileStart >> 20, (fileStart + fileLength) >> 20,
          lastChunk - firstChunk + 1, firstChunk, lastChunk, done.tracksCopied(),
          puts, putBytes >> 20, gets, Scenarios.fmt(ms));
    } finally {
      Files.deleteIfExists(primary);
    }
  }
}
