package io.pairkit.benchmarks;

import com.sun.nio.file.ExtendedOpenOption;
import io.pairkit.api.CopyProgress;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.HostVolume;
import io.pairkit.api.PairController;
import io.pairkit.api.VolumePair;
import io.pairkit.api.spi.VolumeSpec;
import io.pairkit.core.PairKit;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.roaringbitmap.longlong.Roaring64Bitmap;

/**
 * Whole-scenario benchmarks; each measures PairKit and its baseline in the same run and prints
 * Markdown tables for docs/BENCHMARKS.md.
 *
 * <pre>
 * mvn -q -Pbench -DskipTests -pl benchmarks -am package exec:exec \
 *     -Dbench.args="all --size=1g --dir=/var/tmp/pk --seconds=3"
 * </pre>
 * Scenarios: {@code copy proportional hostwrite bitmap pacing cache copy-vs-qemu copy-tuning
 * sparse-copy durable} ({@code durable-writes} and {@code durable-recovery} are its two halves;
 * {@code durable-steady} is a separate diagnosis), {@code raid} (RAID volumes; its own sizes),
 * {@code s3} (S3 volumes on S3Proxy and Ceph RGW, {@link S3Bench}), {@code s3-nbd} (an S3 volume
 * through pairkitd against a PUT/GET loop and s3backer, {@link S3NbdBench}), {@code nbd}
 * (pairkitd's NBD export against qemu-nbd, with fio), {@code mirror} (a mirrored pair over NBD
 * against QEMU's mirror, {@link MirrorBench}), or {@code all} (the engine's own costs: copy
 * proportional hostwrite bitmap pacing cache copy-vs-qemu sparse-copy). docs/BENCHMARKS.md lists
 * them with what each needs.
 *
 * <p>Over 500 lines: the entry point's list of scenarios, each a short method over shared timing
 * and reporting helpers.
 */
public final class Scenarios {
  private static final int TRACK = 64 * 1024;
  private static final Duration WAIT = Duration.ofHours(1);
  private static final int REPEATS = 5;

  private final long size;
  private final Path dir;
  private final int seconds;

  private Scenarios(long size, Path dir, int seconds) {
    this.size = size;
    this.dir = dir;
    this.seconds = seconds;
  }

  public static void main(String[] args) throws Exception {
    Set<String> which = new java.util.LinkedHashSet<>();
    long size = 1L << 30;
    Path dir = Path.of(System.getProperty("java.io.tmpdir"), "pairkit-bench");
    int seconds = 3;
    int repeats = REPEATS;
    for (String a : args) {
      if (a.startsWith("--size=")) {
        size = VolumeSpec.builder("x", "x").property("s", a.substring(7)).build()
            .sizeProperty("s").orElseThrow();
      } else if (a.startsWith("--dir=")) {
        dir = Path.of(a.substring(6));
      } else if (a.startsWith("--seconds=")) {
        seconds = Integer.parseInt(a.substring(10));
      } else if (a.startsWith("--repeats=")) {
        repeats = Integer.parseInt(a.substring(10)); // copy-vs-qemu, sparse-copy, durable, raid...
      } else {
        which.add(a);
      }
    }
    if (which.isEmpty() || which.contains("all")) {
      which = Set.of("copy", "proportional", "hostwrite", "bitmap", "pacing", "cache",
          "copy-vs-qemu", "sparse-copy");
    }
    Files.createDirectories(dir);
    Scenarios s = new Scenarios(size, dir, seconds);
    int rounds = repeats;
    System.out.printf("PairKit scenarios %s: %d cores, %s %s, volume %d MiB, track %d KiB, dir %s%n%n",
        Instant.now(), Runtime.getRuntime().availableProcessors(),
        System.getProperty("java.vm.name"), System.getProperty("java.version"), size >> 20,
        TRACK >> 10, dir);
    try {
      for (String name : List.of("copy", "proportional", "hostwrite", "bitmap", "pacing",
          "cache", "copy-vs-qemu", "copy-tuning", "sparse-copy", "durable", "durable-writes", "durable-recovery", "durable-steady",
          "raid", "s3", "s3-nbd", "nbd", "mirror")) {
        if (which.contains(name)) {
          switch (name) {
            case "copy" -> s.initialCopy();
            case "proportional" -> s.proportionalWork();
            case "hostwrite" -> s.hostWriteCost();
            case "bitmap" -> bitmapMemory();
            case "pacing" -> s.copyPacing();
            case "cache" -> s.trackCache();
            case "copy-vs-qemu" -> new CopyComparison(size, dir, rounds).copyVsQemu();
            case "copy-tuning" -> new CopyComparison(size, dir, rounds).copyTuning();
            case "sparse-copy" -> new CopyComparison(size, dir, rounds).sparseCopy();
            case "durable" -> new DurableBench(size, dir, seconds, rounds).run();
            case "durable-writes" -> new DurableBench(size, dir, seconds, rounds).hostWrites();
            case "durable-recovery" -> new DurableBench(size, dir, seconds, rounds).recovery();
            case "durable-steady" -> new DurableBench(size, dir, seconds, rounds).steady();
            case "raid" -> new RaidBench(dir, seconds, rounds).run();
            case "s3" -> new S3Bench(size, dir, rounds).run();
            case "s3-nbd" -> new S3NbdBench(size, dir, seconds, rounds).run();
            case "nbd" -> new NbdBench(size, dir, seconds, rounds).run();
            case "mirror" -> new MirrorBench(size, dir, seconds, rounds).run();
            default -> throw new IllegalArgumentException(name);
          }
        }
      }
    } finally {
      for (String f : List.of("src.img", "dst.img", "s.img", "pace.img", "sparse.img",
          "qmp.sock", "strace.log")) {
        Files.deleteIfExists(dir.resolve(f));
      }
      DurableBench.deleteTree(dir.resolve("meta"));
      DurableBench.deleteTree(dir.resolve("recovery"));
    }
  }

  // ------------------------------------------------------------------ 1. initial copy

  private void initialCopy() throws Exception {
    Path src = dir.resolve("src.img");
    Path dst = dir.resolve("dst.img");
    makeRandomImage(src, size);
    System.out.println("## 1. Initial copy (pair create to FORMED, secondary flushed)");
    System.out.println();
    System.out.println("| page cache | plain FileChannel loop, 64 KiB (MB/s) | transferTo (MB/s) "
        + "| PairKit (MB/s) | PairKit / loop | PairKit / transferTo |");
    System.out.println("|---|---|---|---|---|---|");
    for (String mode : List.of("warm", "cold", "direct")) {
      boolean direct = mode.equals("direct");
      List<Double> loop = new ArrayList<>();
      List<Double> transfer = new ArrayList<>();
      List<Double> pk = new ArrayList<>();
      if (mode.equals("warm")) {
        readAllOnce(src); // source in the page cache for everyone
      }
      for (int r = 0; r < REPEATS; r++) {
        loop.add(mbps(size, timeIt(() -> plainCopy(src, dst, direct), !mode.equals("warm"))));
        if (!direct) {
          transfer.add(mbps(size, timeIt(() -> transferCopy(src, dst), mode.equals("cold"))));
        }
        pk.add(mbps(size, timeIt(() -> pairKitCopy(src, dst, direct), !mode.equals("warm"))));
      }
      double l = Stats.median(loop);
      double p = Stats.median(pk);
      String t = direct ? "n/a" : fmt(Stats.median(transfer));
      String pt = direct ? "n/a" : fmt(p / Stats.median(transfer)) + "x";
      System.out.printf("| %s | %s | %s | %s | %sx | %s |%n", mode.equals("direct")
          ? "bypassed (O_DIRECT, both)" : mode.equals("cold") ? "cold (dropped before each run)"
          : "warm source", fmt(l), t, fmt(p), fmt(p / l), pt);
    }
    System.out.println();
    Files.deleteIfExists(dst);
  }

  private interface Body {
    void run() throws Exception;
  }

  /** Seconds {@code body} takes; drops the page cache first if asked (and possible). */
  private static double timeIt(Body body, boolean dropCaches) throws Exception {
    sync(); // no earlier run's write-back competes with this one
    if (dropCaches) {
      dropPageCache();
    }
    long t0 = System.nanoTime();
    body.run();
    return (System.nanoTime() - t0) / 1e9;
  }

  /** A fresh sparse destination of the full size, as PairKit's file volumes create it. */
  private void preallocate(Path dst) throws IOException {
    Files.deleteIfExists(dst);
    try (java.io.RandomAccessFile raf = new java.io.RandomAccessFile(dst.toFile(), "rw")) {
      raf.setLength(size);
    }
  }

  private void plainCopy(Path src, Path dst, boolean direct) throws IOException {
    preallocate(dst);
    try (FileChannel in = FileChannel.open(src, opts(direct, StandardOpenOption.READ));
        FileChannel out = FileChannel.open(dst, opts(direct, StandardOpenOption.WRITE))) {
      ByteBuffer buf = ByteBuffer.allocateDirect(TRACK + 4096).alignedSlice(4096);
      for (long pos = 0; pos < size; pos += TRACK) {
        buf.clear().limit(TRACK);
        while (buf.hasRemaining()) {
          in.read(buf, pos + buf.position());
        }
        buf.flip();
        while (buf.hasRemaining()) {
          out.write(buf, pos + buf.position());
        }
      }
      out.force(false);
    }
  }

  private void transferCopy(Path src, Path dst) throws IOException {
    preallocate(dst);
    try (FileChannel in = FileChannel.open(src, StandardOpenOption.READ);
        FileChannel out = FileChannel.open(dst, StandardOpenOption.WRITE)) {
      long pos = 0;
      while (pos < size) {
        pos += in.transferTo(pos, size - pos, out);
      }
      out.force(false);
    }
  }

  private void pairKitCopy(Path src, Path dst, boolean direct) throws Exception {
    Files.deleteIfExists(dst);
    try (PairController pk = PairKit.controller()) {
      HostVolume p = pk.openVolume(spec("p", src, "open", direct));
      HostVolume s = pk.openVolume(spec("s", dst, "create", direct));
      VolumePair pair = pk.createVolumePair("copy", p, s);
      pair.initialCopy().await(WAIT);
      s.flush();
    }
  }

  private static OpenOption[] opts(boolean direct, OpenOption... base) {
    List<OpenOption> o = new ArrayList<>(Arrays.asList(base));
    if (direct) {
      o.add(ExtendedOpenOption.DIRECT);
    }
    return o.toArray(new OpenOption[0]);
  }

  // ------------------------------------------------------------------ 2. proportional work

  private void proportionalWork() throws Exception {
    Path src = dir.resolve("src.img");
    makeRandomImage(src, size);
    long tracks = size / TRACK;
    System.out.println("## 2. Proportional work: extent update over the whole volume after "
        + "changing a fraction of its tracks");
    System.out.println();
    System.out.println("| tracks changed | count | update time (ms, median of " + REPEATS
        + ") | µs per copied track | time vs 100% case |");
    System.out.println("|---|---|---|---|---|");
    double[] fractions = {0.001, 0.01, 0.1, 1.0};
    double[] medians = new double[fractions.length];
    long[] counts = new long[fractions.length];
    try (PairController pk = PairKit.controller()) {
      HostVolume p = pk.openVolume(spec("p", src, "open", false));
      HostVolume s = pk.openVolume(spec("s", dir.resolve("s.img"), "create", false));
      VolumePair pair = pk.createVolumePair("prop", p, s);
      pair.initialCopy().await(WAIT);
      pair.split().await(WAIT);
      s.flush();
      Random random = new Random(42);
      byte[] block = new byte[4096];
      for (int i = 0; i < fractions.length; i++) {
        List<Double> times = new ArrayList<>();
        for (int r = 0; r < REPEATS; r++) {
          long k = Math.max(1, Math.round(fractions[i] * tracks));
          for (long t : sample(random, tracks, k)) {
            random.nextBytes(block);
            p.write(t * TRACK, block);
          }
          long t0 = System.nanoTime();
          CopyProgress done = pair.extentUpdate(ExtentSet.of(0, size)).await(WAIT);
          s.flush();
          times.add((System.nanoTime() - t0) / 1e6);
          if (done.tracksCopied() != k) {
            throw new IllegalStateException("expected " + k + " copies, got " + done);
          }
          counts[i] = k;
        }
        medians[i] = Stats.median(times);
      }
    }
    for (int i = 0; i < fractions.length; i++) {
      System.out.printf("| %s%% | %d | %s | %s | %s%% |%n", fmt(fractions[i] * 100), counts[i],
          fmt(medians[i]), fmt(medians[i] * 1000 / counts[i]),
          fmt(100 * medians[i] / medians[fractions.length - 1]));
    }
    System.out.println();
    Files.deleteIfExists(dir.resolve("s.img"));
  }

  private static long[] sample(Random random, long n, long k) {
    if (k == n) {
      long[] all = new long[(int) n];
      for (int i = 0; i < n; i++) {
        all[i] = i;
      }
      return all;
    }
    Roaring64Bitmap chosen = new Roaring64Bitmap();
    while (chosen.getLongCardinality() < k) {
      chosen.addLong(Math.floorMod(random.nextLong(), n));
    }
    return chosen.toArray();
  }

  // ------------------------------------------------------------------ 3. host write cost

  private void hostWriteCost() throws Exception {
    Path src = dir.resolve("src.img");
    makeRandomImage(src, size);
    readAllOnce(src);
    System.out.println("## 3. Host write cost: one thread, random aligned writes, " + seconds
        + " s per case, page cache warm, no fsync per write");
    System.out.println();
    System.out.println("| write size | case | ops/s | p50 (µs) | p99 (µs) | vs no pair | "
        + "copy-on-writes |");
    System.out.println("|---|---|---|---|---|---|---|");
    List<String> cases = List.of("plain FileChannel (reference)", "no pair",
        "mirrored pair (FORMED)", "split pair (SPLIT)", "during split drain (copy-on-write)");
    for (int writeSize : new int[] {4096, 64 * 1024}) {
      java.util.Map<String, List<Result>> results = new java.util.LinkedHashMap<>();
      java.util.Map<String, Long> cows = new java.util.HashMap<>();
      for (int round = 0; round < 3; round++) { // interleaved rounds: drift hits every case
        for (String c : cases) {
          sync();
          Result r;
          if (c.startsWith("plain")) {
            r = plainWrites(src, writeSize);
          } else {
            long[] cowCount = new long[1];
            r = pairWrites(src, c, writeSize, cowCount);
            cows.merge(c, cowCount[0], Math::max);
          }
          results.computeIfAbsent(c, k -> new ArrayList<>()).add(r);
        }
      }
      Result noPair = median(results.get("no pair"));
      for (String c : cases) {
        print(writeSize, c, median(results.get(c)), c.startsWith("plain") ? null : noPair,
            cows.getOrDefault(c, 0L));
      }
    }
    System.out.println();
    Files.deleteIfExists(dir.resolve("s.img"));
  }

  private static Result median(List<Result> rs) {
    return new Result(Stats.median(rs.stream().map(Result::opsPerSecond).toList()),
        Stats.median(rs.stream().map(Result::p50).toList()),
        Stats.median(rs.stream().map(Result::p99).toList()));
  }

  private Result pairWrites(Path src, String c, int writeSize, long[] cowCount) throws Exception {
    Files.deleteIfExists(dir.resolve("s.img"));
    try (PairController pk = c.startsWith("during")
        ? PairKit.builder().copyBytesPerSecond(size / (seconds * 4L)).build()
        : PairKit.controller()) {
      HostVolume p = pk.openVolume(spec("p", src, "open", false));
      HostVolume s = pk.openVolume(spec("s", dir.resolve("s.img"), "create", false));
      VolumePair pair = null;
      if (!c.equals("no pair")) {
        pair = pk.createVolumePair("w", p, s);
        if (c.startsWith("during")) {
          pair.split(); // everything still to copy: first writes to a track copy it first
        } else {
          pair.initialCopy().await(WAIT);
          if (c.startsWith("split")) {
            pair.split().await(WAIT);
          }
          pair.mirrorDrained().get();
        }
      }
      long cowBefore = pair == null ? 0 : pair.stats().copyOnWriteCopies();
      Result r = writes(p::write, writeSize);
      cowCount[0] = pair == null ? 0 : pair.stats().copyOnWriteCopies() - cowBefore;
      return r;
    }
  }

  private record Result(double opsPerSecond, double p50, double p99) {
  }

  private interface Writer {
    void write(long offset, byte[] data) throws Exception;
  }

  private Result plainWrites(Path src, int writeSize) throws Exception {
    try (FileChannel ch = FileChannel.open(src, StandardOpenOption.READ,
        StandardOpenOption.WRITE)) {
      return writes((offset, data) -> ch.write(ByteBuffer.wrap(data), offset), writeSize);
    }
  }

  private Result writes(Writer writer, int writeSize) throws Exception {
    return ops(writer, writeSize, size);
  }

  /** Runs {@code op} on random aligned offsets in {@code [0, range)} for the set seconds. */
  private Result ops(Writer op, int ioSize, long range) throws Exception {
    Writer writer = op;
    int writeSize = ioSize;
    byte[] data = new byte[writeSize];
    ThreadLocalRandom.current().nextBytes(data);
    long slots = range / writeSize;
    long[] latencies = new long[8_000_000];
    int n = 0;
    long end = System.nanoTime() + seconds * 1_000_000_000L;
    long start = System.nanoTime();
    long now = start;
    while (now < end && n < latencies.length) {
      long offset = ThreadLocalRandom.current().nextLong(slots) * writeSize;
      writer.write(offset, data);
      long after = System.nanoTime();
      latencies[n++] = after - now;
      now = after;
    }
    double elapsed = (now - start) / 1e9;
    return new Result(n / elapsed, Stats.percentileMicros(latencies, n, 50),
        Stats.percentileMicros(latencies, n, 99));
  }

  private static void print(int writeSize, String c, Result r, Result base, long cows) {
    System.out.printf("| %d KiB | %s | %s | %s | %s | %s | %s |%n", writeSize >> 10, c,
        fmt(r.opsPerSecond()), fmt(r.p50()), fmt(r.p99()),
        base == null ? "" : fmt(r.opsPerSecond() / base.opsPerSecond()) + "x",
        cows == 0 ? "" : String.valueOf(cows));
  }

  // ------------------------------------------------------------------ 4. bitmap memory

  private static void bitmapMemory() {
    System.out.println("## 4. Difference bitmap memory (Roaring64Bitmap, 64 KiB tracks)");
    System.out.println();
    System.out.println("| volume | tracks | pattern | bits set | Roaring (bytes) | flat bitmap "
        + "(bytes) | Roaring / flat |");
    System.out.println("|---|---|---|---|---|---|---|");
    for (long volume : new long[] {1L << 40, 1L << 50}) {
      long n = volume / TRACK;
      String name = volume == 1L << 40 ? "1 TiB" : "1 PiB";
      Random random = new Random(7);

      Roaring64Bitmap scope = new Roaring64Bitmap();
      scope.addRange(0, n);
      scope.runOptimize();
      row(name, n, "all set (as the engine's scope)", scope);
      Roaring64Bitmap pending = new Roaring64Bitmap();
      pending.or(scope); // what pair creation does
      row(name, n, "all set (pending after create)", pending);

      Roaring64Bitmap sparse = new Roaring64Bitmap();
      long k = n / 1000;
      for (long i = 0; i < k; i++) {
        sparse.addLong(Math.floorMod(random.nextLong(), n));
      }
      sparse.runOptimize();
      row(name, n, "0.1% random tracks", sparse);

      Roaring64Bitmap runs = new Roaring64Bitmap();
      for (int i = 0; i < 10; i++) {
        long start = Math.floorMod(random.nextLong(), n - n / 100);
        runs.addRange(start, start + n / 100);
      }
      runs.runOptimize();
      row(name, n, "10 runs of 1% each", runs);
    }
    System.out.println();
  }

  private static void row(String name, long n, String pattern, Roaring64Bitmap bm) {
    long bytes = bm.getLongSizeInBytes();
    long flat = n / 8;
    System.out.printf("| %s | %d | %s | %d | %d | %d | %s |%n", name, n, pattern,
        bm.getLongCardinality(), bytes, flat, String.format(Locale.ROOT, "%.2e",
            (double) bytes / flat));
  }

  // ------------------------------------------------------------------ 5. copy pacing

  private void copyPacing() throws Exception {
    long target = 50_000_000L;
    long volume = Math.min(size, 256L << 20);
    Path src = dir.resolve("pace.img");
    makeRandomImage(src, volume);
    System.out.println("## 5. Copy pacing: initial copy of " + (volume >> 20) + " MiB at "
        + "copyBytesPerSecond = 50 MB/s while a host thread writes 4 KiB at random");
    System.out.println();
    System.out.println("| run | achieved (MB/s) | vs target | host writes during copy |");
    System.out.println("|---|---|---|---|");
    for (int r = 1; r <= REPEATS; r++) {
      Files.deleteIfExists(dir.resolve("s.img"));
      try (PairController pk = PairKit.builder().copyBytesPerSecond(target).build()) {
        HostVolume p = pk.openVolume(spec("p", src, "open", false, volume));
        HostVolume s = pk.openVolume(spec("s", dir.resolve("s.img"), "create", false, volume));
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong hostWrites = new AtomicLong();
        Thread host = new Thread(() -> {
          byte[] block = new byte[4096];
          while (!stop.get()) {
            p.write(ThreadLocalRandom.current().nextLong(volume / 4096) * 4096, block);
            hostWrites.incrementAndGet();
          }
        });
        long t0 = System.nanoTime();
        VolumePair pair = pk.createVolumePair("paced", p, s);
        host.start();
        CopyProgress done = pair.initialCopy().await(WAIT);
        double secs = (System.nanoTime() - t0) / 1e9;
        stop.set(true);
        host.join();
        double rate = done.bytesCopied() / secs / 1e6;
        System.out.printf("| %d | %s | %s%% | %d |%n", r, fmt(rate), fmt(100 * rate / 50),
            hostWrites.get());
      }
    }
    System.out.println();
    Files.deleteIfExists(dir.resolve("s.img"));
  }

  // ------------------------------------------------------------------ 6. track cache

  private void trackCache() throws Exception {
    Path src = dir.resolve("src.img");
    makeRandomImage(src, size);
    readAllOnce(src);
    long cacheBytes = 256L << 20;
    long workingSet = Math.min(size, 192L << 20); // inside the cache
    System.out.println("## 6. Track cache: random 4 KiB I/O over a " + (workingSet >> 20)
        + " MiB working set of a " + (size >> 20) + " MiB file volume, cache "
        + (cacheBytes >> 20) + " MiB write-back, one thread, " + seconds + " s per case "
        + "(median of 3 interleaved rounds)");
    System.out.println();
    System.out.println("| operation | plain FileChannel (ops/s) | PairKit, cache (ops/s) | ratio | "
        + "PairKit, no cache (ops/s) | cache p50 / p99 (µs) | FileChannel p50 / p99 (µs) |");
    System.out.println("|---|---|---|---|---|---|---|");
    for (String op : List.of("read", "write")) {
      List<Result> plain = new ArrayList<>();
      List<Result> cached = new ArrayList<>();
      List<Result> uncached = new ArrayList<>();
      for (int round = 0; round < 3; round++) {
        sync();
        try (FileChannel ch = FileChannel.open(src, StandardOpenOption.READ,
            StandardOpenOption.WRITE)) {
          Writer w = op.equals("read")
              ? (offset, data) -> ch.read(ByteBuffer.wrap(data), offset)
              : (offset, data) -> ch.write(ByteBuffer.wrap(data), offset);
          plain.add(ops(w, 4096, workingSet));
          ch.force(false);
        }
        sync();
        for (boolean withCache : new boolean[] {true, false}) {
          PairKit.Builder b = PairKit.builder();
          if (withCache) {
            b.trackCache(io.pairkit.core.cache.TrackCacheConfig.defaults()
                .withCapacity(cacheBytes));
          }
          try (PairController pk = b.build()) {
            HostVolume p = pk.openVolume(spec("p", src, "open", false));
            for (long pos = 0; pos < workingSet; pos += 1 << 20) {
              p.read(pos, 1 << 20); // warm the cache with the working set
            }
            Writer w = op.equals("read") ? (offset, data) -> p.read(offset, ByteBuffer.wrap(data))
                : p::write;
            (withCache ? cached : uncached).add(ops(w, 4096, workingSet));
            p.flush(); // destage before the next case
          }
        }
      }
      Result pl = median(plain);
      Result ca = median(cached);
      Result un = median(uncached);
      System.out.printf("| %s | %s | %s | %sx | %s | %s / %s | %s / %s |%n", op,
          fmt(pl.opsPerSecond()), fmt(ca.opsPerSecond()), fmt(ca.opsPerSecond()
              / pl.opsPerSecond()), fmt(un.opsPerSecond()), fmt(ca.p50()), fmt(ca.p99()),
          fmt(pl.p50()), fmt(pl.p99()));
    }
    System.out.println();
  }

  // ------------------------------------------------------------------ helpers

  private VolumeSpec spec(String name, Path path, String mode, boolean direct) {
    return spec(name, path, mode, direct, size);
  }

  private static VolumeSpec spec(String name, Path path, String mode, boolean direct, long bytes) {
    return fileSpec(name, path, mode, direct, bytes);
  }

  /** A file volume spec: {@code mode} open or create (then sparse, of {@code bytes}). */
  static VolumeSpec fileSpec(String name, Path path, String mode, boolean direct, long bytes) {
    VolumeSpec.Builder b = VolumeSpec.builder(name, "file").property("path", path.toString())
        .property("mode", mode).property("direct",
            String.valueOf(direct));
    if (mode.equals("create")) {
      b.property("size", bytes);
    }
    return b.build();
  }

  /** A source image of random data (made once per run, reused if the size matches). */
  static void makeRandomImage(Path path, long size) throws IOException {
    if (Files.exists(path) && Files.size(path) == size) {
      return;
    }
    Files.deleteIfExists(path);
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE_NEW,
        StandardOpenOption.WRITE)) {
      byte[] chunk = new byte[8 << 20];
      Random random = new Random(1);
      for (long pos = 0; pos < size; pos += chunk.length) {
        random.nextBytes(chunk);
        ByteBuffer b = ByteBuffer.wrap(chunk, 0, (int) Math.min(chunk.length, size - pos));
        while (b.hasRemaining()) {
          ch.write(b, pos + b.position());
        }
      }
      ch.force(true);
    }
  }

  private static void readAllOnce(Path path) throws IOException {
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
      ByteBuffer b = ByteBuffer.allocateDirect(8 << 20);
      long pos = 0;
      int n;
      while ((n = ch.read(b.clear(), pos)) > 0) {
        pos += n;
      }
    }
  }

  private static boolean dropWarned;

  /** Drops the OS page cache (root on Linux); says once if it cannot. */
  static void sync() throws Exception {
    new ProcessBuilder("sync").inheritIO().start().waitFor();
  }

  static void dropPageCache() throws Exception {
    Path knob = Path.of("/proc/sys/vm/drop_caches");
    try {
      Files.writeString(knob, "3");
    } catch (IOException e) {
      if (!dropWarned) {
        dropWarned = true;
        System.out.println("(cannot drop the page cache here: " + e + "; cold runs are warm)");
      }
    }
  }

  private static double mbps(long bytes, double seconds) {
    return bytes / seconds / 1e6;
  }

  static String fmt(double v) {
    return v >= 100 ? String.format(Locale.ROOT, "%.0f", v)
        : v >= 10 ? String.format(Locale.ROOT, "%.1f", v) : String.format(Locale.ROOT, "%.2f", v);
  }
}
