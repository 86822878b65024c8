package io.pairkit.core.internal.engine;

import static io.pairkit.core.internal.engine.Rig.WAIT;
import static io.pairkit.core.internal.engine.Rig.assertRange;
import static io.pairkit.core.internal.engine.Rig.random;
import static io.pairkit.core.internal.engine.Rig.readAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.CopyProgress;
import io.pairkit.api.CopyRequest;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.HostVolume;
import io.pairkit.api.PairState;
import io.pairkit.api.PairStats;
import io.pairkit.api.RequestKind;
import io.pairkit.api.TrackState;
import io.pairkit.api.TrackStates;
import io.pairkit.api.VolumePair;
import io.pairkit.testkit.MemoryVolume;
import io.pairkit.api.error.SecondaryWriteRefusedException;
import io.pairkit.api.error.UnsupportedRequestException;
import io.pairkit.core.PairKit;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Embodiment 1: volume pair with split and extent update; the patent's results as assertions. */
@Timeout(60)
class VolumePairTest {
  private static final int TS = 4096;
  private static final int SIZE = 256 * TS;

  private final Rig rig = new Rig(true);
  private final HostVolume p = rig.volume("p", SIZE, TS);
  private final HostVolume s = rig.volume("s", SIZE, TS);

  @AfterEach
  void close() {
    rig.close();
  }

  private VolumePair formedPair() {
    Rig.fill(p, 1);
    VolumePair pair = rig.pk.createVolumePair("vp", p, s);
    pair.initialCopy().await(WAIT);
    assertEquals(PairState.FORMED, pair.state());
    return pair;
  }

  @Test
  void create_copiesTheWholePrimaryAndForms() {
    Rig.fill(p, 1);
    VolumePair pair = rig.pk.createVolumePair("vp", p, s);
    CopyProgress done = pair.initialCopy().await(WAIT);
    assertEquals(256, done.tracksToCopy());
    assertEquals(256, done.tracksDone());
    assertEquals(PairState.FORMED, pair.state());
    assertArrayEquals(readAll(p), rig.backendImage("s"));
    assertEquals(0, pair.stats().pendingTracks());
  }

  @Test
  void formedPair_mirrorsHostWritesInTheBackground() throws Exception {
    VolumePair pair = formedPair();
    p.write(10 * TS + 100, random(2, 3 * TS));
    pair.mirrorDrained().get();
    assertArrayEquals(readAll(p), rig.backendImage("s"));
    assertEquals(4, pair.stats().mirrorCopies(), "an unaligned 3-track write touches 4 tracks");
  }

  @Test
  void split_secondaryIsThePrimaryAtTheSplitInstant_evenBeforeTheCopyDrains() {
    formedPair();
    VolumePair pair = (VolumePair) rig.pk.pair("vp");
    rig.pk.pauseBackgroundCopies();
    p.write(5 * TS, random(3, 2 * TS)); // pending in the mirror when split comes
    CopyRequest split = pair.split();
    byte[] atSplit = rig.primaryAtInstant.get(split.id());
    p.write(0, random(4, 20 * TS)); // overwrites frozen tracks: copy-on-write
    p.write(6 * TS + 7, random(5, 10));
    assertEquals(PairState.SPLITTING, pair.state());
    assertArrayEquals(atSplit, readAll(s), "S must read as the split image at once");
    rig.pk.resumeBackgroundCopies();
    split.await(WAIT);
    assertEquals(PairState.SPLIT, pair.state());
    assertArrayEquals(atSplit, rig.backendImage("s"));
    assertTrue(pair.stats().copyOnWriteCopies() >= 2, "tracks 5-6 were overwritten uncopied");
  }

  @Test
  void extentUpdate_bringsExactlyTheExtentsBytesToTheUpdateInstant() {
    VolumePair pair = formedPair();
    CopyRequest split = pair.split();
    split.await(WAIT);
    byte[] splitImage = rig.primaryAtInstant.get(split.id());
    p.write(0, random(6, SIZE)); // everything changes after the split
    ExtentSet file = ExtentSet.of(40 * TS + 100, 50 * TS - 100);
    rig.pk.pauseBackgroundCopies();
    CopyRequest update = pair.extentUpdate(file);
    byte[] atUpdate = rig.primaryAtInstant.get(update.id());
    p.write(45 * TS, random(7, TS)); // after the instant, inside the extent: copy-on-write
    byte[] duringUpdate = readAll(s);
    rig.pk.resumeBackgroundCopies();
    update.await(WAIT);
    byte[] sNow = rig.backendImage("s");
    for (byte[] image : List.of(duringUpdate, sNow)) {
      // The extent's bytes hold the update instant; every other byte, the first and last
      // track's outside the extent included, the split image (exact extents).
      assertRange(atUpdate, image, 40 * TS + 100, 50 * TS - 100, "extent");
      assertRange(splitImage, image, 0, 40 * TS + 100, "before the extent");
      assertRange(splitImage, image, 50 * TS - 100, SIZE, "after the extent");
    }
    assertEquals(PairState.SPLIT, pair.state());
    TrackStates states = pair.trackStates(io.pairkit.api.Extent.of(0, SIZE));
    assertEquals(TrackState.SPLIT_CHANGED, states.state(40), "the rest of track 40 differs");
    assertEquals(TrackState.SPLIT_CHANGED, states.state(49));
    assertEquals(TrackState.SPLIT_CHANGED, states.state(45), "written after the instant");
    assertEquals(TrackState.SPLIT, states.state(44));
    // 7 whole tracks (45 went by copy-on-write) and 2 in part, exactly the extent's bytes there.
    assertEquals(9, update.progress().tracksCopied());
    assertEquals(9L * TS - 200, update.progress().bytesCopied());
  }

  @Test
  void extentUpdate_ofOnePercentCopiesOnlyThatExtentsChangedTracks() {
    // I4 on a 64 MiB volume with 64 KiB tracks: 1024 tracks; the extent is ~1% (10 tracks).
    int ts = 64 * 1024;
    long size = 64L << 20;
    try (Rig big = new Rig(PairKit.builder().trackSize(ts), false)) {
      // A thick primary: every track copy moves the whole track (a thin one skips its holes).
      HostVolume bp = big.attach(new MemoryVolume("bp", size,
          MemoryVolume.DEFAULT_CAPABILITIES.withThin(false)));
      HostVolume bs = big.volume("bs", size, ts);
      VolumePair pair = big.pk.createVolumePair("big", bp, bs);
      pair.initialCopy().await(WAIT);
      pair.split().await(WAIT);
      // Change 200 tracks across the volume, 4 of them inside the extent [100, 110).
      List<Long> changedTracks = new ArrayList<>();
      for (long t = 0; t < 1024; t += 5) {
        changedTracks.add(t);
      }
      for (long t : List.of(101L, 103L, 107L, 109L)) {
        if (!changedTracks.contains(t)) {
          changedTracks.add(t);
        }
      }
      for (long t : changedTracks) {
        bp.write(t * ts + 10, new byte[] {1, 2, 3});
      }
      long inExtent = changedTracks.stream().filter(t -> t >= 100 && t < 110).count();
      PairStats before = pair.stats();
      CopyProgress done = pair.extentUpdate(ExtentSet.of(100L * ts, 110L * ts)).await(WAIT);
      assertEquals(inExtent, done.tracksToCopy());
      assertEquals(inExtent, done.tracksCopied());
      assertEquals(inExtent * ts, done.bytesCopied());
      assertEquals(before.totalCopies() + inExtent, pair.stats().totalCopies(),
          "no other copy may happen for an extent update");
      assertEquals(changedTracks.size() - inExtent, pair.stats().changedTracks(),
          "changes outside the extent stay recorded for later");
    }
  }

  @Test
  void severalExtentUpdatesMayRunAtOnce() {
    VolumePair pair = formedPair();
    pair.split().await(WAIT);
    p.write(0, random(8, SIZE));
    rig.pk.pauseBackgroundCopies();
    CopyRequest a = pair.extentUpdate(ExtentSet.of(0, 10 * TS));
    CopyRequest b = pair.extentUpdate(ExtentSet.of(100 * TS, 120 * TS));
    byte[] atA = rig.primaryAtInstant.get(a.id());
    byte[] atB = rig.primaryAtInstant.get(b.id());
    rig.pk.resumeBackgroundCopies();
    a.await(WAIT);
    b.await(WAIT);
    byte[] image = rig.backendImage("s");
    assertRange(atA, image, 0, 10 * TS, "first extent");
    assertRange(atB, image, 100 * TS, 120 * TS, "second extent");
  }

  @Test
  void resync_copiesOnlyDifferencesOfBothSidesAndReforms() throws Exception {
    VolumePair pair = formedPair();
    pair.split().await(WAIT);
    p.write(3 * TS, random(9, 2 * TS)); // tracks 3, 4
    s.write(200 * TS + 5, random(10, 10)); // track 200, written on the secondary
    PairStats before = pair.stats();
    assertEquals(3, before.changedTracks());
    CopyProgress done = pair.resync().await(WAIT);
    assertEquals(PairState.FORMED, pair.state());
    pair.mirrorDrained().get();
    PairStats after = pair.stats();
    // I4: exactly the three differing tracks are copied. The resync's job copies them, unless a
    // mirror run already in flight at its instant covered some (they are mirrored from then on):
    // then the job counts fewer, and the mirror the rest; never more in all.
    assertEquals(3, after.jobCopies() - before.jobCopies() + after.mirrorCopies()
        - before.mirrorCopies(), "copies made for the resync");
    assertTrue(done.tracksCopied() <= 3, "the job copied " + done.tracksCopied());
    assertArrayEquals(readAll(p), rig.backendImage("s"));
  }

  @Test
  void secondaryWritesAfterSplitAreKeptUntilUpdateCopiesThemBack() {
    VolumePair pair = formedPair();
    rig.pk.pauseBackgroundCopies();
    p.write(7 * TS, random(12, TS)); // a mirror tail: track 7 pending when the split comes
    CopyRequest split = pair.split();
    byte[] atSplit = rig.primaryAtInstant.get(split.id());
    // Partial write on a frozen track not yet copied: S must get its base first.
    byte[] scribble = random(11, 100);
    s.write(7 * TS + 50, scribble);
    byte[] expected = atSplit.clone();
    System.arraycopy(scribble, 0, expected, 7 * TS + 50, 100);
    assertArrayEquals(expected, readAll(s));
    rig.pk.resumeBackgroundCopies();
    split.await(WAIT);
    assertArrayEquals(expected, rig.backendImage("s"));
    assertEquals(1, pair.stats().secondaryBaseCopies());
    assertEquals(1, pair.stats().changedTracks());
    pair.extentUpdate(ExtentSet.of(7 * TS, 8 * TS)).await(WAIT);
    assertRange(readAll(p), rig.backendImage("s"), 7 * TS, 8 * TS, "track 7 copied back");
  }

  @Test
  void secondaryWriteOnMirroredTracksIsRefusedAndChangesNothing() {
    VolumePair pair = formedPair();
    byte[] sBefore = rig.backendImage("s");
    PairStats before = pair.stats();
    SecondaryWriteRefusedException e = assertThrows(SecondaryWriteRefusedException.class,
        () -> s.write(3 * TS, new byte[10]));
    assertTrue(e.getMessage().contains("'s'") && e.getMessage().contains("'vp'")
        && e.getMessage().contains("Split"), e.getMessage());
    assertArrayEquals(sBefore, rig.backendImage("s"));
    Rig.assertSameBits(before, pair.stats());
  }

  @Test
  void requestsOfOtherStrategiesAreRefusedByName() {
    VolumePair pair = formedPair();
    UnsupportedRequestException e = assertThrows(UnsupportedRequestException.class,
        () -> pair.request(RequestKind.EXTENT_JOIN, ExtentSet.of(0, TS)));
    assertTrue(e.getMessage().contains("VOLUME_PAIR") && e.getMessage().contains("EXTENT_JOIN"),
        e.getMessage());
    assertThrows(UnsupportedRequestException.class,
        () -> pair.request(RequestKind.EXTENT_SPLIT, ExtentSet.of(0, TS)));
    assertThrows(UnsupportedRequestException.class,
        () -> pair.request(RequestKind.CREATE, ExtentSet.of(0, TS)));
    // The generic entry point reaches the strategy's own requests.
    CopyRequest split = pair.request(RequestKind.SPLIT, null);
    split.await(WAIT);
    assertEquals(PairState.SPLIT, pair.state());
  }

  @Test
  void listenersSeeEveryStateChangeInOrder() throws Exception {
    Rig.fill(p, 1);
    LinkedBlockingQueue<String> seen = new LinkedBlockingQueue<>();
    rig.pk.pauseBackgroundCopies();
    VolumePair pair = rig.pk.createVolumePair("vp", p, s);
    pair.addListener((pr, from, to) -> seen.add(from + "->" + to));
    rig.pk.resumeBackgroundCopies();
    pair.initialCopy().await(WAIT);
    pair.split().await(WAIT);
    pair.resync().await(WAIT);
    List<String> expected = List.of("FORMING->FORMED", "FORMED->SPLITTING", "SPLITTING->SPLIT",
        "SPLIT->RESYNCING", "RESYNCING->FORMED");
    List<String> got = new ArrayList<>();
    for (int i = 0; i < expected.size(); i++) {
      got.add(seen.poll(10, java.util.concurrent.TimeUnit.SECONDS));
    }
    assertEquals(expected, got);
    assertFalse(pair.activeRequests().iterator().hasNext());
  }
}
