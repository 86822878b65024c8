package io.pairkit.core.internal.engine;

import static io.pairkit.core.internal.engine.Rig.WAIT;
import static io.pairkit.core.internal.engine.Rig.assertRange;
import static io.pairkit.core.internal.engine.Rig.random;
import static io.pairkit.core.internal.engine.Rig.readAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.CopyProgress;
import io.pairkit.api.CopyRequest;
import io.pairkit.api.Extent;
import io.pairkit.api.ExtentPair;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.HostVolume;
import io.pairkit.api.PairState;
import io.pairkit.api.PairStats;
import io.pairkit.api.RequestKind;
import io.pairkit.api.error.UnsupportedRequestException;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Embodiment 2: a pair over some extents only. */
@Timeout(60)
class ExtentPairTest {
  private static final int TS = 4096;
  private static final int SIZE = 128 * TS;
  private static final byte SENTINEL = (byte) 0xA5;
  // Unaligned on purpose: the edges share tracks with bytes outside the pair.
  private static final ExtentSet FILE = ExtentSet.of(
      Extent.of(10 * TS + 123, 14 * TS + 77), Extent.of(60 * TS + 5, 61 * TS - 5));

  private final Rig rig = new Rig(true);
  private final HostVolume p = rig.volume("p", SIZE, TS);
  private final HostVolume s = rig.volume("s", SIZE, TS);
  private byte[] sentinel;

  @BeforeEach
  void fillSecondaryWithSentinel() {
    sentinel = new byte[SIZE];
    Arrays.fill(sentinel, SENTINEL);
    s.write(0, sentinel);
    Rig.fill(p, 1);
  }

  @AfterEach
  void close() {
    rig.close();
  }

  /** Outside the pair's extents the secondary must still hold exactly the sentinel. */
  private void assertOutsideUntouched(byte[] image) {
    long pos = 0;
    for (Extent e : FILE.extents()) {
      assertRange(sentinel, image, pos, e.start(), "outside the extents");
      pos = e.end();
    }
    assertRange(sentinel, image, pos, SIZE, "outside the extents");
  }

  private void assertInsideEquals(byte[] expected, byte[] image) {
    for (Extent e : FILE.extents()) {
      assertRange(expected, image, e.start(), e.end(), "inside extent " + e);
    }
  }

  @Test
  void create_copiesOnlyTheExtentsAndNeverWritesOutsideThem() {
    ExtentPair pair = rig.pk.createExtentPair("ep", p, s, FILE);
    CopyProgress done = pair.initialCopy().await(WAIT);
    assertEquals(6, done.tracksToCopy(), "tracks 10..14 and 60");
    assertEquals(FILE.bytes(), done.bytesCopied(), "only the extents' bytes are copied");
    byte[] image = rig.backendImage("s");
    assertInsideEquals(readAll(p), image);
    assertOutsideUntouched(image);
  }

  @Test
  void split_freezesTheExtentsAtTheInstantWithCopyOnWrite() {
    ExtentPair pair = rig.pk.createExtentPair("ep", p, s, FILE);
    pair.initialCopy().await(WAIT);
    rig.pk.pauseBackgroundCopies();
    p.write(0, random(2, SIZE)); // mirror tail over all extents
    CopyRequest split = pair.split();
    byte[] atSplit = rig.primaryAtInstant.get(split.id());
    p.write(0, random(3, SIZE)); // copy-on-write for every extent track
    assertInsideEquals(atSplit, readAll(s));
    assertOutsideUntouched(readAll(s));
    rig.pk.resumeBackgroundCopies();
    split.await(WAIT);
    assertEquals(PairState.SPLIT, pair.state());
    byte[] image = rig.backendImage("s");
    assertInsideEquals(atSplit, image);
    assertOutsideUntouched(image);
  }

  @Test
  void writesOutsideTheExtentsDoNotConcernThePair() {
    ExtentPair pair = rig.pk.createExtentPair("ep", p, s, FILE);
    pair.initialCopy().await(WAIT);
    pair.split().await(WAIT);
    long before = pair.stats().changedTracks();
    p.write(30 * TS, random(4, 10 * TS));
    assertEquals(before, pair.stats().changedTracks());
    // The secondary outside the extents belongs to the host: writes there are plain writes.
    s.write(100 * TS, new byte[] {1, 2, 3});
    assertEquals(before, pair.stats().changedTracks());
  }

  @Test
  void resyncAfterSplitCopiesOnlyTheChangedTracks() throws Exception {
    ExtentPair pair = rig.pk.createExtentPair("ep", p, s, FILE);
    pair.initialCopy().await(WAIT);
    pair.split().await(WAIT);
    p.write(12 * TS, random(5, 100)); // one track inside the extents
    p.write(40 * TS, random(6, 100)); // outside
    PairStats before = pair.stats();
    CopyProgress done = pair.resync().await(WAIT);
    pair.mirrorDrained().get();
    PairStats after = pair.stats();
    // One track copied in all: by the resync's job, or by a mirror run polled before the
    // instant that reached the track after it (the track is mirrored from the instant on).
    assertEquals(1, after.jobCopies() - before.jobCopies() + after.mirrorCopies()
        - before.mirrorCopies(), "patent defect 3 fixed: no full copy at resync");
    assertTrue(done.tracksCopied() <= 1, "the job copied " + done.tracksCopied());
    byte[] image = rig.backendImage("s");
    assertInsideEquals(readAll(p), image);
    assertOutsideUntouched(image);
    assertEquals(PairState.FORMED, pair.state());
  }

  @Test
  void perExtentRequestsAreNotOffered() {
    ExtentPair pair = rig.pk.createExtentPair("ep", p, s, FILE);
    pair.initialCopy().await(WAIT);
    UnsupportedRequestException e = assertThrows(UnsupportedRequestException.class,
        () -> pair.request(RequestKind.EXTENT_UPDATE, ExtentSet.of(10 * TS, 11 * TS)));
    assertTrue(e.getMessage().contains("EXTENT_PAIR"), e.getMessage());
    assertThrows(UnsupportedRequestException.class,
        () -> pair.request(RequestKind.EXTENT_SPLIT, ExtentSet.of(10 * TS, 11 * TS)));
    assertThrows(UnsupportedRequestException.class,
        () -> pair.request(RequestKind.EXTENT_JOIN, ExtentSet.of(10 * TS, 11 * TS)));
  }
}
