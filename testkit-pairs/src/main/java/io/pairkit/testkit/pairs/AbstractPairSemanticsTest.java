package io.pairkit.testkit.pairs;

import io.pairkit.api.MirrorMode;
import io.pairkit.api.PairStrategy;
import io.pairkit.api.spi.Volume;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.opentest4j.TestAbortedException;

/**
 * The pair semantics of docs/DESIGN.md section 4, checked over any backend: a model-based concurrency
 * test. Host threads write random ranges (partial tracks, track boundaries, multi-track) to the
 * primary, and to split areas of the secondary, while the main thread issues random valid
 * requests. A reference model records the primary's image at every request instant (from the
 * instant hook, under the engine's barriers) and the expected image of every frozen track.
 * Checked: I1 at every instant; I2 after every request and at random moments while copies run; I3
 * at the end; I4 bounds on every completed request. Each strategy runs for each of
 * {@link #seeds()} directly over the backend and for each of {@link #trackCacheSeeds()} through
 * the write-back track cache, each with the synchronous and with the asynchronous mirror; a
 * {@code slow} soak runs more seeds with more requests.
 *
 * <p>How a backend module runs it: add {@code pairkit-testkit-pairs} in test scope (its
 * version from {@code pairkit-bom}), then write one class
 * <pre>{@code
 * class MyBackendPairSemanticsTest extends AbstractPairSemanticsTest {
 *   @Override
 *   protected Volume createVolume(String name, long size) throws Exception {
 *     return MyVolume.create(name, size);
 *   }
 * }
 * }</pre>
 * and, if volumes leave something behind (files, buckets), override {@link #cleanUp()}. That is
 * all. A {@code createVolume} that finds its backend missing (no server reachable) may skip the
 * run with a JUnit assumption: the suite passes the abort through, so the run is reported as
 * skipped with the assumption's message, never as a failure. With the track cache runs
 * ({@link #trackCacheSeeds()}), the test JVM needs the flags docs/TESTING.md lists for
 * chronicle-bytes; return an empty list there to run without the cache. The long soak
 * ({@link #soakSeeds()}) is tagged {@code slow}: exclude that tag in the build's surefire
 * configuration and run it on demand.
 *
 * <p>A failure message starts with the seed and the property that reruns it
 * ({@code -Dpairkit.seed=N}), followed by the run's operation log: every request (kind, region,
 * id, state before and after) and the last host writes. A seed fixes the requests and the data
 * written; the interleaving with the host threads is the scheduler's, so a rare failure may need a
 * few reruns.
 */
@Timeout(120)
@TestInstance(TestInstance.Lifecycle.PER_CLASS) // so runs() can ask the subclass for its seeds
public abstract class AbstractPairSemanticsTest {
  static final int TS = 4096;
  static final int TRACKS = 96;
  static final int SIZE = TRACKS * TS;
  static final byte SENTINEL = (byte) 0x5A;
  private static final int REQUESTS = 30;
  private static final int SOAK_REQUESTS = 120;
  /** Set to run only this seed (in every list that has seeds). */
  private static final String SEED_PROPERTY = "pairkit.seed";

  /**
   * A new volume of {@code size} bytes named {@code name}, open, that no other run uses. Its
   * initial content does not matter (each run writes all of it). The controller of the run closes
   * it.
   */
  protected abstract Volume createVolume(String name, long size) throws Exception;

  /** Called after every run, once its volumes are closed: remove what they left behind. */
  protected void cleanUp() throws Exception {
  }

  /** Seeds of the default runs straight over the volumes (every strategy runs each). */
  protected List<Long> seeds() {
    return List.of(1L, 2L);
  }

  /**
   * Seeds of the default runs through the write-back track cache (16 slots for 192 tracks, so
   * constant eviction and destage); empty to run without the cache only.
   */
  protected List<Long> trackCacheSeeds() {
    return List.of(101L);
  }

  /** Seeds of the {@code slow} soak straight over the volumes. */
  protected List<Long> soakSeeds() {
    return LongStream.range(1000, 1020).boxed().toList();
  }

  /** Seeds of the {@code slow} soak through the track cache; empty for none. */
  protected List<Long> soakTrackCacheSeeds() {
    return LongStream.range(1020, 1040).boxed().toList();
  }

  Stream<Arguments> runs() {
    return arguments(seeds(), trackCacheSeeds());
  }

  Stream<Arguments> soakRuns() {
    return arguments(soakSeeds(), soakTrackCacheSeeds());
  }

  private static Stream<Arguments> arguments(List<Long> plain, List<Long> cached) {
    String one = System.getProperty(SEED_PROPERTY);
    if (one != null) {
      List<Long> only = List.of(Long.parseLong(one.trim()));
      plain = only;
      cached = cached.isEmpty() ? List.of() : only;
    }
    List<Arguments> out = new ArrayList<>();
    for (PairStrategy strategy : PairStrategy.values()) {
      for (MirrorMode mode : MODES) {
        for (long seed : plain) {
          out.add(Arguments.of(strategy, mode, seed, false));
        }
        for (long seed : cached) {
          out.add(Arguments.of(strategy, mode, seed, true));
        }
      }
    }
    return out.stream();
  }

  /** Every run goes with the synchronous mirror and with the asynchronous one. */
  private static final List<MirrorMode> MODES =
      List.of(MirrorMode.SYNCHRONOUS, MirrorMode.ASYNCHRONOUS);

  @ParameterizedTest(name = "{0} {1} seed={2} trackCache={3}")
  @MethodSource("runs")
  void randomRequestsUnderConcurrentWritesKeepInvariants(PairStrategy strategy, MirrorMode mode,
      long seed, boolean trackCache) throws Exception {
    runWithSeed(strategy, mode, seed, trackCache, REQUESTS, false);
  }

  @Tag("slow")
  @ParameterizedTest(name = "soak {0} {1} seed={2} trackCache={3}")
  @MethodSource("soakRuns")
  @Timeout(600)
  void soakKeepsInvariants(PairStrategy strategy, MirrorMode mode, long seed,
      boolean trackCache) throws Exception {
    runWithSeed(strategy, mode, seed, trackCache, SOAK_REQUESTS, true);
  }

  private void runWithSeed(PairStrategy strategy, MirrorMode mode, long seed, boolean trackCache,
      int requests, boolean soak) throws Exception {
    OperationLog log = new OperationLog();
    Volume p = null;
    Volume s = null;
    try {
      p = createVolume("p", SIZE);
      s = createVolume("s", SIZE);
      try (SemanticsRun run = new SemanticsRun(strategy, mode, seed, p, s, requests, trackCache, log)) {
        run.execute();
      }
    } catch (TestAbortedException skipped) {
      // A subclass's assumption (no such server here, say) skips the run; it is no failure.
      throw skipped;
    } catch (AssertionError | Exception e) {
      log.failure(String.valueOf(e.getMessage())); // a no-op if the run marked it already
      throw new AssertionError("seed=" + seed + " (rerun: -D" + SEED_PROPERTY + "=" + seed
          + " -Dtest=" + getClass().getSimpleName() + (soak ? " -Pslow" : "") + ") strategy="
          + strategy + " " + mode + " trackCache=" + trackCache + " requests=" + requests
          + " volumes="
          + (p == null ? "?" : p.getClass().getSimpleName()) + ": " + e.getMessage() + "\n"
          + log.render(), e);
    } finally {
      closeQuietly(p);
      closeQuietly(s);
      cleanUp();
    }
  }

  private static void closeQuietly(Volume v) {
    if (v == null) {
      return;
    }
    try {
      v.close(); // the controller closed it already, unless the run failed early; twice is harmless
    } catch (Exception e) {
      // The run's own failure, if any, is what matters.
    }
  }
}
