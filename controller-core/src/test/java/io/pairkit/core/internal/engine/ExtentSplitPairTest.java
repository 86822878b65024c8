package io.pairkit.core.internal.engine;

import static io.pairkit.core.internal.engine.Rig.WAIT;
import static io.pairkit.core.internal.engine.Rig.assertRange;
import static io.pairkit.core.internal.engine.Rig.random;
import static io.pairkit.core.internal.engine.Rig.readAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.CopyRequest;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.ExtentSplitPair;
import io.pairkit.api.HostVolume;
import io.pairkit.api.PairState;
import io.pairkit.api.PairStats;
import io.pairkit.api.RequestKind;
import io.pairkit.api.error.PairStateException;
import io.pairkit.api.error.SecondaryWriteRefusedException;
import io.pairkit.api.error.UnsupportedRequestException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Embodiment 3: extent split and extent join on a whole-volume pair. */
@Timeout(60)
class ExtentSplitPairTest {
  private static final int TS = 4096;
  private static final int SIZE = 128 * TS;
  private static final ExtentSet E = ExtentSet.of(20 * TS, 30 * TS);

  private final Rig rig = new Rig(true);
  private final HostVolume p = rig.volume("p", SIZE, TS);
  private final HostVolume s = rig.volume("s", SIZE, TS);

  @AfterEach
  void close() {
    rig.close();
  }

  private ExtentSplitPair formed() {
    Rig.fill(p, 1);
    ExtentSplitPair pair = rig.pk.createExtentSplitPair("xp", p, s);
    pair.initialCopy().await(WAIT);
    return pair;
  }

  @Test
  void extentSplit_freezesOnlyThatExtentAndTheRestStaysMirrored() throws Exception {
    ExtentSplitPair pair = formed();
    rig.pk.pauseBackgroundCopies();
    p.write(25 * TS, random(2, TS)); // mirror tail inside E
    CopyRequest split = pair.extentSplit(E);
    assertEquals(PairState.EXTENT_SPLITTING, pair.state());
    byte[] atSplit = rig.primaryAtInstant.get(split.id());
    p.write(0, random(3, SIZE)); // inside E: copy-on-write; outside: mirror
    rig.pk.resumeBackgroundCopies();
    split.await(WAIT);
    pair.mirrorDrained().get();
    assertEquals(PairState.EXTENT_SPLIT, pair.state());
    byte[] image = rig.backendImage("s");
    byte[] pNow = readAll(p);
    assertRange(atSplit, image, 20 * TS, 30 * TS, "frozen extent");
    // Patent defect 2 fixed: writes outside the frozen extent are mirrored, not left stale.
    assertRange(pNow, image, 0, 20 * TS, "mirrored before E");
    assertRange(pNow, image, 30 * TS, SIZE, "mirrored after E");
    assertEquals(ExtentSet.of(20 * TS, 30 * TS), pair.splitExtents());
  }

  @Test
  void extentJoin_convergesTheSecondaryToThePrimary() throws Exception {
    ExtentSplitPair pair = formed();
    pair.extentSplit(E).await(WAIT);
    p.write(22 * TS, random(4, 3 * TS));
    s.write(28 * TS + 1, random(5, 10)); // the host may write a split extent of the secondary
    PairStats before = pair.stats();
    assertEquals(4, before.changedTracks());
    CopyRequest join = pair.extentJoin(E);
    assertEquals(4, join.await(WAIT).tracksToCopy(), "join has only the changed tracks to copy");
    pair.mirrorDrained().get();
    // Joined tracks are mirrored again, so the mirror may copy some of them before the join's
    // job does (it did on a loaded machine): count both. Nothing else may be copied.
    PairStats after = pair.stats();
    assertEquals(4, after.jobCopies() + after.mirrorCopies() - before.jobCopies()
        - before.mirrorCopies(), "join copies only the changed tracks");
    assertEquals(PairState.FORMED, pair.state());
    assertArrayEquals(readAll(p), rig.backendImage("s"));
  }

  @Test
  void twoExtentsSplitAtDifferentInstantsKeepTheirOwnImages() throws Exception {
    ExtentSplitPair pair = formed();
    CopyRequest first = pair.extentSplit(ExtentSet.of(0, 10 * TS));
    byte[] atFirst = rig.primaryAtInstant.get(first.id());
    p.write(0, random(6, SIZE));
    CopyRequest second = pair.extentSplit(ExtentSet.of(100 * TS, 110 * TS));
    byte[] atSecond = rig.primaryAtInstant.get(second.id());
    p.write(0, random(7, SIZE));
    first.await(WAIT);
    second.await(WAIT);
    byte[] image = readAll(s);
    assertRange(atFirst, image, 0, 10 * TS, "first extent");
    assertRange(atSecond, image, 100 * TS, 110 * TS, "second extent");
    // Joining one keeps the other split.
    pair.extentJoin(ExtentSet.of(0, 10 * TS)).await(WAIT);
    pair.mirrorDrained().get();
    assertEquals(PairState.EXTENT_SPLIT, pair.state());
    assertRange(readAll(p), rig.backendImage("s"), 0, 10 * TS, "joined extent");
    assertRange(atSecond, readAll(s), 100 * TS, 110 * TS, "still split");
  }

  @Test
  void overlappingSplitAndJoinOfMirroredAreaAreRefusedWithoutChange() {
    ExtentSplitPair pair = formed();
    pair.extentSplit(E).await(WAIT);
    PairStats before = pair.stats();
    PairStateException overlap = assertThrows(PairStateException.class,
        () -> pair.extentSplit(ExtentSet.of(29 * TS, 40 * TS)));
    assertTrue(overlap.getMessage().contains("overlap"), overlap.getMessage());
    PairStateException notSplit = assertThrows(PairStateException.class,
        () -> pair.extentJoin(ExtentSet.of(25 * TS, 35 * TS)));
    assertTrue(notSplit.getMessage().contains("not all split"), notSplit.getMessage());
    assertEquals("xp", notSplit.pairId());
    Rig.assertSameBits(before, pair.stats());
    assertEquals(E, pair.splitExtents());
  }

  @Test
  void secondaryWritesOutsideSplitExtentsAreRefused() {
    ExtentSplitPair pair = formed();
    pair.extentSplit(E).await(WAIT);
    s.write(21 * TS, new byte[] {1});
    assertThrows(SecondaryWriteRefusedException.class, () -> s.write(19 * TS, new byte[] {1}));
    assertThrows(SecondaryWriteRefusedException.class,
        () -> s.write(29 * TS, new byte[2 * TS]), "a write straddling the edge is refused whole");
    assertEquals(1, pair.stats().changedTracks());
  }

  @Test
  void wholeVolumeRequestsAreNotOffered() {
    ExtentSplitPair pair = formed();
    assertThrows(UnsupportedRequestException.class, () -> pair.request(RequestKind.SPLIT, null));
    assertThrows(UnsupportedRequestException.class,
        () -> pair.request(RequestKind.EXTENT_UPDATE, E));
    assertThrows(UnsupportedRequestException.class, () -> pair.request(RequestKind.RESYNC, null));
  }

  /**
   * Exact extents: an extent covering tracks in part splits only its bytes. Host writes to the
   * other bytes of those tracks reach the secondary at once, in either mirror mode; the
   * secondary refuses writes there and takes them inside the extent; a suspended pair holds
   * them back and its resume copies them; a join leaves the copy equal to the primary.
   */
  @Test
  void anUnalignedExtentSplitMirrorsTheRestOfItsTracks() throws Exception {
    for (io.pairkit.api.MirrorMode mode : io.pairkit.api.MirrorMode.values()) {
      Rig r = new Rig(true);
      try {
        HostVolume p = r.volume("p", SIZE, TS);
        HostVolume s = r.volume("s", SIZE, TS);
        Rig.fill(p, 1);
        ExtentSplitPair pair = r.pk.createExtentSplitPair("xp", p, s,
            io.pairkit.api.PairOptions.defaults().withMirrorMode(mode));
        pair.initialCopy().await(WAIT);
        r.pk.pauseBackgroundCopies(); // the mirror copies nothing: only write-through shows
        ExtentSet file = ExtentSet.of(20 * TS + 1024, 22 * TS + 512); // tracks 20-22, in part
        pair.extentSplit(file).await(WAIT);
        assertEquals(file, pair.splitExtents(), mode + ": exactly the bytes asked");
        byte[] before = r.backendImage("s");

        byte[] head = random(7, 1024);
        byte[] inside = random(8, 512);
        byte[] tail = random(9, TS - 512);
        p.write(20 * TS, head); // track 20, before the extent
        p.write(21 * TS, inside); // inside the extent
        p.write(22 * TS + 512, tail); // track 22, after the extent
        byte[] image = r.backendImage("s");
        assertBytes(head, 0, image, 20 * TS, 1024, mode + ": head of track 20 mirrored");
        assertBytes(before, 21 * TS, image, 21 * TS, 512, mode + ": inside the extent kept");
        assertBytes(tail, 0, image, 22 * TS + 512, TS - 512, mode + ": tail of track 22");

        assertThrows(SecondaryWriteRefusedException.class, () -> s.write(20 * TS, new byte[8]),
            mode + ": the mirrored bytes of a split track are not the copy's");
        assertThrows(SecondaryWriteRefusedException.class,
            () -> s.write(22 * TS, new byte[1024]), mode + ": straddling the extent's end");
        s.write(21 * TS + 100, new byte[] {42}); // inside the extent: the copy's own
        assertEquals(42, s.read(21 * TS + 100, 1)[0]);

        pair.suspend();
        byte[] held = random(10, 1024);
        p.write(20 * TS, held);
        assertBytes(head, 0, r.backendImage("s"), 20 * TS, 1024, mode + ": held while "
            + "suspended");
        pair.resume().await(WAIT);
        assertBytes(held, 0, r.backendImage("s"), 20 * TS, 1024, mode + ": refreshed at "
            + "resume");

        r.pk.resumeBackgroundCopies();
        pair.extentJoin(file).await(WAIT);
        pair.mirrorDrained().get();
        assertArrayEquals(readAll(p), r.backendImage("s"), mode + ": converged by the join");
      } finally {
        r.close();
      }
    }
  }

  private static void assertBytes(byte[] expected, int from, byte[] actual, long at, int length,
      String what) {
    assertArrayEquals(java.util.Arrays.copyOfRange(expected, from, from + length),
        java.util.Arrays.copyOfRange(actual, (int) at, (int) at + length), what);
  }
}
