package io.pairkit.benchmarks;

import static io.pairkit.benchmarks.Scenarios.fmt;

import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.VolumeSpec;
import io.pairkit.testkit.FaultyVolume;
import io.pairkit.testkit.MemoryVolume;
import io.pairkit.backend.file.FileVolume;
import io.pairkit.backend.raid.RaidStatus;
import io.pairkit.backend.raid.RaidVolume;
import io.pairkit.backend.raid.RaidVolumes;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Scenario {@code raid} (docs/BENCHMARKS.md; the reasoning in docs/benchmarks-history.md section
 * 10): RAID volumes (backend-raid) against one member, in one run.
 *
 * <ul>
 *   <li>Modelled disks ({@link ModelledDisk}, 100 MB/s and 0.2 ms each, over memory): sequential
 *       1 MiB reads and writes at queue depth 1 and 4, 4 KiB random writes (4 threads), and
 *       768 KiB (4 full RAID-5 rows) reads and writes, on one modelled disk, RAID-0 over 4 and
 *       RAID-5 over 4 (64 KiB stripe unit), plus RAID-5 reads with one member failed.
 *   <li>Rebuild of a RAID-5 member at two speed limits, alone and under host reads.
 *   <li>The write-hole protection's cost (ppl, bitmap, none) on 4 KiB random writes, on modelled
 *       disks and on real files.
 *   <li>The same sequential and random cases on real files (O_DIRECT), for reference.
 * </ul>
 * Each case: warm-up, then a timed window; medians of {@code repeats} interleaved rounds.
 *
 * <p>Over 500 lines: the RAID benchmark's cases and its modelled disks, one method per case over a
 * shared harness.
 */
final class RaidBench {
  private static final Logger RAID_LOG = Logger.getLogger("io.pairkit.backend.raid");
  private static final int KIB = 1 << 10;
  private static final int MIB = 1 << 20;
  private static final int UNIT = 64 * KIB;
  private static final int MEMBERS = 4;
  private static final long ARRAY = 256L * MIB;
  private static final double WARM_SECONDS = 0.5;
  private static final Duration WAIT = Duration.ofMinutes(10);

  private final Path dir;
  private final double seconds;
  private final int repeats;

  RaidBench(Path dir, int seconds, int repeats) {
    this.dir = dir.resolve("raid");
    this.seconds = seconds;
    this.repeats = repeats;
  }

  // ------------------------------------------------------------------ workloads

  enum Kind { SEQ_READ, SEQ_WRITE, RAND_WRITE }

  record Workload(String label, Kind kind, int ioSize, int threads) {
    boolean read() {
      return kind == Kind.SEQ_READ;
    }
  }

  /** A volume under test and the modelled disks below it (empty for files). */
  record Target(String label, Volume volume, List<ModelledDisk> disks) {
  }

  /** One timed window. */
  record Sample(double mbps, long requests, long diskIos, long diskBusyNanos, double seconds,
      int disks) {
    double ioPerRequest() {
      return requests == 0 ? 0 : (double) diskIos / requests;
    }

    double utilisation() {
      return disks == 0 ? 0 : diskBusyNanos / (seconds * 1e9 * disks);
    }
  }

  private static final Workload SEQ_READ_1 = new Workload("sequential 1 MiB reads, QD1",
      Kind.SEQ_READ, MIB, 1);
  private static final Workload SEQ_READ_4 = new Workload("sequential 1 MiB reads, 4 threads",
      Kind.SEQ_READ, MIB, 4);
  private static final Workload SEQ_WRITE_1 = new Workload("sequential 1 MiB writes, QD1",
      Kind.SEQ_WRITE, MIB, 1);
  private static final Workload SEQ_WRITE_4 = new Workload("sequential 1 MiB writes, 4 threads",
      Kind.SEQ_WRITE, MIB, 4);
  private static final Workload RAND_WRITE_4 = new Workload("random 4 KiB writes, 4 threads",
      Kind.RAND_WRITE, 4 * KIB, 4);
  private static final Workload FULL_READ_1 = new Workload("768 KiB (4 full rows) reads, QD1",
      Kind.SEQ_READ, 768 * KIB, 1);
  private static final Workload FULL_READ_4 = new Workload(
      "768 KiB (4 full rows) reads, 4 threads", Kind.SEQ_READ, 768 * KIB, 4);
  private static final Workload FULL_WRITE_1 = new Workload(
      "768 KiB (4 full rows) writes, QD1", Kind.SEQ_WRITE, 768 * KIB, 1);
  private static final Workload FULL_WRITE_4 = new Workload(
      "768 KiB (4 full rows) writes, 4 threads", Kind.SEQ_WRITE, 768 * KIB, 4);

  /**
   * Runs {@code w} on {@code t}: {@link #WARM_SECONDS} of warm-up, then {@code window} seconds
   * timed. Sequential workloads share one cursor (one stream with {@code threads} requests in
   * flight), aligned to the request size and wrapping at the end of the volume.
   */
  private static Sample measure(Target t, Workload w, double warm, double window)
      throws Exception {
    Volume v = t.volume();
    long slots = v.size() / w.ioSize();
    AtomicLong cursor = new AtomicLong();
    AtomicLong done = new AtomicLong();
    AtomicBoolean stop = new AtomicBoolean();
    List<Throwable> errors = new ArrayList<>();
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < w.threads(); i++) {
      Thread th = new Thread(() -> {
        ByteBuffer buf = ByteBuffer.allocate(w.ioSize());
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        rnd.nextBytes(buf.array());
        try {
          while (!stop.get()) {
            long slot = w.kind() == Kind.RAND_WRITE ? rnd.nextLong(slots)
                : cursor.getAndIncrement() % slots;
            buf.clear();
            if (w.read()) {
              v.read(slot * w.ioSize(), buf);
            } else {
              buf.putLong(0, System.nanoTime()); // new bytes each time
              v.write(slot * w.ioSize(), buf);
            }
            done.incrementAndGet();
          }
        } catch (Throwable e) {
          synchronized (errors) {
            errors.add(e);
          }
        }
      }, "raid-bench-" + i);
      threads.add(th);
    }
    long t0 = System.nanoTime();
    threads.forEach(Thread::start);
    ModelledDisk.waitUntil(t0 + (long) (warm * 1e9));
    long r0 = done.get();
    long io0 = ios(t.disks());
    long busy0 = busy(t.disks());
    long s0 = System.nanoTime();
    ModelledDisk.waitUntil(s0 + (long) (window * 1e9));
    long r1 = done.get();
    long io1 = ios(t.disks());
    long busy1 = busy(t.disks());
    long s1 = System.nanoTime();
    stop.set(true);
    for (Thread th : threads) {
      th.join();
    }
    if (!errors.isEmpty()) {
      throw new IllegalStateException(t.label() + ", " + w.label() + ": " + errors.get(0),
          errors.get(0));
    }
    double secs = (s1 - s0) / 1e9;
    long requests = r1 - r0;
    return new Sample(requests * (double) w.ioSize() / secs / 1e6, requests, io1 - io0,
        busy1 - busy0, secs, t.disks().size());
  }

  private static long ios(List<ModelledDisk> disks) {
    return disks.stream().mapToLong(ModelledDisk::ios).sum();
  }

  private static long busy(List<ModelledDisk> disks) {
    return disks.stream().mapToLong(ModelledDisk::busyNanos).sum();
  }

  /** Medians over rounds, by workload and target label. */
  private final class Grid {
    final Map<String, List<Sample>> samples = new LinkedHashMap<>();

    void add(Workload w, Target t, Sample s) {
      samples.computeIfAbsent(w.label() + "|" + t.label(), k -> new ArrayList<>()).add(s);
    }

    List<Sample> all(Workload w, String target) {
      return samples.getOrDefault(w.label() + "|" + target, List.of());
    }

    double mbps(Workload w, String target) {
      List<Sample> l = all(w, target);
      return l.isEmpty() ? Double.NaN : Stats.median(l.stream().map(Sample::mbps).toList());
    }

    double ioPerRequest(Workload w, String target) {
      List<Sample> l = all(w, target);
      return l.isEmpty() ? Double.NaN
          : Stats.median(l.stream().map(Sample::ioPerRequest).toList());
    }

    double utilisation(Workload w, String target) {
      List<Sample> l = all(w, target);
      return l.isEmpty() ? Double.NaN
          : Stats.median(l.stream().map(Sample::utilisation).toList());
    }

    String range(Workload w, String target) {
      List<Double> l = all(w, target).stream().map(Sample::mbps).sorted().toList();
      return l.isEmpty() ? "" : fmt(l.get(0)) + "-" + fmt(l.get(l.size() - 1));
    }
  }

  /** Interleaved rounds: each round runs every workload on every target that takes it. */
  private Grid rounds(List<Workload> workloads, List<Target> targets,
      java.util.function.BiPredicate<Workload, Target> applies) throws Exception {
    // Warm-up pass (JIT, memory): every case once, short, untimed.
    for (Workload w : workloads) {
      for (Target t : targets) {
        if (applies.test(w, t)) {
          measure(t, w, 0.1, 0.3);
        }
      }
    }
    Grid grid = new Grid();
    for (int r = 0; r < repeats; r++) {
      for (Workload w : workloads) {
        List<Target> order = new ArrayList<>(targets);
        if (r % 2 == 1) {
          java.util.Collections.reverse(order);
        }
        for (Target t : order) {
          if (applies.test(w, t)) {
            grid.add(w, t, measure(t, w, WARM_SECONDS, seconds));
          }
        }
      }
      System.err.printf("  round %d of %d done%n", r + 1, repeats);
    }
    return grid;
  }

  /** {@link #rounds}, then closes the targets whatever happens. */
  private Grid roundsThenClose(List<Workload> workloads, List<Target> targets,
      java.util.function.BiPredicate<Workload, Target> applies) throws Exception {
    try {
      return rounds(workloads, targets, applies);
    } finally {
      for (Target t : targets) {
        t.volume().close();
      }
    }
  }

  // ------------------------------------------------------------------ building arrays

  /** A raid spec (create) over given members: level, 64 KiB unit, 256 MiB, extra properties. */
  private static VolumeSpec spec(String name, int level, Map<String, String> extra) {
    VolumeSpec.Builder b = VolumeSpec.builder(name, "raid")
        .property("level", level)
        .property("stripeUnit", UNIT)
        .property("mode", "create")
        .property("size", ARRAY);
    return b.properties(extra).build();
  }

  /**
   * Member size that holds exactly {@link #ARRAY} bytes of array data, from the layout
   * documented in RaidGeometry (8 KiB of superblocks, the write-intent bitmap, the partial parity
   * log's slots, data from the next MiB boundary). Checked against the array's status after open.
   */
  static long memberSize(int level, int members) {
    int data = level == 5 ? members - 1 : level == 1 ? 1 : members;
    long rowBytes = (long) UNIT * data;
    long rows = (ARRAY + rowBytes - 1) / rowBytes;
    long rowsPerBit = Math.max(1, (4L * MIB) / rowBytes); // default bitmapChunk 4 MiB
    int pplSlots = level == 5 ? 64 : 0; // default pplSlots
    for (long k = 1; ; k++) {
      long size = k * MIB + rows * UNIT;
      long bits = (size / UNIT + rowsPerBit - 1) / rowsPerBit;
      long bitmapBytes = ((bits + 7) / 8 + 4095) / 4096 * 4096;
      long ppl = 8192 + bitmapBytes + pplSlots * (4096L + UNIT);
      long dataOffset = (ppl + MIB - 1) / MIB * MIB;
      if (dataOffset <= k * MIB) {
        return size;
      }
    }
  }

  private static void checkExact(RaidVolume v, int level) {
    RaidStatus.Member m = v.status().members().get(0);
    long expected = level == 0 ? ARRAY / MEMBERS : (ARRAY + 3L * UNIT - 1) / (3L * UNIT) * UNIT;
    if (m.dataBytes() != expected) {
      throw new IllegalStateException(v.name() + ": members hold " + m.dataBytes()
          + " bytes of rows, expected " + expected + " (member sizing out of date)");
    }
  }

  /** One modelled disk over memory, of the array's size: the baseline. */
  private static Target oneDisk(String label) throws IOException {
    ModelledDisk d = new ModelledDisk(new MemoryVolume("one", ARRAY));
    Target t = new Target(label, d, List.of(d));
    fill(t);
    return t;
  }

  /**
   * A RAID array over 4 modelled disks over memory, each member wrapped in a {@link FaultyVolume}
   * (outermost, so a failed member's calls fail at once, as a dead disk's do), filled with random
   * bytes with the model off.
   */
  private static Target modelledArray(String label, int level, Map<String, String> extra,
      List<FaultyVolume> faulty) throws IOException {
    long ms = memberSize(level, MEMBERS);
    List<Volume> members = new ArrayList<>();
    List<ModelledDisk> disks = new ArrayList<>();
    for (int i = 0; i < MEMBERS; i++) {
      ModelledDisk d = new ModelledDisk(new MemoryVolume(label + ".m" + i, ms));
      disks.add(d);
      FaultyVolume f = new FaultyVolume(d);
      faulty.add(f);
      members.add(f);
    }
    RaidVolume v = RaidVolumes.open(spec(label, level, extra), members);
    checkExact(v, level);
    Target t = new Target(label, v, disks);
    fill(t);
    return t;
  }

  /** Writes random bytes over the whole volume, model off, then flushes. */
  private static void fill(Target t) throws IOException {
    t.disks().forEach(d -> d.modelled(false));
    byte[] chunk = new byte[3 * MIB]; // whole RAID-5 rows
    new Random(1).nextBytes(chunk);
    Volume v = t.volume();
    for (long at = 0; at < v.size(); at += chunk.length) {
      int n = (int) Math.min(chunk.length, v.size() - at);
      chunk[0]++;
      v.write(at, ByteBuffer.wrap(chunk, 0, n));
    }
    v.flush();
    t.disks().forEach(d -> d.modelled(true));
  }

  /** Makes member {@code index} fail every call and lets the array notice (a flush). */
  private static void failMember(RaidVolume v, FaultyVolume member) throws IOException {
    member.fail(FaultyVolume.Fault.ALL);
    v.flush();
    if (!v.status().degraded()) {
      throw new IllegalStateException(v.name() + " did not notice the failed member");
    }
  }

  // ------------------------------------------------------------------ the scenario

  void run() throws Exception {
    Level old = RAID_LOG.getLevel();
    RAID_LOG.setLevel(Level.SEVERE); // member failures are on purpose here
    Files.createDirectories(dir);
    String start = loadAverage();
    try {
      System.out.println("## 10. RAID volumes (backend-raid)");
      System.out.println();
      System.out.printf("Model: each member one ModelledDisk over memory, %.0f MB/s and %.1f ms "
          + "per I/O, one I/O at a time; stripe unit %d KiB; array %d MiB; %d s timed after "
          + "%.1f s warm-up; medians of %d interleaved rounds.%n%n",
          ModelledDisk.DEFAULT_BYTES_PER_SECOND / 1e6, ModelledDisk.DEFAULT_LATENCY_NANOS / 1e6,
          UNIT / KIB, ARRAY / MIB, (int) seconds, WARM_SECONDS, repeats);
      modelledThroughput();
      modelledWriteHole();
      rebuild();
      files();
      System.out.println("Load average (1, 5, 15 min) at the start: " + start + "; at the end: "
          + loadAverage());
      System.out.println();
    } finally {
      RAID_LOG.setLevel(old);
      DurableBench.deleteTree(dir);
    }
  }

  private static String loadAverage() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
      return f[0] + ", " + f[1] + ", " + f[2];
    } catch (IOException | RuntimeException e) {
      return "unknown";
    }
  }

  private void modelledThroughput() throws Exception {
    System.err.println("raid: modelled throughput");
    List<Target> targets = new ArrayList<>();
    List<FaultyVolume> healthy = new ArrayList<>();
    List<FaultyVolume> degraded = new ArrayList<>();
    Target one = oneDisk("one disk");
    Target r0 = modelledArray("RAID-0", 0, Map.of(), new ArrayList<>());
    Target r5 = modelledArray("RAID-5", 5, Map.of(), healthy);
    Target r5d = modelledArray("RAID-5 degraded", 5, Map.of(), degraded);
    failMember((RaidVolume) r5d.volume(), degraded.get(0));
    targets.addAll(List.of(one, r0, r5, r5d));
    List<Workload> ws = List.of(SEQ_READ_1, SEQ_READ_4, SEQ_WRITE_1, SEQ_WRITE_4, RAND_WRITE_4,
        FULL_READ_1, FULL_READ_4, FULL_WRITE_1, FULL_WRITE_4);
    Grid g = roundsThenClose(ws, targets, (w, t) -> t != r5d || w.read());
    System.out.println("### 10a. Throughput on modelled disks (MB/s, 10^6 bytes)");
    System.out.println();
    System.out.println("| workload | one disk | RAID-0 x4 | RAID-0 / one | RAID-5 x4 (ppl) "
        + "| RAID-5 / one | RAID-5, 1 member failed | degraded / healthy |");
    System.out.println("|---|---|---|---|---|---|---|---|");
    for (Workload w : ws) {
      double o = g.mbps(w, one.label());
      double a = g.mbps(w, r0.label());
      double b = g.mbps(w, r5.label());
      double d = g.mbps(w, r5d.label());
      System.out.printf("| %s | %s | %s | %sx | %s | %sx | %s | %s |%n", w.label(), fmt(o),
          fmt(a), fmt(a / o), fmt(b), fmt(b / o), w.read() ? fmt(d) : "n/a",
          w.read() ? fmt(d / b) + "x" : "n/a");
    }
    System.out.println();
    System.out.println("Member I/Os per request and disk utilisation (modelled busy time over "
        + "the window, all disks); ranges of MB/s over the rounds:");
    System.out.println();
    System.out.println("| workload | one disk | RAID-0 x4 | RAID-5 x4 | RAID-5 degraded "
        + "| MB/s ranges (one / R0 / R5 / R5 degraded) |");
    System.out.println("|---|---|---|---|---|---|");
    for (Workload w : ws) {
      StringBuilder sb = new StringBuilder("| " + w.label());
      for (Target t : targets) {
        if (t == r5d && !w.read()) {
          sb.append(" | n/a");
          continue;
        }
        sb.append(" | ").append(fmt(g.ioPerRequest(w, t.label()))).append(" I/Os, ")
            .append(String.format(java.util.Locale.ROOT, "%.0f%%",
                100 * g.utilisation(w, t.label())));
      }
      sb.append(" | ").append(g.range(w, one.label())).append(" / ")
          .append(g.range(w, r0.label())).append(" / ").append(g.range(w, r5.label()))
          .append(" / ").append(w.read() ? g.range(w, r5d.label()) : "n/a").append(" |");
      System.out.println(sb);
    }
    System.out.println();
    targets(g, one, r0, r5, r5d);
  }

  private void targets(Grid g, Target one, Target r0, Target r5, Target r5d) {
    System.out.println("Targets (issue 9, modelled disks):");
    System.out.println();
    for (Workload w : List.of(SEQ_READ_1, SEQ_READ_4, SEQ_WRITE_1, SEQ_WRITE_4)) {
      double x = g.mbps(w, r0.label()) / g.mbps(w, one.label());
      System.out.printf("- RAID-0 >= 3.6x one member, %s: %sx, **%s**%n", w.label(), fmt(x),
          x >= 3.6 ? "met" : "missed");
    }
    for (Workload w : List.of(FULL_WRITE_1, FULL_WRITE_4)) {
      double x = g.mbps(w, r5.label()) / g.mbps(w, one.label());
      System.out.printf("- RAID-5 full-stripe writes >= 2.7x, %s: %sx, **%s**%n", w.label(),
          fmt(x), x >= 2.7 ? "met" : "missed");
    }
    for (Workload w : List.of(SEQ_READ_1, SEQ_READ_4, FULL_READ_1, FULL_READ_4)) {
      double x = g.mbps(w, r5.label()) / g.mbps(w, one.label());
      System.out.printf("- RAID-5 reads >= 3.6x, %s: %sx, **%s**%n", w.label(), fmt(x),
          x >= 3.6 ? "met" : "missed");
    }
    for (Workload w : List.of(SEQ_READ_1, SEQ_READ_4, FULL_READ_1, FULL_READ_4)) {
      double x = g.mbps(w, r5d.label()) / g.mbps(w, r5.label());
      System.out.printf("- RAID-5 degraded reads >= 0.7x healthy, %s: %sx, **%s**%n", w.label(),
          fmt(x), x >= 0.7 ? "met" : "missed");
    }
    System.out.println();
  }

  private void modelledWriteHole() throws Exception {
    System.err.println("raid: write-hole protection, modelled");
    List<Target> targets = new ArrayList<>();
    for (String wh : List.of("ppl", "bitmap", "none")) {
      targets.add(modelledArray("writeHole=" + wh, 5, Map.of("writeHole", wh),
          new ArrayList<>()));
    }
    List<Workload> ws = List.of(RAND_WRITE_4, FULL_WRITE_4);
    Grid g = roundsThenClose(ws, targets, (w, t) -> true);
    writeHoleTable("10b. Write-hole protection cost, RAID-5 over 4 modelled disks", g, ws,
        targets, true);
  }

  private static void writeHoleTable(String title, Grid g, List<Workload> ws,
      List<Target> targets, boolean modelled) {
    System.out.println("### " + title);
    System.out.println();
    System.out.println("| workload | writeHole | MB/s | requests/s | vs none | cost vs none"
        + (modelled ? " | member I/Os per request | disk utilisation" : "") + " |");
    System.out.println(modelled ? "|---|---|---|---|---|---|---|---|" : "|---|---|---|---|---|---|");
    for (Workload w : ws) {
      double none = g.mbps(w, targets.get(2).label());
      for (Target t : targets) {
        double m = g.mbps(w, t.label());
        System.out.printf("| %s | %s | %s | %s | %sx | %s%%%s |%n", w.label(),
            t.label().substring("writeHole=".length()), fmt(m), fmt(m * 1e6 / w.ioSize()),
            fmt(m / none), fmt(100 * (1 - m / none)),
            modelled ? " | " + fmt(g.ioPerRequest(w, t.label())) + " | "
                + String.format(java.util.Locale.ROOT, "%.0f%%",
                100 * g.utilisation(w, t.label())) : "");
      }
    }
    System.out.println();
  }

  // ------------------------------------------------------------------ rebuild

  private record RebuildRun(double midRate, double overallRate, double hostMbps) {
  }

  private void rebuild() throws Exception {
    System.err.println("raid: rebuild");
    System.out.println("### 10c. Rebuild of one RAID-5 member (4 modelled disks, 256 MiB of "
        + "array data, " + fmt(memberDataMiB()) + " MiB per member)");
    System.out.println();
    System.out.println("| rebuildSpeedLimit | host I/O | rate, 10%-90% of the member (MiB/s) "
        + "| vs limit | rate, replace to in sync (MiB/s) | host sequential 1 MiB reads QD1 "
        + "(MB/s) |");
    System.out.println("|---|---|---|---|---|---|");
    // 200 MiB/s is the default limit, above what these disks allow: it shows the ceiling.
    for (long limitMiB : List.of(20L, 50L, 200L)) {
      List<FaultyVolume> faulty = new ArrayList<>();
      Target t = modelledArray("rebuild-" + limitMiB, 5,
          Map.of("rebuildSpeedLimit", Long.toString(limitMiB * MIB)), faulty);
      RaidVolume v = (RaidVolume) t.volume();
      List<RebuildRun> alone = new ArrayList<>();
      List<RebuildRun> loaded = new ArrayList<>();
      try {
        int n = 0;
        for (int r = 0; r < repeats; r++) {
          alone.add(rebuildOnce(t, faulty, n++ % MEMBERS, false));
          loaded.add(rebuildOnce(t, faulty, n++ % MEMBERS, true));
        }
      } finally {
        v.close();
      }
      for (boolean withHost : List.of(false, true)) {
        List<RebuildRun> l = withHost ? loaded : alone;
        double mid = Stats.median(l.stream().map(RebuildRun::midRate).toList());
        double all = Stats.median(l.stream().map(RebuildRun::overallRate).toList());
        double host = withHost ? Stats.median(l.stream().map(RebuildRun::hostMbps).toList())
            : Double.NaN;
        System.out.printf("| %d MiB/s | %s | %s | %s%% | %s | %s |%n", limitMiB,
            withHost ? "sequential reads, QD1" : "none", fmt(mid),
            fmt(100 * mid / limitMiB), fmt(all), withHost ? fmt(host) : "n/a");
      }
    }
    System.out.println();
  }

  private static double memberDataMiB() {
    return (double) ((ARRAY + 3L * UNIT - 1) / (3L * UNIT) * UNIT) / MIB;
  }

  /** Fails member {@code index}, replaces it with a blank modelled disk, waits for the rebuild. */
  private static RebuildRun rebuildOnce(Target t, List<FaultyVolume> faulty, int index,
      boolean hostReads) throws Exception {
    RaidVolume v = (RaidVolume) t.volume();
    failMember(v, faulty.get(index));
    long ms = memberSize(5, MEMBERS);
    ModelledDisk disk = new ModelledDisk(new MemoryVolume(v.name() + ".r" + index, ms));
    FaultyVolume replacement = new FaultyVolume(disk);
    faulty.set(index, replacement);
    t.disks().set(index, disk);
    AtomicBoolean stop = new AtomicBoolean();
    AtomicLong readBytes = new AtomicLong();
    Thread reader = null;
    if (hostReads) {
      reader = new Thread(() -> {
        ByteBuffer buf = ByteBuffer.allocate(MIB);
        long slots = v.size() / MIB;
        try {
          for (long s = 0; !stop.get(); s++) {
            v.read(s % slots * MIB, buf.clear());
            readBytes.addAndGet(MIB);
          }
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }, "raid-bench-rebuild-reader");
    }
    List<long[]> samples = new ArrayList<>();
    long t0 = System.nanoTime();
    if (reader != null) {
      reader.start();
    }
    v.replaceMember(index, replacement);
    long data = 0;
    while (true) {
      RaidStatus.Member m = v.status().members().get(index);
      data = m.dataBytes();
      samples.add(new long[] {System.nanoTime(), m.rebuiltBytes()});
      if (m.state() == io.pairkit.backend.raid.MemberState.ACTIVE) {
        break;
      }
      if (m.state() == io.pairkit.backend.raid.MemberState.FAILED
          || System.nanoTime() - t0 > WAIT.toNanos()) {
        throw new IllegalStateException("rebuild of " + v.name() + " member " + index
            + " did not finish: " + v.status());
      }
      Thread.sleep(20);
    }
    long t1 = System.nanoTime();
    stop.set(true);
    if (reader != null) {
      reader.join();
    }
    if (!v.awaitRebuild(WAIT)) {
      throw new IllegalStateException("rebuild thread did not stop");
    }
    long[] from = null;
    long[] to = null;
    for (long[] s : samples) {
      if (from == null && s[1] >= data / 10) {
        from = s;
      }
      if (s[1] <= data * 9 / 10) {
        to = s;
      }
    }
    double mid = from == null || to == null || to[0] <= from[0] ? Double.NaN
        : (to[1] - from[1]) / ((to[0] - from[0]) / 1e9) / MIB;
    double overall = data / ((t1 - t0) / 1e9) / MIB;
    double host = readBytes.get() / ((t1 - t0) / 1e9) / 1e6;
    return new RebuildRun(mid, overall, host);
  }

  // ------------------------------------------------------------------ real files

  private Target fileOne() throws IOException {
    FileVolume f = FileVolume.open("file-one", dir.resolve("one.img"), ARRAY,
        FileVolume.OpenMode.CREATE, true);
    Target t = new Target("one file", f, List.of());
    fill(t);
    return t;
  }

  private Target fileArray(String label, int level, Map<String, String> extra)
      throws IOException {
    long ms = memberSize(level, MEMBERS);
    List<Volume> members = new ArrayList<>();
    String base = label.replaceAll("[^A-Za-z0-9]", "");
    for (int i = 0; i < MEMBERS; i++) {
      members.add(FileVolume.open(base + ".m" + i, dir.resolve(base + "-m" + i + ".img"), ms,
          FileVolume.OpenMode.CREATE, true));
    }
    RaidVolume v = RaidVolumes.open(spec(label, level, extra), members);
    checkExact(v, level);
    Target t = new Target(label, v, List.of());
    fill(t);
    return t;
  }

  private void files() throws Exception {
    System.err.println("raid: real files");
    List<Target> targets = new ArrayList<>();
    List<Workload> ws = List.of(SEQ_READ_1, SEQ_READ_4, SEQ_WRITE_1, SEQ_WRITE_4, RAND_WRITE_4);
    targets.add(fileOne());
    targets.add(fileArray("RAID-0 files", 0, Map.of()));
    targets.add(fileArray("RAID-5 files", 5, Map.of()));
    Grid g = roundsThenClose(ws, targets, (w, t) -> true);
    DurableBench.deleteTree(dir);
    Files.createDirectories(dir);
    System.out.println("### 10d. The same on real files (one disk underneath, O_DIRECT)");
    System.out.println();
    System.out.println("| workload | one file | RAID-0 x4 files | RAID-0 / one | RAID-5 x4 files "
        + "(ppl) | RAID-5 / one |");
    System.out.println("|---|---|---|---|---|---|");
    for (Workload w : ws) {
      double o = g.mbps(w, "one file");
      double a = g.mbps(w, "RAID-0 files");
      double b = g.mbps(w, "RAID-5 files");
      System.out.printf("| %s | %s | %s | %sx | %s | %sx |%n", w.label(), fmt(o), fmt(a),
          fmt(a / o), fmt(b), fmt(b / o));
    }
    System.out.println();

    System.err.println("raid: write-hole protection, files");
    targets.clear();
    for (String wh : List.of("ppl", "bitmap", "none")) {
      targets.add(fileArray("writeHole=" + wh, 5, Map.of("writeHole", wh)));
    }
    Grid h = roundsThenClose(List.of(RAND_WRITE_4), targets, (w, t) -> true);
    writeHoleTable("10e. Write-hole protection cost on real files (RAID-5 over 4 files, "
        + "O_DIRECT, flushes are fsyncs)", h, List.of(RAND_WRITE_4), targets, false);
  }
}
