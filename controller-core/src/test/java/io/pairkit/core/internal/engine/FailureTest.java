package io.pairkit.core.internal.engine;

import static io.pairkit.core.internal.engine.Rig.WAIT;
import static io.pairkit.core.internal.engine.Rig.random;
import static io.pairkit.core.internal.engine.Rig.readAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.CopyRequest;
import io.pairkit.api.HostVolume;
import io.pairkit.api.PairState;
import io.pairkit.api.VolumePair;
import io.pairkit.api.error.AlreadyClosedException;
import io.pairkit.api.error.PairStateException;
import io.pairkit.api.error.VolumeIOException;
import io.pairkit.testkit.FaultyVolume;
import io.pairkit.testkit.FaultyVolume.Fault;
import io.pairkit.testkit.MemoryVolume;
import io.pairkit.core.PairKit;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A dead backend: typed errors, a suspended pair, no lost difference, and resume. */
@Timeout(60)
class FailureTest {
  private static final int TS = 4096;
  private static final int SIZE = 64 * TS;

  private final Rig rig = new Rig(true);
  private final FaultyVolume rawP = new FaultyVolume(new MemoryVolume("p", SIZE));
  private final FaultyVolume rawS = new FaultyVolume(new MemoryVolume("s", SIZE));
  private final HostVolume p = rig.attach(rawP);
  private final HostVolume s = rig.attach(rawS);

  @AfterEach
  void close() {
    rig.close();
  }

  @Test
  void deadSecondaryDuringInitialCopySuspendsAndResumeFinishesTheCopy() throws Exception {
    Rig.fill(p, 1);
    rawS.fail(Fault.WRITES);
    VolumePair pair = rig.pk.createVolumePair("vp", p, s);
    CompletionException e = assertThrows(CompletionException.class,
        () -> pair.initialCopy().completion().join());
    assertTrue(e.getCause() instanceof VolumeIOException, e.toString());
    assertTrue(e.getCause().getMessage().contains("resume()"), e.getCause().getMessage());
    assertEquals(PairState.SUSPENDED, pair.state());
    assertEquals(64, pair.stats().pendingTracks(), "no pending bit cleared by a failed copy");
    // Requests other than resume are refused while suspended, naming the cause.
    PairStateException refused = assertThrows(PairStateException.class, pair::split);
    assertTrue(refused.getMessage().contains("resume()"), refused.getMessage());
    // Host writes to the primary still work and are tracked.
    p.write(3 * TS, random(2, 10));
    rawS.heal();
    CopyRequest resume = pair.resume();
    assertEquals(64, resume.await(WAIT).tracksCopied());
    pair.mirrorDrained().get();
    assertEquals(PairState.FORMED, pair.state());
    assertArrayEquals(readAll(p), rig.backendImage("s"));
  }

  @Test
  void deadSecondaryDuringARestoreSuspendsAndResumeFinishesTheRestore() throws Exception {
    Rig.fill(p, 1);
    VolumePair pair = rig.pk.createVolumePair("vp", p, s);
    pair.initialCopy().await(WAIT);
    pair.split().await(WAIT);
    byte[] splitImage = rig.backendImage("s");
    p.write(0, random(2, SIZE)); // everything damaged
    rawS.fail(Fault.READS);
    CopyRequest restore = pair.restore();
    CompletionException e = assertThrows(CompletionException.class,
        () -> restore.completion().join());
    assertTrue(e.getCause().getMessage().contains("resume()"), e.getCause().getMessage());
    assertEquals(PairState.SUSPENDED, pair.state());
    PairStateException refused = assertThrows(PairStateException.class, pair::delete);
    assertTrue(refused.getMessage().contains("restore"), refused.getMessage());
    rawS.heal();
    pair.resume().await(WAIT);
    for (CopyRequest r : pair.activeRequests()) {
      r.await(WAIT);
    }
    assertEquals(PairState.SPLIT, pair.state());
    assertArrayEquals(splitImage, rig.backendImage("p"), "the restore finished after resume");
    assertEquals(0, pair.stats().changedTracks());
  }

  @Test
  void failedCopyOnWriteRefusesTheHostWriteAndKeepsThePointInTime() {
    Rig.fill(p, 1);
    VolumePair pair = rig.pk.createVolumePair("vp", p, s);
    pair.initialCopy().await(WAIT);
    rig.pk.pauseBackgroundCopies();
    p.write(5 * TS, random(2, TS)); // pending at split
    CopyRequest split = pair.split();
    byte[] atSplit = rig.primaryAtInstant.get(split.id());
    rawS.fail(Fault.WRITES);
    byte[] pBefore = rig.backendImage("p");
    VolumeIOException e = assertThrows(VolumeIOException.class,
        () -> p.write(5 * TS, random(3, TS)));
    assertTrue(e.getMessage().contains("'s'"), e.getMessage());
    assertArrayEquals(pBefore, rig.backendImage("p"), "the primary was not written");
    rawS.heal();
    rig.pk.resumeBackgroundCopies();
    split.await(WAIT);
    assertArrayEquals(atSplit, rig.backendImage("s"));
  }

  @Test
  void deadPrimaryFailsHostIoWithTheVolumeName() {
    rawP.fail(Fault.ALL);
    VolumeIOException w = assertThrows(VolumeIOException.class, () -> p.write(0, new byte[1]));
    assertTrue(w.getMessage().contains("'p'"), w.getMessage());
    assertThrows(VolumeIOException.class, () -> p.read(0, 1));
    assertThrows(VolumeIOException.class, p::flush);
    // Close still releases everything, and then says which volume could not be made durable.
    VolumeIOException atClose = assertThrows(VolumeIOException.class, rig.pk::close);
    assertTrue(atClose.getMessage().contains("'p'") && atClose.getMessage().contains("close"),
        atClose.getMessage());
    rig.pk.close(); // a repeat is harmless
    assertThrows(AlreadyClosedException.class, () -> p.read(0, 1));
  }

  @Test
  void closeCancelsRunningRequestsAndLaterUseIsRefused() {
    Rig.fill(p, 1);
    rig.pk.pauseBackgroundCopies();
    VolumePair pair = rig.pk.createVolumePair("vp", p, s);
    CopyRequest create = pair.initialCopy();
    rig.pk.close();
    rig.pk.close();
    assertThrows(CancellationException.class, () -> create.completion().join());
    assertThrows(AlreadyClosedException.class, () -> p.write(0, new byte[1]));
    assertThrows(AlreadyClosedException.class, () -> rig.pk.volume("p"));
    assertEquals(PairState.FORMING, pair.state(), "a closed controller's pair is not DELETED");
    AlreadyClosedException refused = assertThrows(AlreadyClosedException.class, pair::split);
    assertTrue(refused.getMessage().contains("closed controller"), refused.getMessage());
  }

  @Test
  void transientFailuresAreRetried_thePairNeitherSuspendsNorLosesData() throws Exception {
    Rig.fill(p, 1);
    rawS.failTransiently(Fault.WRITES, 3);
    VolumePair pair = rig.pk.createVolumePair("vp", p, s);
    pair.initialCopy().await(WAIT);
    assertEquals(PairState.FORMED, pair.state());
    assertArrayEquals(readAll(p), rig.backendImage("s"));
    // Host writes retry too.
    rawP.failTransiently(Fault.WRITES, 2);
    byte[] data = random(9, 3 * TS);
    p.write(TS + 5, data);
    assertArrayEquals(data, p.read(TS + 5, data.length));
    pair.mirrorDrained().get();
    assertArrayEquals(readAll(p), rig.backendImage("s"));
  }

  @Test
  void transientFailuresBeyondTheRetryLimitSuspendAndResumeRecovers() throws Exception {
    try (Rig quick = new Rig(PairKit.builder().trackSize(TS)
        .transientRetries(2, java.time.Duration.ofMillis(1)), false)) {
      FaultyVolume flaky = new FaultyVolume(new MemoryVolume("fs", SIZE));
      HostVolume qp = quick.volume("qp", SIZE, TS);
      HostVolume qs = quick.attach(flaky);
      Rig.fill(qp, 4);
      flaky.failTransiently(Fault.WRITES, 1_000_000);
      VolumePair pair = quick.pk.createVolumePair("flaky", qp, qs);
      CompletionException e = assertThrows(CompletionException.class,
          () -> pair.initialCopy().completion().join());
      assertTrue(e.getCause().getMessage().contains("still failing after 3 attempts"),
          e.getCause().getMessage());
      assertEquals(PairState.SUSPENDED, pair.state());
      assertEquals(64, pair.stats().pendingTracks(), "no pending bit cleared by a failed copy");
      flaky.heal();
      pair.resume().await(WAIT);
      pair.mirrorDrained().get();
      assertEquals(PairState.FORMED, pair.state());
      assertArrayEquals(readAll(qp), quick.backendImage("fs"));
    }
  }
}
