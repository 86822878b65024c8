package io.pairkit.core.internal.engine;

import static io.pairkit.core.internal.engine.Rig.WAIT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.ExtentSet;
import io.pairkit.api.ExtentSplitPair;
import io.pairkit.api.HostVolume;
import io.pairkit.api.Pair;
import io.pairkit.api.PairState;
import io.pairkit.api.PairStats;
import io.pairkit.api.VolumePair;
import io.pairkit.api.PairController;
import io.pairkit.api.error.ControllerConfigException;
import io.pairkit.api.error.ExtentOutOfRangeException;
import io.pairkit.api.error.InvalidArgumentException;
import io.pairkit.api.spi.ProviderContext;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.VolumeProvider;
import io.pairkit.core.registry.VolumeProviders;
import io.pairkit.api.error.InvalidExtentException;
import io.pairkit.api.error.NotFoundException;
import io.pairkit.api.error.PairStateException;
import io.pairkit.api.error.VolumeConfigException;
import io.pairkit.api.error.VolumeInUseException;
import io.pairkit.api.error.VolumeMismatchException;
import io.pairkit.api.spi.VolumeSpec;
import io.pairkit.testkit.MemoryVolume;
import io.pairkit.core.PairKit;
import java.util.List;
import static org.junit.jupiter.api.Assertions.assertFalse;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;

/** Every wrong request: a typed error naming the object and the way out, and nothing changed. */
@Timeout(60)
class BadInputTest {
  private static final int TS = 4096;
  private static final int SIZE = 64 * TS;

  private final Rig rig = new Rig(false);
  private final HostVolume p = rig.volume("p", SIZE, TS);
  private final HostVolume s = rig.volume("s", SIZE, TS);

  @AfterEach
  void close() {
    rig.close();
  }

  private static <T extends Throwable> T assertError(Class<T> type, Executable call,
      String... words) {
    T e = assertThrows(type, call);
    for (String w : words) {
      assertTrue(e.getMessage().contains(w), "'" + e.getMessage() + "' should mention '" + w + "'");
    }
    return e;
  }

  /** Runs {@code call}, expects {@code type}, and checks no bit and no byte changed. */
  private <T extends Throwable> void assertRefusedWithoutChange(Pair pair, Class<T> type,
      Executable call, String... words) {
    PairStats before = pair.stats();
    PairState state = pair.state();
    byte[] pImage = rig.backendImage("p");
    byte[] sImage = rig.backendImage("s");
    ExtentSet split = pair.splitExtents();
    assertError(type, call, words);
    Rig.assertSameBits(before, pair.stats());
    assertEquals(state, pair.state());
    assertEquals(split, pair.splitExtents());
    assertArrayEquals(pImage, rig.backendImage("p"));
    assertArrayEquals(sImage, rig.backendImage("s"));
  }

  private VolumePair formedVolumePair() {
    Rig.fill(p, 1);
    VolumePair pair = rig.pk.createVolumePair("vp", p, s);
    pair.initialCopy().await(WAIT);
    return pair;
  }

  @Test
  void extentBeyondTheVolumeIsOutOfRange() {
    VolumePair pair = formedVolumePair();
    pair.split().await(WAIT);
    p.write(0, new byte[10]);
    assertRefusedWithoutChange(pair, ExtentOutOfRangeException.class,
        () -> pair.extentUpdate(ExtentSet.of(SIZE - 10, SIZE + 10)), "'p'", "past the end",
        String.valueOf(SIZE));
    assertError(ExtentOutOfRangeException.class,
        () -> rig.pk.createExtentPair("ep", rig.volume("a", SIZE, TS), rig.volume("b", SIZE, TS),
            ExtentSet.of(0, SIZE + 1)), "past the end");
  }

  @Test
  void emptyAndReversedExtentsAreInvalid() {
    VolumePair pair = formedVolumePair();
    pair.split().await(WAIT);
    assertError(InvalidExtentException.class, () -> ExtentSet.of(5, 5), "empty");
    assertError(InvalidExtentException.class, () -> ExtentSet.of(9, 5), "reversed");
    assertRefusedWithoutChange(pair, InvalidExtentException.class,
        () -> pair.extentUpdate(ExtentSet.empty()), "at least one extent");
    assertError(InvalidExtentException.class,
        () -> rig.pk.createExtentPair("ep", rig.volume("a", SIZE, TS), rig.volume("b", SIZE, TS),
            ExtentSet.empty()), "at least one extent");
  }

  @Test
  void mismatchedVolumesCannotBePaired() {
    HostVolume small = rig.volume("small", SIZE - TS, TS);
    assertError(VolumeMismatchException.class, () -> rig.pk.createVolumePair("x", p, small),
        "sizes differ", String.valueOf(SIZE - TS));
    assertError(VolumeMismatchException.class, () -> rig.pk.createVolumePair("x", p, p),
        "its own secondary");
    assertEquals(List.of(), rig.pk.pairs());
    assertEquals(List.of(), p.pairs());
  }

  @Test
  void volumesOfDifferentBlockSizesPairButABlockLargerThanATrackIsRefused() throws Exception {
    HostVolume fine = rig.attach(new MemoryVolume("fine", SIZE,
        MemoryVolume.DEFAULT_CAPABILITIES.withAlignment(512)));
    HostVolume coarse = rig.attach(new MemoryVolume("coarse", SIZE,
        MemoryVolume.DEFAULT_CAPABILITIES.withAlignment(TS)));
    Rig.fill(fine, 7);
    VolumePair pair = rig.pk.createVolumePair("mixed", fine, coarse);
    pair.initialCopy().await(Rig.WAIT);
    assertArrayEquals(Rig.readAll(fine), Rig.readAll(coarse));
    MemoryVolume huge = new MemoryVolume("huge", SIZE,
        MemoryVolume.DEFAULT_CAPABILITIES.withAlignment(2 * TS));
    assertError(VolumeConfigException.class, () -> rig.pk.attachVolume(huge),
        "'huge'", "native block size of " + 2 * TS, "trackSize(" + 2 * TS + ")");
    assertFalse(rig.pk.volumes().stream().anyMatch(v -> v.name().equals("huge")));
  }

  @Test
  void aVolumeIsTheSecondaryOfAtMostOnePairAndCascadesAreRefused() {
    formedVolumePair();
    HostVolume q = rig.volume("q", SIZE, TS);
    HostVolume r = rig.volume("r", SIZE, TS);
    assertError(VolumeInUseException.class, () -> rig.pk.createVolumePair("x", q, s),
        "'s'", "already the secondary", "'vp'");
    assertError(VolumeInUseException.class, () -> rig.pk.createVolumePair("x", s, q),
        "cascade");
    assertError(VolumeInUseException.class, () -> rig.pk.createVolumePair("x", q, p),
        "cascade");
    assertError(PairStateException.class, () -> rig.pk.createVolumePair("vp", q, r),
        "already exists");
    assertEquals(1, rig.pk.pairs().size());
  }

  @Test
  void aPrimaryHasAtMostEightPairs() {
    for (int i = 0; i < 8; i++) {
      rig.pk.createVolumePair("pair" + i, p, rig.volume("s" + i, SIZE, TS));
    }
    HostVolume ninth = rig.volume("s8", SIZE, TS);
    assertError(VolumeInUseException.class, () -> rig.pk.createVolumePair("pair8", p, ninth),
        "8 pairs", "maxPairsPerPrimary");
    assertEquals(8, p.pairs().size());
  }

  @Test
  void wrongStateRequestsOfAVolumePairChangeNothing() {
    Rig.fill(p, 1);
    rig.pk.pauseBackgroundCopies();
    VolumePair pair = rig.pk.createVolumePair("vp", p, s);
    // FORMING: no update, no resync.
    assertRefusedWithoutChange(pair, PairStateException.class,
        () -> pair.extentUpdate(ExtentSet.of(0, TS)), "FORMING", "split");
    assertRefusedWithoutChange(pair, PairStateException.class, pair::resync, "FORMING");
    rig.pk.resumeBackgroundCopies();
    pair.initialCopy().await(WAIT);
    // FORMED: no update, no resync.
    assertRefusedWithoutChange(pair, PairStateException.class,
        () -> pair.extentUpdate(ExtentSet.of(0, TS)), "FORMED");
    assertRefusedWithoutChange(pair, PairStateException.class, pair::resync, "FORMED");
    // SPLITTING: no second split, no update, no resync yet.
    rig.pk.pauseBackgroundCopies();
    p.write(0, new byte[TS]);
    pair.split();
    assertEquals(PairState.SPLITTING, pair.state());
    assertRefusedWithoutChange(pair, PairStateException.class, pair::split, "SPLITTING");
    assertRefusedWithoutChange(pair, PairStateException.class,
        () -> pair.extentUpdate(ExtentSet.of(0, TS)), "SPLITTING", "wait");
    assertRefusedWithoutChange(pair, PairStateException.class, pair::resync, "wait");
    PairStateException e = assertThrows(PairStateException.class, pair::delete);
    assertTrue(e.getMessage().contains("cannot be deleted yet")
        && e.getMessage().contains("forceDelete"), e.getMessage());
    assertEquals(List.of(pair), rig.pk.pairs());
    rig.pk.resumeBackgroundCopies();
    pair.activeRequests().forEach(r -> r.await(WAIT));
    // SPLIT: no second split.
    assertRefusedWithoutChange(pair, PairStateException.class, pair::split, "SPLIT",
        "resync");
    // DELETED: nothing.
    pair.delete();
    assertEquals(PairState.DELETED, pair.state());
    assertError(PairStateException.class, pair::split, "DELETED");
    assertError(NotFoundException.class, () -> rig.pk.pair("vp"), "'vp'");
    assertEquals(List.of(), s.pairs());
    s.write(0, new byte[] {9}); // a plain volume again
  }

  @Test
  void wrongStateRequestsOfAnExtentSplitPairChangeNothing() {
    Rig.fill(p, 1);
    ExtentSplitPair pair = rig.pk.createExtentSplitPair("xp", p, s);
    pair.initialCopy().await(WAIT);
    assertRefusedWithoutChange(pair, PairStateException.class,
        () -> pair.extentJoin(ExtentSet.of(0, TS)), "not all split");
  }

  @Test
  void badSettingsAndForeignVolumesAreRefused() {
    assertError(ControllerConfigException.class,
        () -> PairKit.builder().trackSize(TS).copyThreads(0).build(), "copyThreads");
    assertError(ControllerConfigException.class,
        () -> PairKit.builder().trackSize(TS).maxPairsPerPrimary(65).build(), "maxPairsPerPrimary");
    assertError(ControllerConfigException.class,
        () -> PairKit.builder().trackSize(TS).copyBytesPerSecond(-1).build(), "copyBytesPerSecond");
    assertError(ControllerConfigException.class,
        () -> PairKit.builder().trackSize(3000).build(), "trackSize 3000", "power of two");
    assertError(ControllerConfigException.class,
        () -> io.pairkit.core.cache.TrackCacheConfig.defaults().withCapacity(0), "capacity");
    assertError(ControllerConfigException.class, () -> PairKit.builder().trackSize(TS)
        .trackCache(io.pairkit.core.cache.TrackCacheConfig.defaults().withCapacity(15 * TS))
        .build(), "at least 16 tracks");
    assertError(InvalidArgumentException.class, () -> rig.pk.createVolumePair(" ", p, s),
        "non-blank id");
    for (String bad : new String[] {"a/b", "..", "x y", "é", "a".repeat(65), "back\\up"}) {
      assertError(InvalidArgumentException.class, () -> rig.pk.createVolumePair(bad, p, s),
          "pair id '" + bad + "' is not allowed", "letters, digits");
    }
    assertTrue(rig.pk.pairs().isEmpty(), "a refused id creates nothing");
    rig.pk.createVolumePair("db-nightly.1_" + "a".repeat(51), p, s).forceDelete();
    assertError(InvalidArgumentException.class, () -> rig.pk.attachVolume(null), "null");
    try (Rig other = new Rig(false)) {
      HostVolume foreign = other.volume("f", SIZE, TS);
      assertError(NotFoundException.class, () -> rig.pk.createVolumePair("x", p, foreign),
          "'f'", "not opened by this controller");
    }
  }

  @Test
  void aVolumeTheControllerRefusesIsClosedAgain_itsLockIsNotLeaked() throws Exception {
    MemoryVolume fenced = new MemoryVolume("m", SIZE,
        MemoryVolume.DEFAULT_CAPABILITIES.withAlignment(2 * TS).withFencing(true));
    VolumeProvider provider = new VolumeProvider() {
      @Override
      public String type() {
        return "fenced-memory";
      }

      @Override
      public Volume open(VolumeSpec spec, ProviderContext context) {
        return fenced;
      }
    };
    try (PairController pk = PairKit.builder().trackSize(TS)
        .providers(VolumeProviders.of(provider)).build()) {
      assertError(VolumeConfigException.class,
          () -> pk.openVolume(VolumeSpec.builder("m", "fenced-memory").build()),
          "native block size");
      fenced.reopen().close(); // refused while the refused volume were still open
      assertEquals(List.of(), pk.volumes());
    }
  }

  @Test
  void waitingPastTheTimeoutSaysTheCopyGoesOn() {
    Rig.fill(p, 1);
    rig.pk.pauseBackgroundCopies();
    VolumePair pair = rig.pk.createVolumePair("vp", p, s);
    assertError(io.pairkit.api.error.PairKitException.class,
        () -> pair.initialCopy().await(java.time.Duration.ofMillis(50)), "not done after",
        "goes on in the background");
    rig.pk.resumeBackgroundCopies();
    pair.initialCopy().await(WAIT);
    assertEquals(PairState.FORMED, pair.state());
  }

  @Test
  void unknownVolumesAndBackendsAreNamed() {
    assertError(NotFoundException.class, () -> rig.pk.volume("nope"), "'nope'");
    assertError(VolumeConfigException.class,
        () -> rig.pk.openVolume(VolumeSpec.builder("v", "tape").build()), "'tape'", "known");
    assertError(VolumeInUseException.class, () -> rig.volume("p", SIZE, TS), "already open");
    MemoryVolume refused = new MemoryVolume("p", SIZE);
    assertError(VolumeInUseException.class, () -> rig.pk.attachVolume(refused), "already open");
    refused.write(0, java.nio.ByteBuffer.wrap(new byte[] {1})); // still the caller's, still open
    assertError(ExtentOutOfRangeException.class, () -> p.write(SIZE - 1, new byte[2]),
        "leaves the volume");
    assertError(ExtentOutOfRangeException.class, () -> p.read(-1, 1), "leaves the volume");
  }
}
