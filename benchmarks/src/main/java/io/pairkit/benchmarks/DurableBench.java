package io.pairkit.benchmarks;

import io.pairkit.api.HostVolume;
import io.pairkit.api.MirrorMode;
import io.pairkit.api.Pair;
import io.pairkit.api.PairController;
import io.pairkit.api.PairState;
import io.pairkit.api.RecoveryReport;
import io.pairkit.api.VolumePair;
import io.pairkit.core.PairKit;
import io.pairkit.core.config.ControllerConfig;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.ToDoubleFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * Scenario {@code durable}: host writes with and without durable metadata
 * ({@code metadataDirectory}), and recovery after a crash of a controller with 8 pairs on 1 TiB
 * thin volumes.
 *
 * <p>Every host-write case runs in its own child JVM (the same JVM flags and class path), under
 * {@code strace -f --seccomp-bpf -e trace=fsync,fdatasync} when strace is installed, so the
 * {@code fsync}/{@code fdatasync} calls of the timed window can be counted from outside the
 * engine: the child marks the window's start and end with an {@code fsync} of marker files, and
 * names its writer thread's id. Cases with and without metadata both run under strace (the
 * seccomp filter stops the process only at those two system calls).
 *
 * <p>Over 500 lines: each case of the durable-metadata benchmark with its peer run in the same
 * process, and the strace child that counts syncs; a case is a method, the harness is shared.
 */
final class DurableBench {
  private static final Duration WAIT = Duration.ofHours(1);
  private static final long TIB = 1L << 40;
  private static final int PAIRS = 8;
  private static final int PIECES = 8; // per primary: 8 pieces of 8 MiB, one every 128 GiB
  private static final int PIECE = 8 << 20;
  /** Host-write cases: a split pair, and a formed pair mirroring in each mode. */
  private static final List<String> PAIR_KINDS = List.of("split", "mirrored-sync",
      "mirrored-async");
  /** Write-intent region sizes compared. */
  private static final long[] REGION_SIZES = {1L << 20, 8L << 20, 64L << 20};

  private final long size;
  private final Path dir;
  private final int seconds;
  private final int rounds;

  DurableBench(long size, Path dir, int seconds, int rounds) {
    this.size = size;
    this.dir = dir;
    this.seconds = seconds;
    this.rounds = rounds;
  }

  void run() throws Exception {
    hostWrites();
    recovery();
  }

  // ================================================================== host writes

  /** What one child measured. */
  private record Case(int writeSize, String pair, boolean durable, double ops, double p50,
      double p99, long writes, long warmWrites, long journalBytes, long checkpointBytes,
      Trace window, Trace warm, double firstRegionP50, double firstRegionP99,
      double dirtyRegionP50) {
  }

  /** Sync calls seen by strace in one window. */
  private record Trace(long writerJournalSyncs, double writerJournalSyncSeconds,
      long otherJournalSyncs, long secondarySyncs, long checkpointSyncs, long otherSyncs) {
    static final Trace NONE = new Trace(-1, -1, -1, -1, -1, -1);
  }

  void hostWrites() throws Exception {
    Path src = dir.resolve("src.img");
    Scenarios.makeRandomImage(src, size);
    boolean strace = straceAvailable();
    int warmup = seconds;
    System.out.println("## Durable metadata: host writes with and without metadataDirectory");
    System.out.println();
    System.out.printf("One writer thread, random aligned writes over the %d MiB file volume "
            + "(direct=false), %d s warm-up then %d s timed, %d interleaved rounds, each case in a "
            + "fresh child JVM%s.%n%n", size >> 20, warmup, seconds, rounds,
        strace ? " under strace -f --seccomp-bpf -e trace=fsync,fdatasync" : " (strace not "
            + "found: install it to count syncs; those columns are empty)");
    Map<String, List<Case>> results = new LinkedHashMap<>();
    for (int writeSize : new int[] {4096, 64 * 1024}) {
      for (int round = 0; round < rounds; round++) {
        for (String pair : PAIR_KINDS) {
          boolean[] order = (round % 2 == 0) ? new boolean[] {false, true}
              : new boolean[] {true, false};
          for (boolean durable : order) {
            Case c = runCase(src, writeSize, pair, durable, warmup, strace);
            System.out.printf("  (round %d: %d KiB %s %s: %s ops/s, p99 %s µs, journal syncs by "
                    + "the writer %d of %d writes)%n", round + 1, writeSize >> 10, pair,
                durable ? "durable" : "in-memory", Scenarios.fmt(c.ops()),
                Scenarios.fmt(c.p99()), c.window().writerJournalSyncs(), c.writes());
            results.computeIfAbsent(key(writeSize, pair, durable), k -> new ArrayList<>())
                .add(c);
          }
        }
      }
    }
    System.out.println();
    System.out.println("| write size | pair | no metadata (ops/s) | durable (ops/s) | durable / "
        + "none | per-round ratios | p50 / p99 none (µs) | p50 / p99 durable (µs) |");
    System.out.println("|---|---|---|---|---|---|---|---|");
    boolean met = true;
    for (int writeSize : new int[] {4096, 64 * 1024}) {
      for (String pair : PAIR_KINDS) {
        List<Case> none = results.get(key(writeSize, pair, false));
        List<Case> dur = results.get(key(writeSize, pair, true));
        double n = med(none, Case::ops);
        double d = med(dur, Case::ops);
        List<String> perRound = new ArrayList<>();
        for (int r = 0; r < none.size(); r++) {
          perRound.add(Scenarios.fmt(dur.get(r).ops() / none.get(r).ops()));
        }
        met &= d / n >= 0.9;
        System.out.printf("| %d KiB | %s | %s | %s | **%sx** | %s | %s / %s | %s / %s |%n",
            writeSize >> 10, pair, Scenarios.fmt(n), Scenarios.fmt(d), Scenarios.fmt(d / n),
            String.join(", ", perRound), Scenarios.fmt(med(none, Case::p50)),
            Scenarios.fmt(med(none, Case::p99)), Scenarios.fmt(med(dur, Case::p50)),
            Scenarios.fmt(med(dur, Case::p99)));
      }
    }
    System.out.println();
    System.out.println("Target durable >= 0.9x of no metadata after warm-up: "
        + (met ? "met" : "MISSED") + " (medians).");
    System.out.println();
    System.out.println("Durable cases, medians over rounds; syncs counted by strace in the timed "
        + "window (and in the warm-up):");
    System.out.println();
    System.out.println("| write size | pair | writes in window | host writes that synced the "
        + "journal (writer thread's fdatasync of journal-*.pkm) | same, warm-up | writer's time "
        + "in journal fdatasync | journal bytes per host write | journal syncs by other threads "
        + "| secondary flushes (lazy clear) | checkpoint bytes |");
    System.out.println("|---|---|---|---|---|---|---|---|---|---|");
    for (int writeSize : new int[] {4096, 64 * 1024}) {
      for (String pair : PAIR_KINDS) {
        List<Case> dur = results.get(key(writeSize, pair, true));
        double writes = med(dur, Case::writes);
        double frac = med(dur, c -> (double) c.window().writerJournalSyncs() / c.writes());
        double warmFrac = med(dur, c -> (double) c.warm().writerJournalSyncs() / c.warmWrites());
        double syncTime = med(dur, c -> c.window().writerJournalSyncSeconds() / seconds);
        double bytes = med(dur, c -> (double) c.journalBytes() / c.writes());
        System.out.printf("| %d KiB | %s | %.0f | %s | %s | %s | %s | %s | %s | %s |%n",
            writeSize >> 10, pair, writes,
            strace ? pct(frac) + " (" + (long) med(dur, c -> c.window().writerJournalSyncs())
                + ")" : "", strace ? pct(warmFrac) : "", strace ? pct(syncTime) : "",
            Scenarios.fmt(bytes), strace ? fmtL(med(dur, c -> c.window().otherJournalSyncs()))
                : "", strace ? fmtL(med(dur, c -> c.window().secondarySyncs())) : "",
            fmtL(med(dur, Case::checkpointBytes)));
      }
    }
    System.out.println();
    List<Case> splitDurable = results.get(key(4096, "split", true));
    System.out.printf(java.util.Locale.ROOT, "First write to each write-intent region after a "
        + "split (%d regions of %d MiB, one 4 KiB write each, regions clean: the write waits for "
        + "its region's dirty mark): p50 %s µs, p99 %s µs; a second write to the same region "
        + "(durably dirty, waits for nothing): p50 %s µs. Medians over rounds.%n%n",
        size / ControllerConfig.DEFAULT_WRITE_INTENT_REGION_SIZE,
        ControllerConfig.DEFAULT_WRITE_INTENT_REGION_SIZE >> 20,
        Scenarios.fmt(med(splitDurable, Case::firstRegionP50)),
        Scenarios.fmt(med(splitDurable, Case::firstRegionP99)),
        Scenarios.fmt(med(splitDurable, Case::dirtyRegionP50)));
    regionSizes(src, strace);
    Files.deleteIfExists(dir.resolve("s.img"));
    deleteTree(dir.resolve("meta"));
  }

  /**
   * The write-intent region size against what durability costs host writes: 4 KiB random writes
   * to an asynchronously mirrored pair (every write makes a track pending, the case that syncs
   * most), durable with each region size.
   */
  private void regionSizes(Path src, boolean strace) throws Exception {
    System.out.println("Region size (durable, 4 KiB random writes, asynchronous mirror; medians "
        + "over " + rounds + " rounds):");
    System.out.println();
    System.out.println("| region | ops/s | host writes that synced the journal | journal bytes "
        + "per host write | journal syncs in the window |");
    System.out.println("|---|---|---|---|---|");
    for (long region : REGION_SIZES) {
      List<Case> cs = new ArrayList<>();
      for (int round = 0; round < rounds; round++) {
        cs.add(runCase(src, 4096, "mirrored-async", true, seconds, strace, 0, false, region));
      }
      System.out.printf("| %d MiB | %s | %s | %s | %s |%n", region >> 20,
          Scenarios.fmt(med(cs, Case::ops)), strace ? pct(med(cs,
              c -> (double) c.window().writerJournalSyncs() / c.writes())) : "",
          Scenarios.fmt(med(cs, c -> (double) c.journalBytes() / c.writes())),
          strace ? fmtL(med(cs, c -> c.window().writerJournalSyncs()
              + c.window().otherJournalSyncs())) : "");
    }
    System.out.println();
  }

  /**
   * {@code durable-steady}: two cases that take away what dominates the {@code durable} table, to
   * show the journal's own cost: a split pair whose every track was written once before the
   * warm-up (all changed bits already durable), and a mirrored pair with {@code copyThreads=1}.
   */
  void steady() throws Exception {
    Path src = dir.resolve("src.img");
    Scenarios.makeRandomImage(src, size);
    boolean strace = straceAvailable();
    System.out.println("## Durable metadata, steady state: 4 KiB random writes, " + seconds
        + " s warm-up then " + seconds + " s timed, " + rounds + " interleaved rounds");
    System.out.println();
    System.out.println("| case | no metadata (ops/s) | durable (ops/s) | durable / none | "
        + "per-round ratios | p50 / p99 durable (µs) | host writes that synced the journal | "
        + "journal bytes per host write | writer's time in journal fdatasync |");
    System.out.println("|---|---|---|---|---|---|---|---|---|");
    String[] names = {"split pair, every track written once before the warm-up",
        "asynchronously mirrored pair, copyThreads=1"};
    for (int v = 0; v < 2; v++) {
      List<Case> none = new ArrayList<>();
      List<Case> dur = new ArrayList<>();
      for (int round = 0; round < rounds; round++) {
        for (boolean durable : round % 2 == 0 ? new boolean[] {false, true}
            : new boolean[] {true, false}) {
          Case c = v == 0 ? runCase(src, 4096, "split", durable, seconds, strace, 0, true)
              : runCase(src, 4096, "mirrored-async", durable, seconds, strace, 1, false);
          System.out.printf("  (round %d: %s %s: %s ops/s, journal syncs by the writer %d of %d)"
                  + "%n", round + 1, names[v], durable ? "durable" : "in-memory",
              Scenarios.fmt(c.ops()), c.window().writerJournalSyncs(), c.writes());
          (durable ? dur : none).add(c);
        }
      }
      List<String> perRound = new ArrayList<>();
      for (int r = 0; r < none.size(); r++) {
        perRound.add(Scenarios.fmt(dur.get(r).ops() / none.get(r).ops()));
      }
      double n = med(none, Case::ops);
      double d = med(dur, Case::ops);
      System.out.printf("| %s | %s | %s | **%sx** | %s | %s / %s | %s | %s | %s |%n", names[v],
          Scenarios.fmt(n), Scenarios.fmt(d), Scenarios.fmt(d / n), String.join(", ", perRound),
          Scenarios.fmt(med(dur, Case::p50)), Scenarios.fmt(med(dur, Case::p99)),
          strace ? pct(med(dur, c -> (double) c.window().writerJournalSyncs() / c.writes()))
              : "", Scenarios.fmt(med(dur, c -> (double) c.journalBytes() / c.writes())),
          strace ? pct(med(dur, c -> c.window().writerJournalSyncSeconds() / seconds)) : "");
    }
    System.out.println();
    Files.deleteIfExists(dir.resolve("s.img"));
    deleteTree(dir.resolve("meta"));
  }

  private static String key(int writeSize, String pair, boolean durable) {
    return writeSize + "/" + pair + "/" + durable;
  }

  private static double med(List<Case> cs, ToDoubleFunction<Case> f) {
    return Stats.median(cs.stream().map(c -> f.applyAsDouble(c)).toList());
  }

  private static String pct(double f) {
    return String.format(java.util.Locale.ROOT, f < 0.001 && f > 0 ? "%.4f%%" : "%.2f%%",
        100 * f);
  }

  private static String fmtL(double v) {
    return String.valueOf(Math.round(v));
  }

  private Case runCase(Path src, int writeSize, String pair, boolean durable, int warmup,
      boolean strace) throws Exception {
    return runCase(src, writeSize, pair, durable, warmup, strace, 0, false);
  }

  /**
   * One case in a child JVM; {@code copyThreads} 0 keeps the default, {@code touch} writes every
   * track once (4 KiB at its start) before the warm-up.
   */
  private Case runCase(Path src, int writeSize, String pair, boolean durable, int warmup,
      boolean strace, int copyThreads, boolean touch) throws Exception {
    return runCase(src, writeSize, pair, durable, warmup, strace, copyThreads, touch, 0);
  }

  /** As above, with write-intent regions of {@code region} bytes (0: the default). */
  private Case runCase(Path src, int writeSize, String pair, boolean durable, int warmup,
      boolean strace, int copyThreads, boolean touch, long region) throws Exception {
    Path s = dir.resolve("s.img");
    Path meta = dir.resolve("meta");
    Path log = dir.resolve("strace.log");
    Files.deleteIfExists(s);
    deleteTree(meta);
    Files.deleteIfExists(log);
    Scenarios.sync();
    List<String> cmd = new ArrayList<>();
    if (strace) {
      cmd.addAll(List.of("strace", "-f", "--seccomp-bpf", "-qq", "-e", "signal=none", "-T",
          "-y", "-e", "trace=fsync,fdatasync", "-o", log.toString()));
    }
    cmd.addAll(javaCommand("writes-child", List.of(src.toString(), s.toString(),
        meta.toString(), String.valueOf(size), String.valueOf(writeSize), pair,
        String.valueOf(durable), String.valueOf(warmup), String.valueOf(seconds),
        dir.toString(), String.valueOf(copyThreads), String.valueOf(touch),
        String.valueOf(region))));
    Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    Map<String, String> out = new HashMap<>();
    try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(),
        StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        if (line.startsWith("RESULT ")) {
          for (String kv : line.substring(7).trim().split(" ")) {
            int eq = kv.indexOf('=');
            out.put(kv.substring(0, eq), kv.substring(eq + 1));
          }
        } else {
          System.out.println("  child: " + line);
        }
      }
    }
    if (p.waitFor() != 0 || out.isEmpty()) {
      throw new IllegalStateException("child failed (exit " + p.exitValue() + "): " + cmd);
    }
    long tid = Long.parseLong(out.get("tid"));
    Trace window = Trace.NONE;
    Trace warm = Trace.NONE;
    if (strace) {
      List<String> lines = Files.readAllLines(log);
      window = trace(lines, tid, "pkmark-start", "pkmark-end");
      warm = trace(lines, tid, "pkmark-warm", "pkmark-start");
      Files.deleteIfExists(log);
    }
    return new Case(writeSize, pair, durable, d(out, "ops"), d(out, "p50"), d(out, "p99"),
        (long) d(out, "writes"), (long) d(out, "warmWrites"), (long) d(out, "journalBytes"),
        (long) d(out, "checkpointBytes"), window, warm, d(out, "firstRegionP50"),
        d(out, "firstRegionP99"), d(out, "dirtyRegionP50"));
  }

  private static double d(Map<String, String> m, String k) {
    return Double.parseDouble(m.get(k));
  }

  private static final Pattern CALL = Pattern.compile(
      "^(\\d+) +(fsync|fdatasync)\\(\\d+<([^>]*)>(.*)$");
  private static final Pattern RESUMED = Pattern.compile(
      "^(\\d+) +<\\.\\.\\. (fsync|fdatasync) resumed>.*<([0-9.]+)>$");
  private static final Pattern DURATION = Pattern.compile("<([0-9.]+)>$");

  /** Counts the sync calls between the marker fsyncs {@code from} and {@code to}. */
  static Trace trace(List<String> lines, long writerTid, String from, String to) {
    boolean in = false;
    long writerJournal = 0;
    long otherJournal = 0;
    long secondary = 0;
    long checkpoint = 0;
    long other = 0;
    double writerSeconds = 0;
    Map<Long, String> unfinished = new HashMap<>(); // tid -> path of a journal sync in progress
    for (String line : lines) {
      Matcher m = CALL.matcher(line);
      if (m.find()) {
        long tid = Long.parseLong(m.group(1));
        String path = m.group(3);
        String rest = m.group(4);
        if (path.endsWith("/" + from)) {
          in = true;
          continue;
        }
        if (path.endsWith("/" + to)) {
          break;
        }
        if (!in) {
          continue;
        }
        String name = path.substring(path.lastIndexOf('/') + 1);
        if (name.startsWith("journal-")) {
          if (tid == writerTid) {
            writerJournal++;
            Matcher dm = DURATION.matcher(rest);
            if (dm.find()) {
              writerSeconds += Double.parseDouble(dm.group(1));
            } else {
              unfinished.put(tid, path);
            }
          } else {
            otherJournal++;
          }
        } else if (name.startsWith("checkpoint-")) {
          checkpoint++;
        } else if (name.equals("s.img")) {
          secondary++;
        } else {
          other++;
        }
        continue;
      }
      Matcher r = RESUMED.matcher(line);
      if (in && r.find()) {
        long tid = Long.parseLong(r.group(1));
        if (unfinished.remove(tid) != null) {
          writerSeconds += Double.parseDouble(r.group(3));
        }
      }
    }
    return new Trace(writerJournal, writerSeconds, otherJournal, secondary, checkpoint, other);
  }

  /** Host-write child: one case; prints {@code RESULT key=value ...}. */
  private static void writesChild(String[] a) throws Exception {
    Path src = Path.of(a[1]);
    Path s = Path.of(a[2]);
    Path meta = Path.of(a[3]);
    long size = Long.parseLong(a[4]);
    int writeSize = Integer.parseInt(a[5]);
    String kind = a[6];
    boolean durable = Boolean.parseBoolean(a[7]);
    int warmup = Integer.parseInt(a[8]);
    int seconds = Integer.parseInt(a[9]);
    Path markers = Path.of(a[10]);
    PairKit.Builder b = PairKit.builder();
    if (Integer.parseInt(a[11]) > 0) {
      b.copyThreads(Integer.parseInt(a[11])); // durable-steady only
    }
    boolean touch = Boolean.parseBoolean(a[12]);
    long region = Long.parseLong(a[13]);
    if (region > 0) {
      b.writeIntentRegionSize(region);
    }
    if (kind.startsWith("mirrored")) {
      b.mirrorMode(kind.endsWith("async") ? MirrorMode.ASYNCHRONOUS : MirrorMode.SYNCHRONOUS);
    }
    if (durable) {
      b.metadataDirectory(meta);
    }
    try (PairController pk = b.build()) {
      HostVolume p = pk.openVolume(Scenarios.fileSpec("p", src, "open", false, size));
      HostVolume sv = pk.openVolume(Scenarios.fileSpec("s", s, "create", false, size));
      VolumePair pair = pk.createVolumePair("w", p, sv);
      pair.initialCopy().await(WAIT);
      if (kind.equals("split")) {
        pair.split().await(WAIT);
      }
      pair.mirrorDrained().get();
      sv.flush();
      String tid = Path.of("/proc/thread-self").toRealPath().getFileName().toString();
      byte[] data = new byte[writeSize];
      ThreadLocalRandom.current().nextBytes(data);
      // After the split every region is clean: the first write to each waits for its mark.
      long regionBytes = b.config().writeIntentRegionSize();
      int regions = (int) Math.max(1, size / regionBytes);
      long[] first = new long[regions];
      long[] second = new long[regions];
      if (kind.equals("split")) {
        byte[] small = new byte[4096];
        for (int r = 0; r < regions; r++) {
          long t0 = System.nanoTime();
          p.write(r * regionBytes, small);
          long t1 = System.nanoTime();
          p.write(r * regionBytes + 65536, small);
          second[r] = System.nanoTime() - t1;
          first[r] = t1 - t0;
        }
      }
      long slots = size / writeSize;
      if (touch) {
        byte[] small = new byte[4096];
        for (long t = 0; t < size / (64 * 1024); t++) {
          p.write(t * 64 * 1024, small);
        }
      }
      mark(markers, "pkmark-warm");
      long warmWrites = 0;
      long end = System.nanoTime() + warmup * 1_000_000_000L;
      while (System.nanoTime() < end) {
        p.write(ThreadLocalRandom.current().nextLong(slots) * writeSize, data);
        warmWrites++;
      }
      Map<String, Long> before = metaSizes(meta);
      mark(markers, "pkmark-start");
      long[] latencies = new long[8_000_000];
      int n = 0;
      long start = System.nanoTime();
      end = start + seconds * 1_000_000_000L;
      long now = start;
      while (now < end && n < latencies.length) {
        p.write(ThreadLocalRandom.current().nextLong(slots) * writeSize, data);
        long after = System.nanoTime();
        latencies[n++] = after - now;
        now = after;
      }
      double elapsed = (now - start) / 1e9;
      mark(markers, "pkmark-end");
      Map<String, Long> after = metaSizes(meta);
      long journal = 0;
      long checkpoints = 0;
      for (Map.Entry<String, Long> e : after.entrySet()) {
        long was = before.getOrDefault(e.getKey(), 0L);
        if (e.getKey().startsWith("journal-")) {
          journal += e.getValue() - was;
        } else if (e.getKey().startsWith("checkpoint-") && !before.containsKey(e.getKey())) {
          checkpoints += e.getValue();
        }
      }
      for (String gone : before.keySet()) {
        if (!after.containsKey(gone) && gone.startsWith("journal-")) {
          System.out.println("note: journal " + gone + " was replaced by a checkpoint in the "
              + "window; its growth before that is not counted");
        }
      }
      System.out.printf(java.util.Locale.ROOT, "RESULT tid=%s ops=%.1f p50=%.3f p99=%.3f "
              + "writes=%d warmWrites=%d journalBytes=%d checkpointBytes=%d firstRegionP50=%.3f "
              + "firstRegionP99=%.3f dirtyRegionP50=%.3f%n", tid,
          n / elapsed, Stats.percentileMicros(latencies, n, 50),
          Stats.percentileMicros(latencies, n, 99), n, warmWrites, journal, checkpoints,
          Stats.percentileMicros(first, regions, 50), Stats.percentileMicros(first, regions, 99),
          Stats.percentileMicros(second, regions, 50));
    }
    for (String m : List.of("pkmark-warm", "pkmark-start", "pkmark-end")) {
      Files.deleteIfExists(markers.resolve(m));
    }
  }

  /** An fsync of a marker file: strace's log shows where a window starts or ends. */
  private static void mark(Path dir, String name) throws IOException {
    try (FileChannel ch = FileChannel.open(dir.resolve(name), StandardOpenOption.CREATE,
        StandardOpenOption.WRITE)) {
      ch.force(true);
    }
  }

  private static Map<String, Long> metaSizes(Path meta) throws IOException {
    Map<String, Long> m = new HashMap<>();
    if (!Files.isDirectory(meta)) {
      return m;
    }
    try (Stream<Path> files = Files.list(meta)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        String name = f.getFileName().toString();
        if (name.endsWith(".pkm")) {
          try {
            m.put(name, Files.size(f));
          } catch (java.nio.file.NoSuchFileException gone) {
            // replaced meanwhile
          }
        }
      }
    }
    return m;
  }

  // ================================================================== recovery

  void recovery() throws Exception {
    Path rdir = dir.resolve("recovery");
    Path meta = rdir.resolve("meta");
    deleteTree(rdir);
    Files.createDirectories(rdir);
    FileStore store = Files.getFileStore(dir);
    long freeAtStart = store.getUsableSpace();
    Process[] child = new Process[1];
    Thread watchdog = new Thread(() -> {
      // Never let the 1 TiB files fill the disk: more than 16 GiB used here stops everything.
      while (!Thread.currentThread().isInterrupted()) {
        try {
          if (freeAtStart - store.getUsableSpace() > (16L << 30)) {
            System.out.println("WATCHDOG: more than 16 GiB written; deleting and stopping");
            if (child[0] != null) {
              child[0].destroyForcibly();
            }
            deleteTree(rdir);
            Runtime.getRuntime().halt(3);
          }
          Thread.sleep(100);
        } catch (InterruptedException e) {
          return;
        } catch (IOException e) {
          // try again
        }
      }
    }, "disk-watchdog");
    watchdog.setDaemon(true);
    watchdog.start();
    int crashesPerRegion = 2;
    int writeSeconds = 5;
    System.out.printf("## Durable metadata: recovery after a crash (%d pairs, 1 TiB thin file "
            + "volumes, direct=false, %d MiB of data per primary)%n%n", PAIRS,
        PIECES * PIECE >> 20);
    System.out.printf("Child JVM: opens the controller on the metadata directory (creates the "
        + "volumes and pairs the first time), 8 writer threads (one per primary) write 4 KiB at "
        + "random within the data, killed with SIGKILL after %d s of writes. Parent: timed "
        + "reopen, then every pair FORMED and its mirror drained. Rounds alternate a warm page "
        + "cache (a process crash) and a dropped one.%n%n", writeSeconds);
    List<String> rows = new ArrayList<>();
    try {
      for (int i = 0; i < crashesPerRegion * REGION_SIZES.length; i++) {
        boolean cold = i % 2 == 1;
        long region = REGION_SIZES[i / crashesPerRegion];
        if (i % crashesPerRegion == 0) {
          deleteTree(rdir); // each region size starts from new volumes and pairs
          Files.createDirectories(rdir);
        }
        List<String> cmd = javaCommand("crash-child", List.of(rdir.toString(),
            meta.toString(), String.valueOf(region)));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT)
            .start();
        child[0] = p;
        BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(),
            StandardCharsets.UTF_8));
        String line;
        String setup = "";
        while ((line = r.readLine()) != null && !line.startsWith("WRITING")) {
          System.out.println("  child: " + line);
          setup = line;
        }
        if (line == null) {
          throw new IllegalStateException("crash child ended early: " + cmd);
        }
        AtomicLong lastCount = new AtomicLong();
        AtomicLong rate = new AtomicLong();
        Thread reader = new Thread(() -> {
          try {
            String l;
            while ((l = r.readLine()) != null) {
              if (l.startsWith("WRITES ")) {
                String[] f = l.split(" ");
                rate.set(Long.parseLong(f[1]) - lastCount.getAndSet(Long.parseLong(f[1])));
              }
            }
          } catch (IOException e) {
            // the child was killed
          }
        });
        reader.setDaemon(true);
        reader.start();
        Thread.sleep(writeSeconds * 1000L);
        long writesPerSecond = rate.get();
        p.destroyForcibly();
        p.waitFor();
        child[0] = null;
        reader.join(2000);
        if (cold) {
          Scenarios.sync();
          Scenarios.dropPageCache();
        }
        long t0 = System.nanoTime();
        PairController pk = PairKit.builder().metadataDirectory(meta)
            .writeIntentRegionSize(region).build();
        double buildMs = (System.nanoTime() - t0) / 1e6;
        RecoveryReport rep = pk.recoveryReport();
        List<Pair> pairs = pk.pairs();
        Map<PairState, Long> statesAtOpen = new java.util.TreeMap<>();
        for (Pair pr : pairs) {
          statesAtOpen.merge(pr.state(), 1L, Long::sum);
        }
        while (!pairs.stream().allMatch(pr -> pr.state() == PairState.FORMED)) {
          Thread.sleep(0, 200_000);
        }
        double formedMs = (System.nanoTime() - t0) / 1e6;
        CompletableFuture.allOf(pairs.stream().map(Pair::mirrorDrained)
            .toArray(CompletableFuture[]::new)).get(1, TimeUnit.HOURS);
        for (Pair pr : pairs) {
          while (!pr.activeRequests().isEmpty()) {
            Thread.sleep(1);
          }
        }
        double drainedMs = (System.nanoTime() - t0) / 1e6;
        long recopied = pairs.stream().mapToLong(pr -> pr.stats().totalCopies()).sum();
        int restarted = rep.pairs().stream().mapToInt(RecoveryReport.PairRecovery::restartedRequests)
            .sum();
        String reason = rep.pairs().isEmpty() ? "" : rep.pairs().get(0).reason();
        pk.close();
        String verified = verify(rdir);
        long intent = rep.pairs().stream()
            .mapToLong(RecoveryReport.PairRecovery::intentTracks).sum();
        rows.add(String.format(java.util.Locale.ROOT,
            "| %d | %d MiB | %s | %d | %s | %s | %d | %d | %s | %d | %d | %d | %s | %s | %s | %s |",
            i + 1, region >> 20, cold ? "dropped" : "warm", writesPerSecond,
            Scenarios.fmt(buildMs), rep.cleanStop(), rep.journalRecords(),
            rep.discardedTailBytes(), statesAtOpen.toString().replace("{", "").replace("}", ""),
            rep.pendingTracks(), intent, recopied, Scenarios.fmt(formedMs),
            Scenarios.fmt(drainedMs), restarted, verified));
        System.out.println("  (crash " + (i + 1) + ": " + setup + "; report " + rep
            .pairs().size() + " pairs, reason: " + reason + ")");
      }
      System.out.println();
      System.out.println("| crash | write-intent region | page cache at reopen | host writes/s "
          + "at the kill (all 8) | reopen: build() (ms) | clean stop | journal records replayed "
          + "| torn tail bytes | states right after build() | tracks to copy (report: pending) "
          + "| of which for a dirty region (report: intentTracks) | tracks copied after reopen "
          + "(stats; holes skipped) | all FORMED (ms) | all mirrors drained (ms) | restarted "
          + "requests | data pieces equal |");
      System.out.println("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
      rows.forEach(System.out::println);
      System.out.printf("%nAllocated after the run: %s%n%n", allocated(rdir));
    } finally {
      watchdog.interrupt();
      deleteTree(rdir);
    }
  }

  /** CRC32C of every data piece, primary against secondary (the holes are not read). */
  private static String verify(Path rdir) throws IOException {
    int equal = 0;
    for (int i = 0; i < PAIRS; i++) {
      try (FileChannel a = FileChannel.open(rdir.resolve("p" + i + ".img"));
          FileChannel b = FileChannel.open(rdir.resolve("s" + i + ".img"))) {
        for (int k = 0; k < PIECES; k++) {
          long off = k * (TIB / PIECES);
          if (crc(a, off) == crc(b, off)) {
            equal++;
          }
        }
      }
    }
    return equal + "/" + PAIRS * PIECES;
  }

  private static long crc(FileChannel ch, long off) throws IOException {
    CRC32C c = new CRC32C();
    ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
    for (long pos = off; pos < off + PIECE; pos += buf.capacity()) {
      buf.clear();
      while (buf.hasRemaining() && ch.read(buf, pos + buf.position()) > 0) {
        // fill
      }
      buf.flip();
      c.update(buf);
    }
    return c.getValue();
  }

  private static String allocated(Path rdir) throws Exception {
    Process p = new ProcessBuilder("du", "-sh", rdir.toString()).start();
    String s = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    p.waitFor();
    return s;
  }

  /** Crash child: builds (or reopens) the 8 pairs, then writes until killed. */
  private static void crashChild(String[] a) throws Exception {
    Path rdir = Path.of(a[1]);
    Path meta = Path.of(a[2]);
    long region = Long.parseLong(a[3]);
    FileStore store = Files.getFileStore(rdir);
    long free = store.getUsableSpace();
    Thread watchdog = new Thread(() -> {
      while (true) {
        try {
          if (free - store.getUsableSpace() > (16L << 30)) {
            System.out.println("WATCHDOG in child: more than 16 GiB written");
            Runtime.getRuntime().halt(3);
          }
          Thread.sleep(100);
        } catch (Exception e) {
          return;
        }
      }
    }, "disk-watchdog");
    watchdog.setDaemon(true);
    watchdog.start();
    long t0 = System.nanoTime();
    PairController pk = PairKit.builder().metadataDirectory(meta).writeIntentRegionSize(region)
        .build();
    List<HostVolume> primaries = new ArrayList<>();
    if (pk.pairs().isEmpty()) {
      List<VolumePair> pairs = new ArrayList<>();
      byte[] chunk = new byte[1 << 20];
      Random random = new Random(5);
      for (int i = 0; i < PAIRS; i++) {
        HostVolume p = pk.openVolume(Scenarios.fileSpec("p" + i, rdir.resolve("p" + i + ".img"),
            "create", false, TIB));
        HostVolume s = pk.openVolume(Scenarios.fileSpec("s" + i, rdir.resolve("s" + i + ".img"),
            "create", false, TIB));
        for (int k = 0; k < PIECES; k++) {
          for (int off = 0; off < PIECE; off += chunk.length) {
            random.nextBytes(chunk);
            p.write(k * (TIB / PIECES) + off, chunk);
          }
        }
        primaries.add(p);
        pairs.add(pk.createVolumePair("pair" + i, p, s));
      }
      for (VolumePair pr : pairs) {
        pr.initialCopy().await(WAIT);
      }
      System.out.printf("created 8 pairs, data written and copied in %.0f ms%n",
          (System.nanoTime() - t0) / 1e6);
    } else {
      for (Pair pr : pk.pairs()) {
        primaries.add(pr.primary());
        pr.mirrorDrained().get();
      }
      System.out.printf("reopened (%s), drained in %.0f ms%n",
          pk.recoveryReport().cleanStop() ? "clean" : "unclean", (System.nanoTime() - t0) / 1e6);
    }
    AtomicLong writes = new AtomicLong();
    for (HostVolume p : primaries) {
      Thread t = new Thread(() -> {
        byte[] block = new byte[4096];
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        while (true) {
          rnd.nextBytes(block);
          long off = rnd.nextInt(PIECES) * (TIB / PIECES) + rnd.nextInt(PIECE / 4096) * 4096L;
          p.write(off, block);
          writes.incrementAndGet();
        }
      }, "writer-" + p.name());
      t.setDaemon(true);
      t.start();
    }
    System.out.println("WRITING");
    while (true) {
      Thread.sleep(1000);
      System.out.println("WRITES " + writes.get());
    }
  }

  // ================================================================== helpers

  /** This JVM's command line for a child running {@code mode}. */
  private static List<String> javaCommand(String mode, List<String> args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(DurableBench.class.getName());
    cmd.add(mode);
    cmd.addAll(args);
    return cmd;
  }

  private static boolean straceAvailable() {
    try {
      Process p = new ProcessBuilder("strace", "-V").redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      return p.waitFor() == 0;
    } catch (IOException | InterruptedException e) {
      return false;
    }
  }

  static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> all = Files.walk(root)) {
      for (Path f : (Iterable<Path>) all.sorted(Comparator.reverseOrder())::iterator) {
        Files.deleteIfExists(f);
      }
    }
  }

  public static void main(String[] args) throws Exception {
    switch (args[0]) {
      case "writes-child" -> writesChild(args);
      case "crash-child" -> crashChild(args);
      default -> throw new IllegalArgumentException(args[0]);
    }
    System.exit(0);
  }
}
