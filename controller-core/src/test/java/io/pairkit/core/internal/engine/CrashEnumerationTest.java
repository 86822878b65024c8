package io.pairkit.core.internal.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.CopyRequest;
import io.pairkit.api.Extent;
import io.pairkit.api.ExtentPair;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.ExtentSplitPair;
import io.pairkit.api.HostVolume;
import io.pairkit.api.MirrorMode;
import io.pairkit.api.Pair;
import io.pairkit.api.PairOptions;
import io.pairkit.api.PairState;
import io.pairkit.api.PairStrategy;
import io.pairkit.api.TrackState;
import io.pairkit.api.TrackStates;
import io.pairkit.api.VolumePair;
import io.pairkit.api.error.PairStateException;
import io.pairkit.api.spi.ProviderContext;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.VolumeProvider;
import io.pairkit.api.spi.VolumeSpec;
import io.pairkit.testkit.MemoryVolume;
import io.pairkit.core.PairKit;
import io.pairkit.core.cache.TrackCacheConfig;
import io.pairkit.core.config.ControllerConfig;
import io.pairkit.core.registry.VolumeProviders;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Crash enumeration (the method of dm-log-writes replay and CrashMonkey): a recorded run of host
 * writes, flushes and requests (restores among them) over every strategy, with and without the track cache, logs each
 * write and flush of both volumes and each append, sync, replace and delete of the metadata in
 * one order ({@link CrashLog}). A crash image is built at every flush or sync and at random
 * points, with a random part of the unflushed writes (torn at 4 KiB) and a prefix of the unsynced
 * appends (torn at any byte). Each image is reopened, its requests finish, and then I1 (no lost
 * difference: S differs from P only where the track is changed) and I2 (a frozen track holds P's
 * data of its last freeze or update instant, unless the host wrote S there) are checked against a
 * model of what the host wrote and when each request returned. Host writes that were not flushed
 * may be lost on P (the volume contract), so P's content at an instant is any version from the
 * last one that reached P durably up to the one the host wrote last. A restore acknowledged
 * before the crash is never undone where it brought other data back: P holds that data or a
 * host write made after it. A quarter of the crash
 * points also crash their recovery: the recovering controller is recorded too (its checkpoint,
 * the deletes of the old generation, the restarted copies), crashed at one of its own points,
 * and the image of that is recovered and checked against the same model.
 *
 * <p>The tests bite. With one ordering rule broken at a time (locally, never committed; one
 * default run of about 650 crash points each), this many crash points failed:
 * <ul>
 *   <li>rule 1, ManagedVolume.modifyPrimary does not await the bits' tickets: 96;
 *   <li>rule 2, AbstractPair.lazyRound does not flush the secondary: 139 (28 since lazy
 *       clearing waits two rounds, so fewer clears happen in a run); it does not flush the
 *       primary: 77; PairCopier.makeFrozenCopiesDurable does nothing: 17 (these two are
 *       the engine bugs this test found);
 *   <li>rule 3, PrimaryWriteRule does not flush the copy-on-write: 22 (a copy-on-write needs a
 *       host write to a frozen track not yet copied, hence the paused copies and the hot tracks);
 *   <li>rule 4, RequestAdmission.request does not await its record: 168;
 *   <li>recovery deletes the old generation before it writes its checkpoint: 37 (all of them
 *       crashes during recovery);
 *   <li>restore, Restore.record does not flush the primary before it records tracks restored:
 *       26; Restore.beforeHostWrite does not wait for that record before the host write lands:
 *       0 here, 4 of the 12,928 of the slow run (the write usually waits for its region's mark,
 *       which comes after the record in the journal).
 * </ul>
 * The recorded runs use the engine's threads, so a seed fixes the host's operations but not
 * every interleaving: the number of crash points varies by a few.
 */
class CrashEnumerationTest {
  private static final int TS = 4096;
  private static final int TRACKS = 64;
  private static final long SIZE = (long) TRACKS * TS;
  private static final String TYPE = "crashmem";
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final long SEED = Long.getLong("pairkit.crash.seed", 20261126L);
  /** The scope of extent pairs: two runs of tracks. */
  private static final ExtentSet EXTENTS = ExtentSet.of(List.of(
      Extent.of(8L * TS, 24L * TS), Extent.of(40L * TS, 56L * TS)));

  @Test
  @Timeout(300)
  void everyCrashPointKeepsNoLostDifferenceAndPointInTime() {
    enumerate(3, 30, 500);
  }

  @Test
  @Tag("slow")
  @Timeout(3600)
  void tenThousandCrashPointsKeepNoLostDifferenceAndPointInTime() {
    enumerate(40, 45, 10_000);
  }

  // ---------------------------------------------------------------- enumeration

  private void enumerate(int histories, int pointsPerHistory, int minimum) {
    long started = System.nanoTime();
    int tried = 0;
    int twice = 0;
    List<String> failures = new ArrayList<>();
    for (PairStrategy strategy : PairStrategy.values()) {
      for (boolean cache : new boolean[] {false, true}) {
        for (int h = 0; h < histories; h++) {
          long seed = SEED + 1000L * h + 100L * strategy.ordinal() + (cache ? 10 : 0);
          MirrorMode mode = h % 2 == 0 ? MirrorMode.SYNCHRONOUS : MirrorMode.ASYNCHRONOUS;
          History history = record(strategy, cache, mode, seed);
          Random rnd = new Random(seed ^ 0x5DEECE66DL);
          for (int k : crashPoints(history, pointsPerHistory, rnd)) {
            boolean[] modes = rnd.nextInt(4) == 0 ? new boolean[] {false, true}
                : new boolean[] {false}; // a quarter also crash their recovery
            for (boolean again : modes) {
              if (again) {
                twice++;
              }
              long imageSeed = rnd.nextLong();
              tried++;
              String failure = check(history, k, new Random(imageSeed), again);
              if (failure != null) {
                failures.add(strategy + (cache ? " cached" : "") + " " + mode + " seed " + seed
                    + " point "
                    + k + "/" + history.ops.size() + (again ? " and again in recovery" : "")
                    + " image " + imageSeed + ": " + failure);
              }
            }
          }
        }
      }
    }
    long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
    System.out.println("crash enumeration: " + tried + " crash points (" + twice + " of them "
        + "crash the recovery again), " + failures.size() + " failed, " + ms + " ms");
    failures.stream().limit(20).forEach(System.out::println);
    assertTrue(tried >= minimum, "only " + tried + " crash points, fewer than " + minimum);
    assertEquals(List.of(), failures.subList(0, Math.min(5, failures.size())),
        failures.size() + " of " + tried + " crash points failed");
  }

  /** Every flush and sync point and random ones, shuffled, at most {@code max}; the end first. */
  private static List<Integer> crashPoints(History h, int max, Random rnd) {
    Set<Integer> points = new LinkedHashSet<>(CrashLog.durabilityPoints(h.ops));
    for (int i = 0; i < max; i++) {
      points.add(rnd.nextInt(h.ops.size() + 1));
    }
    List<Integer> out = new ArrayList<>(points);
    Collections.shuffle(out, rnd);
    out.remove(Integer.valueOf(h.ops.size()));
    out.add(0, h.ops.size());
    return out.subList(0, Math.min(max, out.size()));
  }

  // ---------------------------------------------------------------- the model

  private enum Kind { FREEZE, UPDATE, JOIN, RESTORE }

  /** A request that took effect: its tracks, log positions at call and return, P's versions. */
  private record Req(Kind kind, long[] tracks, int call, int ack, int[] pIndex) {
  }

  /** A recorded run: its log and what the host did, with log positions. */
  private static final class History {
    final PairStrategy strategy;
    final boolean cache;
    final MirrorMode mode;
    /** Per track, the stamps of the data the host wrote to P, in order; [0] = 0, zeros. */
    final List<List<Long>> pStamps = new ArrayList<>();
    /** Per track, log positions at which the host started writing S. */
    final List<List<Integer>> sWrites = new ArrayList<>();
    final List<Req> requests = new ArrayList<>();
    final boolean[] scope = new boolean[TRACKS];
    int createAck = Integer.MAX_VALUE;
    List<CrashLog.Op> ops;

    History(PairStrategy strategy, boolean cache, MirrorMode mode) {
      this.strategy = strategy;
      this.cache = cache;
      this.mode = mode;
      for (int t = 0; t < TRACKS; t++) {
        pStamps.add(new ArrayList<>(List.of(0L)));
        sWrites.add(new ArrayList<>());
        scope[t] = strategy != PairStrategy.EXTENT_PAIR || EXTENTS.contains((long) t * TS);
      }
    }

    int[] pIndexNow() {
      int[] out = new int[TRACKS];
      for (int t = 0; t < TRACKS; t++) {
        out[t] = pStamps.get(t).size() - 1;
      }
      return out;
    }

    /** Which tracks are frozen after the requests acknowledged by {@code k} (and the last). */
    boolean[] frozen(int k, Req[] last, Req inflight) {
      boolean[] frozen = new boolean[TRACKS];
      for (Req r : requests) {
        if (r.ack <= k || r == inflight) {
          for (long t : r.tracks) {
            int i = (int) t;
            switch (r.kind) {
              case FREEZE -> {
                frozen[i] = true;
                last[i] = r;
              }
              case UPDATE -> last[i] = frozen[i] ? r : last[i];
              case JOIN -> {
                frozen[i] = false;
                last[i] = null;
              }
              case RESTORE -> {
                // P gets S's data (a version of its own in pStamps); S and the bits stay
              }
            }
          }
        }
      }
      return frozen;
    }
  }

  private static final Map<Long, byte[]> CONTENT = new ConcurrentHashMap<>();

  /** The 4 KiB a host write with {@code stamp} puts in a track: the stamp, then random bytes. */
  private static byte[] content(long stamp) {
    return CONTENT.computeIfAbsent(stamp, s -> {
      byte[] b = new byte[TS];
      if (s == 0) {
        return b;
      }
      new Random(s * 0x9E3779B97F4A7C15L).nextBytes(b);
      for (int i = 0; i < 8; i++) {
        b[i] = (byte) (s >>> (56 - 8 * i));
      }
      return b;
    });
  }

  /** The stamp of the data in track {@code t} of {@code image}, or -1 if it is no host write. */
  private static long decode(byte[] image, int t) {
    long stamp = CrashLog.stampOf(image, t * TS);
    byte[] want = content(stamp);
    return Arrays.equals(image, t * TS, (t + 1) * TS, want, 0, TS) ? stamp : -1;
  }

  // ---------------------------------------------------------------- the recorded run

  private static ControllerConfig config(boolean cache, MirrorMode mode) {
    PairKit.Builder b = PairKit.builder().trackSize(TS).copyThreads(2).mirrorMode(mode)
        .lazyClearDelay(Duration.ofHours(1)) // the run calls the lazy rounds itself
        .writeIntentRegionSize(4L * TS); // 16 regions, so some go quiet and are cleaned
    if (cache) {
      b.trackCache(TrackCacheConfig.defaults().withCapacity(16L * TS));
    }
    return b.config();
  }

  /** Hands out volumes by name (recorded ones, or crash images). */
  private record Provider(Function<String, Volume> volumes) implements VolumeProvider {
    @Override
    public String type() {
      return TYPE;
    }

    @Override
    public Volume open(VolumeSpec spec, ProviderContext context) {
      return volumes.apply(spec.name());
    }
  }

  private static History record(PairStrategy strategy, boolean cache, MirrorMode mode,
      long seed) {
    History h = new History(strategy, cache, mode);
    CrashLog log = new CrashLog();
    Random rnd = new Random(seed);
    long[] stamps = {seed << 20};
    DefaultPairController pk = DefaultPairController.withStorage(config(cache, mode),
        VolumeProviders.of(new Provider(name -> new RecordingVolume(new MemoryVolume(name, SIZE),
            log))), Engine.InstantHook.NONE, new RecordingStorage(log));
    try {
      HostVolume p = pk.openVolume(VolumeSpec.builder("p", TYPE).build());
      HostVolume s = pk.openVolume(VolumeSpec.builder("s", TYPE).build());
      boolean equalSides = true;
      if (rnd.nextBoolean()) { // every track holds data before the pair
        writeP(h, p, 0, TRACKS, stamps);
        equalSides = false;
      }
      for (int i = rnd.nextInt(4); i > 0; i--) {
        writeP(h, log, p, rnd, stamps);
        equalSides = false;
      }
      // Both sides all zeros: a quarter of these pairs are created without a copy (-nocopy).
      PairOptions options = PairOptions.defaults()
          .withInitialCopy(!(equalSides && rnd.nextInt(4) == 0));
      boolean paused = rnd.nextBoolean();
      if (paused) {
        pk.pauseBackgroundCopies();
      }
      AbstractPair pair = (AbstractPair) switch (strategy) {
        case VOLUME_PAIR -> pk.createVolumePair("x", p, s, options);
        case EXTENT_PAIR -> pk.createExtentPair("x", p, s, EXTENTS, options);
        case EXTENT_SPLIT_PAIR -> pk.createExtentSplitPair("x", p, s, options);
      };
      h.createAck = log.size();
      for (int step = 0; step < 40; step++) {
        int r = rnd.nextInt(100);
        if (r < 35) {
          writeP(h, log, p, rnd, stamps);
        } else if (r < 42) {
          p.flush();
        } else if (r < 46) {
          s.flush();
        } else if (r < 54) {
          writeS(h, log, s, rnd, stamps);
        } else if (r < 60) {
          paused = !paused;
          if (paused) {
            pk.pauseBackgroundCopies();
          } else {
            pk.resumeBackgroundCopies();
          }
        } else if (r < 65) {
          pk.resumeBackgroundCopies();
          paused = false;
          settle(pair);
        } else if (r < 70) {
          pair.lazyRound(); // one round of lazy clearing
        } else if (r < 74) {
          try { // suspension by request, or its resume (the model's images do not change)
            if (pair.state() == PairState.SUSPENDED) {
              pair.resume();
            } else {
              pair.suspend();
            }
          } catch (PairStateException refused) {
            // not in this state: nothing changed
          }
        } else {
          if (!paused && rnd.nextBoolean()) { // the request's tracks stay pending a while
            pk.pauseBackgroundCopies();
            paused = true;
          }
          int before = h.requests.size();
          request(h, log, pair, rnd);
          Req last = h.requests.size() > before ? h.requests.get(before) : null;
          if (last != null && last.kind == Kind.RESTORE && last.tracks.length > 0
              && rnd.nextBoolean()) {
            // A host write to a track the restore may not have copied yet, made durable at
            // once: it must win over the restore, after a crash too.
            writeP(h, p, (int) last.tracks[rnd.nextInt(last.tracks.length)], 1, stamps);
            p.flush();
          }
        }
      }
      h.ops = log.snapshot();
    } finally {
      try {
        pk.resumeBackgroundCopies();
        pk.close();
      } catch (RuntimeException e) {
        // the run is over; its log is taken
      }
    }
    return h;
  }

  private static void settle(Pair pair) {
    try {
      for (CopyRequest r : pair.activeRequests()) {
        try {
          r.completion().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        } catch (java.util.concurrent.CancellationException abandoned) {
          // stopped by a suspension; the resume copies what it left
        }
      }
      if (pair.state() == PairState.SUSPENDED) {
        return; // nothing copies until the resume
      }
      pair.mirrorDrained().get(WAIT.toSeconds(), TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("copies of " + pair + " did not finish", e);
    }
  }

  /** Writes 1 to 3 tracks, mostly in a hot set that meets both runs of the extent pair. */
  private static void writeP(History h, CrashLog log, HostVolume p, Random rnd, long[] stamps) {
    int hot = rnd.nextInt(20); // the hot set: tracks 6..19 and 40..45
    int first = rnd.nextInt(4) == 0 ? rnd.nextInt(TRACKS) : hot < 14 ? 6 + hot : 26 + hot;
    writeP(h, p, first, Math.min(1 + rnd.nextInt(3), TRACKS - first), stamps);
  }

  private static void writeP(History h, HostVolume p, int first, int n, long[] stamps) {
    byte[] data = new byte[n * TS];
    long[] written = new long[n];
    for (int i = 0; i < n; i++) {
      written[i] = ++stamps[0];
      System.arraycopy(content(written[i]), 0, data, i * TS, TS);
    }
    p.write((long) first * TS, data);
    for (int i = 0; i < n; i++) {
      h.pStamps.get(first + i).add(written[i]);
    }
  }

  private static void writeS(History h, CrashLog log, HostVolume s, Random rnd, long[] stamps) {
    boolean[] frozen = h.frozen(Integer.MAX_VALUE, new Req[TRACKS], null);
    List<Integer> candidates = new ArrayList<>();
    for (int t = 0; t < TRACKS; t++) {
      if (frozen[t]) {
        candidates.add(t);
      }
    }
    if (candidates.isEmpty()) {
      return;
    }
    int t = candidates.get(rnd.nextInt(candidates.size()));
    h.sWrites.get(t).add(log.size());
    try {
      s.write((long) t * TS, content(++stamps[0]));
    } catch (io.pairkit.api.error.SecondaryWriteRefusedException restoring) {
      h.sWrites.get(t).remove(h.sWrites.get(t).size() - 1); // a restore holds it: not written
    }
  }

  private static void request(History h, CrashLog log, AbstractPair pair, Random rnd) {
    boolean[] frozen = h.frozen(Integer.MAX_VALUE, new Req[TRACKS], null);
    boolean anyFrozen = false;
    for (boolean f : frozen) {
      anyFrozen |= f;
    }
    int[] pIndex = h.pIndexNow();
    int call = log.size();
    Kind kind;
    long[] tracks;
    try {
      switch (h.strategy) {
        case VOLUME_PAIR -> {
          VolumePair vp = (VolumePair) pair;
          if (!anyFrozen) {
            kind = Kind.FREEZE;
            tracks = range(0, TRACKS, h);
            vp.split();
          } else if (rnd.nextInt(4) == 0) {
            kind = Kind.RESTORE;
            if (rnd.nextBoolean()) {
              tracks = range(0, TRACKS, h);
              vp.restore();
            } else {
              int first = rnd.nextInt(TRACKS);
              int end = Math.min(TRACKS, first + 1 + rnd.nextInt(8));
              tracks = range(first, end, h);
              vp.restore(ExtentSet.of((long) first * TS, (long) end * TS));
            }
          } else if (rnd.nextBoolean()) {
            int first = rnd.nextInt(TRACKS);
            int end = Math.min(TRACKS, first + 1 + rnd.nextInt(8));
            kind = Kind.UPDATE;
            tracks = range(first, end, h);
            vp.extentUpdate(ExtentSet.of((long) first * TS, (long) end * TS));
          } else {
            kind = Kind.JOIN;
            tracks = range(0, TRACKS, h);
            vp.resync();
          }
        }
        case EXTENT_PAIR -> {
          ExtentPair ep = (ExtentPair) pair;
          tracks = range(0, TRACKS, h);
          kind = anyFrozen ? rnd.nextInt(3) == 0 ? Kind.RESTORE : Kind.JOIN : Kind.FREEZE;
          if (kind == Kind.RESTORE) {
            ep.restore();
          } else if (anyFrozen) {
            ep.resync();
          } else {
            ep.split();
          }
        }
        default -> {
          ExtentSplitPair xp = (ExtentSplitPair) pair;
          int first = rnd.nextInt(TRACKS);
          if (anyFrozen && rnd.nextBoolean()) {
            while (!frozen[first]) {
              first = (first + 1) % TRACKS;
            }
            int end = first + 1;
            while (end < TRACKS && frozen[end] && rnd.nextInt(4) > 0) {
              end++;
            }
            kind = rnd.nextInt(3) == 0 ? Kind.RESTORE : Kind.JOIN;
            tracks = range(first, end, h);
            if (kind == Kind.RESTORE) {
              xp.restore(ExtentSet.of((long) first * TS, (long) end * TS));
            } else {
              xp.extentJoin(ExtentSet.of((long) first * TS, (long) end * TS));
            }
          } else {
            int end = Math.min(TRACKS, first + 1 + rnd.nextInt(6));
            kind = Kind.FREEZE;
            tracks = range(first, end, h);
            xp.extentSplit(ExtentSet.of((long) first * TS, (long) end * TS));
          }
        }
      }
    } catch (PairStateException refused) {
      return; // refused in this state: nothing changed
    }
    if (kind == Kind.RESTORE) {
      // From its instant P reads as S's data there: a version of P's own, host writes after it.
      tracks = java.util.Arrays.stream(tracks).filter(t -> frozen[(int) t]).toArray();
      for (long t : tracks) {
        long onS = decode(pair.secondary().read(t * TS, TS), 0);
        h.pStamps.get((int) t).add(onS);
        pIndex[(int) t] = h.pStamps.get((int) t).size() - 1;
      }
    }
    h.requests.add(new Req(kind, tracks, call, log.size(), pIndex));
  }

  private static long[] range(int first, int end, History h) {
    return java.util.stream.LongStream.range(first, end).filter(t -> h.scope[(int) t]).toArray();
  }

  // ---------------------------------------------------------------- one crash point

  private static final Map<String, Long> SIZES = Map.of("p", SIZE, "s", SIZE);

  /**
   * Reopens the crash image at {@code k} (with {@code again}: lets that recovery run, recorded,
   * and crashes it too, at one of its flush or sync points or at random); returns what is wrong
   * with the image finally recovered, or null.
   */
  private static String check(History h, int k, Random rnd, boolean again) {
    CrashLog.Image first = CrashLog.crash(h.ops, k, SIZES, rnd);
    CrashLog.Image image = first;
    if (again) {
      CrashLog log = new CrashLog();
      List<CrashLog.Op> ops;
      DefaultPairController pk;
      try {
        pk = reopen(h, first, log);
      } catch (RuntimeException e) {
        return "reopen failed: " + e;
      }
      try {
        for (Pair pair : pk.pairs()) {
          settle(pair);
          ((AbstractPair) pair).lazyRound();
        }
      } catch (RuntimeException | AssertionError e) {
        return "recovery failed: " + e;
      } finally {
        ops = log.snapshot();
        close(pk);
      }
      List<Integer> points = CrashLog.durabilityPoints(ops);
      int k2 = rnd.nextBoolean() || points.isEmpty() ? rnd.nextInt(ops.size() + 1)
          : points.get(rnd.nextInt(points.size()));
      image = CrashLog.crash(first, ops, k2, rnd);
    }
    DefaultPairController pk;
    try {
      pk = reopen(h, image, null);
    } catch (RuntimeException e) {
      return "reopen failed: " + e;
    }
    try {
      List<Pair> pairs = pk.pairs();
      if (pairs.isEmpty()) {
        return h.createAck <= k ? "the pair, created before the crash, is gone" : null;
      }
      Pair pair = pairs.get(0);
      if (pair.state() == PairState.SUSPENDED
          && pair.mirrorStatus().reason().contains("suspended by request")) {
        pair.resume(); // as its admin would: what changed meanwhile is copied now
      }
      settle(pair);
      if (pair.state() == PairState.SUSPENDED) {
        return "suspended after recovery";
      }
      long stillPending = pair.stats().pendingTracks();
      if (stillPending > 0) { // a track waiting for a copy that nothing will make
        return stillPending + " tracks still pending once recovery's requests and the mirror "
            + "finished: " + pair.trackStates(Extent.of(0, SIZE));
      }
      byte[] pImage = pk.volume("p").read(0, (int) SIZE);
      byte[] sImage = pk.volume("s").read(0, (int) SIZE);
      TrackStates states = pair.trackStates(Extent.of(0, SIZE));
      return verify(h, k, first, pImage, sImage, states);
    } catch (RuntimeException | AssertionError e) {
      return "recovery failed: " + e;
    } finally {
      close(pk);
    }
  }

  /** A durable controller over a crash image (recording to {@code log}, if not null). */
  private static DefaultPairController reopen(History h, CrashLog.Image image, CrashLog log) {
    VolumeProviders providers = VolumeProviders.of(new Provider(name ->
        RecordingVolume.ofImage(name, image.volumes().get(name), log)));
    return DefaultPairController.withStorage(config(h.cache, h.mode), providers,
        Engine.InstantHook.NONE, RecordingStorage.ofImage(image.files(), log));
  }

  private static void close(DefaultPairController pk) {
    try {
      pk.close();
    } catch (RuntimeException e) {
      // a failure to close says nothing about the crash point
    }
  }

  private static String verify(History h, int k, CrashLog.Image image, byte[] pImage,
      byte[] sImage, TrackStates states) {
    Req inflight = null;
    for (Req r : h.requests) {
      if (r.call <= k && k < r.ack) {
        inflight = r;
      }
    }
    Req[] last = new Req[TRACKS];
    boolean[] frozen = h.frozen(k, last, null);
    Req[] altLast = new Req[TRACKS];
    boolean[] alt = h.frozen(k, altLast, inflight);
    Map<Long, List<Long>> durableOnP = image.durableStamps().get("p");
    for (int t = 0; t < TRACKS; t++) {
      if (!h.scope[t]) {
        continue;
      }
      TrackState state = states.state(t);
      boolean recoveredFrozen = state.isSplit();
      if (recoveredFrozen != frozen[t] && recoveredFrozen != alt[t]) {
        return "track " + t + " is " + state + ", the requests say frozen " + frozen[t]
            + (inflight != null ? " (or " + alt[t] + " with the one in flight)" : "");
      }
      boolean differs = !Arrays.equals(pImage, t * TS, (t + 1) * TS, sImage, t * TS,
          (t + 1) * TS);
      if (differs && state != TrackState.SPLIT_CHANGED) {
        return "I1: track " + t + " differs on S (" + decode(sImage, t) + ") from P ("
            + decode(pImage, t) + ") but is " + state;
      }
      String restoreLost = restoreKept(h, k, inflight, t, pImage);
      if (restoreLost != null) {
        return restoreLost;
      }
      if (!recoveredFrozen) {
        continue;
      }
      List<Req> candidates = new ArrayList<>();
      if (frozen[t] && last[t] != null) {
        candidates.add(last[t]);
      }
      if (alt[t] && altLast[t] != null && altLast[t] != last[t]) {
        candidates.add(altLast[t]);
      }
      int since = candidates.stream().mapToInt(Req::call).min().orElse(Integer.MAX_VALUE);
      if (h.sWrites.get(t).stream().anyMatch(c -> c >= since && c < k)) {
        continue; // the host wrote S there since the instant
      }
      List<Long> versions = h.pStamps.get(t);
      int onP = versions.lastIndexOf(decode(pImage, t));

      Set<Long> allowed = new HashSet<>();
      for (Req c : candidates) {
        int j = c.pIndex[t];
        if (onP > j) { // P was overwritten after the instant: the copy-on-write is durable
          allowed.add(versions.get(j));
          continue;
        }
        List<Long> durable = durableOnP.getOrDefault((long) t, List.of());
        int d = j;
        while (d > 0 && !durable.contains(versions.get(d))) {
          d--;
        }
        allowed.addAll(versions.subList(d, j + 1));
      }
      long onS = decode(sImage, t);
      if (!allowed.contains(onS)) {
        return "I2: frozen track " + t + " holds " + onS + " on S, the instant allows "
            + allowed + " (P holds " + decode(pImage, t) + ", versions " + versions + ")";
      }
    }
    return null;
  }

  /**
   * A restore acknowledged before the crash is never undone: where it brought other data back,
   * P holds that data or a host write after it, never an older version (null if so). Where S
   * held what the host had written to P last, the restore copies nothing, and the host's write
   * follows the volume contract (lost if it was not flushed).
   */
  private static String restoreKept(History h, int k, Req inflight, int t, byte[] pImage) {
    List<Long> versions = h.pStamps.get(t);
    int onP = versions.lastIndexOf(decode(pImage, t));
    for (Req r : h.requests) {
      if (r.kind == Kind.RESTORE && r.ack <= k && r != inflight
          && Arrays.stream(r.tracks).anyMatch(x -> x == t) && onP < r.pIndex[t]
          && !versions.get(r.pIndex[t]).equals(versions.get(r.pIndex[t] - 1))) {
        return "restore: track " + t + " holds " + decode(pImage, t) + " on P, older than "
            + "what the restore acknowledged before the crash brought back ("
            + versions.get(r.pIndex[t]) + "; versions " + versions + ")";
      }
    }
    return null;
  }
}
