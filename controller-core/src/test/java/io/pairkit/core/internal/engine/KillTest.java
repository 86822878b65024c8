package io.pairkit.core.internal.engine;

import static io.pairkit.core.internal.engine.KillChild.SIZE;
import static io.pairkit.core.internal.engine.KillChild.TRACKS;
import static io.pairkit.core.internal.engine.KillChild.TS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.pairkit.api.CopyRequest;
import io.pairkit.api.Extent;
import io.pairkit.api.ExtentPair;
import io.pairkit.api.ExtentSplitPair;
import io.pairkit.api.HostVolume;
import io.pairkit.api.Pair;
import io.pairkit.api.PairController;
import io.pairkit.api.PairState;
import io.pairkit.api.TrackState;
import io.pairkit.api.TrackStates;
import io.pairkit.api.VolumePair;
import io.pairkit.core.PairKit;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kill test: a child JVM ({@link KillChild}) runs a random workload on durable pairs in every
 * state and is killed with SIGKILL after a random number of acknowledged operations; this JVM
 * then reopens the metadata directory and checks the child's own log against what it finds:
 * every flushed write is on the primary, every acknowledged split or update still holds the
 * primary's image of its instant on the secondary (I2), and after the restarted requests and the
 * mirror drain, a track whose secondary differs from its primary is one the pair reports as
 * changed (I1). Then it converges every pair (resync, join) and checks S = P, closes, and lets the
 * next child continue on the same directory. Some rounds kill two children in a row before the
 * check, so recovery after an unclean recovery is covered too.
 *
 * <p>The numbers land in docs/RELIABILITY.md ("kill test").
 */
@Timeout(300)
class KillTest {
  static final int KILLS = 24;

  @TempDir
  Path dir;

  /** What the child's log says, carried over rounds. */
  private final String[] current = new String[TRACKS];
  private final List<Set<String>> acceptable = new ArrayList<>();
  /** Per pair: track -> the primary's hash at its last acknowledged freeze or update instant. */
  private final Map<String, Map<Long, String>> expected = new HashMap<>();
  /** Per pair: tracks whose secondary image is unknown (written, or an unacknowledged request). */
  private final Map<String, Set<Long>> unchecked = new HashMap<>();
  private int logLinesSeen;
  private final List<String> violations = new ArrayList<>();
  private final Map<String, Integer> requestsChecked = new HashMap<>();

  @Test
  void killedChildrenLoseNoAcknowledgedWriteNoDifferenceAndNoPointInTimeImage() throws Exception {
    long started = System.nanoTime();
    long seed = Long.getLong("pairkit.kill.seed", System.nanoTime());
    Random rnd = new Random(seed);
    List<String> flags = jvmFlags();
    boolean cacheAvailable = !flags.isEmpty()
        && Boolean.parseBoolean(System.getProperty("pairkit.kill.cache", "true"));
    try (PairController pk = controller()) { // the images start random, not zero
      for (String name : new String[] {"p", "s1", "s2", "s3"}) {
        pk.openVolume(KillChild.spec(dir, name)).write(0, Rig.random(name.hashCode(), (int) SIZE));
      }
      pk.flush();
    }
    for (int t = 0; t < TRACKS; t++) {
      acceptable.add(new HashSet<>());
    }
    int kills = 0;
    int round = 0;
    int opsTotal = 0;
    long childNanos = 0;
    long verifyNanos = 0;
    while (kills < KILLS) {
      int children = rnd.nextInt(4) == 0 ? 2 : 1;
      for (int c = 0; c < children && kills < KILLS; c++) {
        boolean cache = cacheAvailable && rnd.nextBoolean();
        int ops = 3 + rnd.nextInt(45);
        long t0 = System.nanoTime();
        opsTotal += runAndKill(flags, rnd.nextLong(), cache, ops, kills);
        childNanos += System.nanoTime() - t0;
        kills++;
      }
      long t0 = System.nanoTime();
      verify(round++);
      verifyNanos += System.nanoTime() - t0;
    }
    double seconds = (System.nanoTime() - started) / 1e9;
    System.out.printf("KillTest: %d kills, %d rounds, %d acknowledged operations, requests "
        + "checked %s, %.1f s (children %.1f s, checks %.1f s), seed %d, track cache %s, "
        + "violations %d%n", kills, round, opsTotal, requestsChecked, seconds, childNanos / 1e9,
        verifyNanos / 1e9, seed, cacheAvailable ? "in some children" : "off",
        violations.size());
    assertTrue(violations.isEmpty(), "seed " + seed + ": " + violations);
    assertTrue(kills >= 20);
  }

  private PairController controller() {
    return PairKit.builder().trackSize(TS).metadataDirectory(dir.resolve("meta")).build();
  }

  /** The parent's --add-opens/--add-exports flags, which the child needs for the track cache. */
  private static List<String> jvmFlags() {
    List<String> out = new ArrayList<>();
    List<String> args = ManagementFactory.getRuntimeMXBean().getInputArguments();
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      if (a.startsWith("--add-opens") || a.startsWith("--add-exports")) {
        out.add(a);
        if (!a.contains("=") && i + 1 < args.size()) {
          out.add(args.get(++i));
        }
      }
    }
    return out;
  }

  /** Starts a child, waits until it acknowledged {@code ops} operations, kills it. */
  private int runAndKill(List<String> flags, long seed, boolean cache, int ops, int n)
      throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    if (cache) {
      cmd.addAll(flags);
    }
    // A short-lived child: quick JIT, a small serial heap (two shared cores).
    cmd.addAll(List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx96m",
        "-XX:-UsePerfData", "-cp",
        System.getProperty("java.class.path"), KillChild.class.getName(), dir.toString(),
        Long.toString(seed), Boolean.toString(cache), Integer.toString(ops + 1000)));
    Path err = dir.resolve("child-" + n + ".err");
    Process child = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
    int acknowledged = 0;
    try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(),
        StandardCharsets.UTF_8))) {
      String line;
      while (acknowledged < ops && (line = out.readLine()) != null) {
        if (line.startsWith("op ")) {
          acknowledged++;
        }
      }
      child.destroyForcibly();
      assertTrue(child.waitFor(30, TimeUnit.SECONDS), "the killed child is gone");
    }
    if (acknowledged < ops) {
      fail("child " + n + " ended after " + acknowledged + " of " + ops + " operations: "
          + Files.readString(err));
    }
    return acknowledged;
  }

  /** Reads the new log lines, reopens, checks, converges and closes. */
  private void verify(int round) throws Exception {
    List<String> all = Files.readAllLines(dir.resolve("log.txt"));
    String raw = Files.readString(dir.resolve("log.txt"));
    if (!raw.isEmpty() && !raw.endsWith("\n")) {
      all.remove(all.size() - 1); // a line torn by the kill
    }
    List<String> lines = all.subList(logLinesSeen, all.size());
    logLinesSeen = all.size();
    for (int i = 0; i < lines.size(); i++) {
      String[] f = lines.get(i).split(" ");
      String next = i + 1 < lines.size() ? lines.get(i + 1) : null;
      switch (f[0]) {
        case "B" -> {
          String[] h = f[1].split(",");
          checkPrimary(round, "at a child's start", h);
          for (int t = 0; t < TRACKS; t++) {
            current[t] = h[t];
            acceptable.get(t).clear();
            acceptable.get(t).add(h[t]);
          }
        }
        case "W" -> {
          int t0 = Integer.parseInt(f[1]);
          String[] h = f[3].split(",");
          for (int t = t0; t < Integer.parseInt(f[2]); t++) {
            current[t] = h[t - t0];
            acceptable.get(t).add(h[t - t0]);
          }
        }
        case "F" -> {
          if (next != null) {
            for (int t = 0; t < TRACKS; t++) {
              acceptable.get(t).clear();
              acceptable.get(t).add(current[t]);
            }
          }
        }
        case "S" -> unchecked(f[1]).add(Long.parseLong(f[2]));
        case "R" -> {
          String pair = f[1];
          String kind = f[2];
          Map<Long, String> region = new HashMap<>();
          if (f.length > 3) {
            for (String e : f[3].split(",")) {
              String[] th = e.split(":");
              region.put(Long.parseLong(th[0]), th[1]);
            }
          }
          if (next == null) { // maybe made, maybe not: its tracks are unknown this round
            unchecked(pair).addAll(region.keySet());
          } else if (!next.startsWith("X")) {
            boolean freezes = !kind.equals("RESYNC") && !kind.equals("JOIN");
            for (Map.Entry<Long, String> e : region.entrySet()) {
              unchecked(pair).remove(e.getKey());
              if (freezes) {
                expected(pair).put(e.getKey(), e.getValue());
              } else {
                expected(pair).remove(e.getKey());
              }
            }
            requestsChecked.merge(kind, 1, Integer::sum);
          }
        }
        case "X" -> {
          // handled with the line before
        }
        default -> fail("unknown log line " + lines.get(i));
      }
    }
    try (PairController pk = controller()) {
      if (!KillChild.has(pk, "vp") && !KillChild.has(pk, "xs") && !KillChild.has(pk, "ep")) {
        assertTrue(expected.values().stream().allMatch(Map::isEmpty), "no pair came back");
        return;
      }
      HostVolume p = pk.volume("p");
      byte[] pImage = p.read(0, (int) SIZE);
      checkPrimary(round, "after the kill", KillChild.trackHashes(pImage));
      for (Pair pair : pk.pairs()) {
        if (pair.state() == PairState.SUSPENDED) {
          violations.add("round " + round + ": pair " + pair.id() + " came back suspended");
          pair.resume();
        }
      }
      for (Pair pair : pk.pairs()) {
        for (CopyRequest r : pair.activeRequests()) {
          r.await(Rig.WAIT);
        }
        pair.mirrorDrained().get(30, TimeUnit.SECONDS);
        long stillPending = pair.stats().pendingTracks();
        if (stillPending > 0) { // nothing is left to copy them: they would wait for good
          violations.add("round " + round + ": pair " + pair.id() + " has " + stillPending
              + " tracks still pending once its requests and mirror finished ("
              + pair.state() + ")");
        }
      }
      for (Map.Entry<String, Map<Long, String>> e : expected.entrySet()) {
        Pair pair = KillChild.has(pk, e.getKey()) ? pk.pair(e.getKey()) : null;
        if (pair == null) {
          if (!e.getValue().isEmpty()) {
            violations.add("round " + round + ": pair " + e.getKey() + " with acknowledged "
                + "requests is gone");
          }
          continue;
        }
        String[] s = KillChild.trackHashes(pair.secondary().read(0, (int) SIZE));
        TrackStates st = pair.trackStates(Extent.of(0, SIZE));
        for (Map.Entry<Long, String> t : e.getValue().entrySet()) {
          long track = t.getKey();
          if (unchecked(e.getKey()).contains(track)) {
            continue;
          }
          if (!st.state(track).isSplit()) {
            violations.add("round " + round + ": " + pair.id() + " track " + track + " is "
                + st.state(track) + " but an acknowledged request froze it");
          } else if (!s[(int) track].equals(t.getValue())) {
            violations.add("round " + round + ": I2 " + pair.id() + " track " + track
                + " on S is not P's image at its instant (" + st.state(track) + ")");
          }
        }
      }
      byte[] pNow = p.read(0, (int) SIZE);
      for (Pair pair : pk.pairs()) {
        checkI1(round, pair, pNow);
      }
      converge(pk, round);
    }
    expected.clear();
    unchecked.clear();
  }

  private void checkPrimary(int round, String when, String[] actual) {
    if (acceptable.get(0).isEmpty()) {
      return; // the first child: nothing logged before it
    }
    for (int t = 0; t < TRACKS; t++) {
      if (!acceptable.get(t).contains(actual[t])) {
        violations.add("round " + round + ": P track " + t + " " + when + " holds neither its "
            + "last flushed data nor a later acknowledged write");
      }
    }
  }

  private void checkI1(int round, Pair pair, byte[] pImage) {
    String[] pH = KillChild.trackHashes(pImage);
    String[] sH = KillChild.trackHashes(pair.secondary().read(0, (int) SIZE));
    TrackStates st = pair.trackStates(Extent.of(0, SIZE));
    for (int t = 0; t < TRACKS; t++) {
      TrackState state = st.state(t);
      if (state == TrackState.OUT_OF_SCOPE || pH[t].equals(sH[t])) {
        continue;
      }
      if (state == TrackState.IN_SYNC || state == TrackState.SPLIT) {
        violations.add("round " + round + ": I1 " + pair.id() + " track " + t + " differs "
            + "but is " + state);
      }
    }
  }

  /** Joins and resyncs every pair, then checks S = P over each pair's scope (I3). */
  private void converge(PairController pk, int round) throws Exception {
    for (Pair pair : pk.pairs()) {
      CopyRequest r = null;
      if (pair instanceof VolumePair vp && pair.state() == PairState.SPLIT) {
        r = vp.resync();
      } else if (pair instanceof ExtentPair ep && pair.state() == PairState.SPLIT) {
        r = ep.resync();
      } else if (pair instanceof ExtentSplitPair xs && !xs.splitExtents().isEmpty()) {
        r = xs.extentJoin(xs.splitExtents());
      }
      if (r != null) {
        r.await(Rig.WAIT);
      }
      pair.mirrorDrained().get(30, TimeUnit.SECONDS);
    }
    byte[] p = pk.volume("p").read(0, (int) SIZE);
    for (Pair pair : pk.pairs()) {
      byte[] s = pair.secondary().read(0, (int) SIZE);
      for (Extent e : pair.scope().extents()) {
        for (long b = e.start(); b < e.end(); b += TS) {
          if (!java.util.Arrays.equals(p, (int) b, (int) b + TS, s, (int) b, (int) b + TS)) {
            violations.add("round " + round + ": I3 " + pair.id() + " track " + b / TS
                + " differs after resync/join and drain");
          }
        }
      }
      assertEquals(0, pair.stats().pendingTracks() + pair.stats().changedTracks(),
          pair.id() + " " + pair.stats());
    }
  }

  private Map<Long, String> expected(String pair) {
    return expected.computeIfAbsent(pair, k -> new HashMap<>());
  }

  private Set<Long> unchecked(String pair) {
    return unchecked.computeIfAbsent(pair, k -> new HashSet<>());
  }
}
