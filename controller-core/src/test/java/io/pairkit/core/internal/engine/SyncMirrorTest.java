package io.pairkit.core.internal.engine;

import static io.pairkit.core.internal.engine.Rig.WAIT;
import static io.pairkit.core.internal.engine.Rig.random;
import static io.pairkit.core.internal.engine.Rig.readAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.Extent;
import io.pairkit.api.ExtentPair;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.ExtentSplitPair;
import io.pairkit.api.HostVolume;
import io.pairkit.api.MirrorMode;
import io.pairkit.api.MirrorStatus;
import io.pairkit.api.PairController;
import io.pairkit.api.PairOptions;
import io.pairkit.api.PairState;
import io.pairkit.api.TrackState;
import io.pairkit.api.VolumePair;
import io.pairkit.api.spi.VolumeCapabilities;
import io.pairkit.api.spi.VolumeSpec;
import io.pairkit.testkit.FaultyVolume;
import io.pairkit.testkit.FaultyVolume.Fault;
import io.pairkit.testkit.MemoryVolume;
import io.pairkit.testkit.VolatileCacheVolume;
import io.pairkit.core.PairKit;
import io.pairkit.core.internal.engine.hostio.SyncMirror;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The synchronous mirror (md RAID-1, QEMU's write-blocking mirror): host writes land on both
 * volumes before they complete, only in the pair's mirrored scope; a primary flush flushes the
 * secondary; a failing or slow secondary drops the pair to the asynchronous mirror, reported, and
 * it comes back once the backlog is copied; the mode is chosen from the secondary's capabilities
 * and recorded with durable pairs.
 */
@Timeout(60)
class SyncMirrorTest {
  private static final int TS = 4096;
  private static final int SIZE = 64 * TS;

  @TempDir
  Path dir;

  private static Rig syncRig() {
    return new Rig(PairKit.builder().trackSize(TS).mirrorMode(MirrorMode.SYNCHRONOUS), false);
  }

  @Test
  void aHostWriteIsOnBothVolumesWhenItReturns_andLeavesNoBacklog() throws Exception {
    try (Rig rig = syncRig()) {
      MemoryVolume rawS = new MemoryVolume("s", SIZE);
      HostVolume p = rig.volume("p", SIZE, TS);
      HostVolume s = rig.attach(rawS);
      Rig.fill(p, 1);
      VolumePair pair = rig.pk.createVolumePair("vp", p, s);
      pair.initialCopy().await(WAIT);
      rig.pk.pauseBackgroundCopies(); // nothing but the write itself may put data on S
      byte[] data = random(2, 3 * TS + 100);
      p.write(5 * TS + 7, data);
      assertArrayEquals(data, slice(readAll(rawS), 5 * TS + 7, data.length),
          "on the secondary when the write returned");
      assertEquals(0, pair.stats().pendingTracks());
      assertEquals(0, pair.stats().mirrorCopies());
      MirrorStatus st = pair.mirrorStatus();
      assertEquals(MirrorMode.AUTOMATIC, st.configured(), st.toString());
      assertEquals(MirrorMode.SYNCHRONOUS, st.effective(), st.toString());
      assertTrue(st.reason().contains("the controller's mirror mode"), st.reason());
      // A split drains nothing: the secondary already holds the split instant's image.
      assertEquals(0, pair.split().await(WAIT).tracksToCopy());
      assertArrayEquals(readAll(p), readAll(rawS));
    }
  }

  @Test
  void anExtentPairWritesItsSecondaryOnlyInsideItsExtents() throws Exception {
    try (Rig rig = syncRig()) {
      MemoryVolume rawS = new MemoryVolume("s", SIZE);
      HostVolume p = rig.volume("p", SIZE, TS);
      HostVolume s = rig.attach(rawS);
      ExtentSet extents = ExtentSet.of(Extent.of(4 * TS + 10, 6 * TS - 5));
      ExtentPair pair = rig.pk.createExtentPair("ep", p, s, extents);
      pair.initialCopy().await(WAIT);
      p.write(0, random(3, SIZE)); // everything, across the extents' edges
      byte[] onS = readAll(rawS);
      byte[] onP = readAll(p);
      for (int b = 0; b < SIZE; b++) {
        boolean in = extents.contains(b);
        assertEquals(in ? onP[b] : 0, onS[b], "byte " + b + (in ? " inside" : " outside"));
      }
      assertEquals(0, pair.stats().pendingTracks());
    }
  }

  @Test
  void anExtentSplitPairMirrorsOnlyItsUnfrozenTracks() throws Exception {
    try (Rig rig = syncRig()) {
      MemoryVolume rawS = new MemoryVolume("s", SIZE);
      HostVolume p = rig.volume("p", SIZE, TS);
      HostVolume s = rig.attach(rawS);
      Rig.fill(p, 4);
      ExtentSplitPair pair = rig.pk.createExtentSplitPair("xs", p, s);
      pair.initialCopy().await(WAIT);
      pair.extentSplit(ExtentSet.of(8L * TS, 12L * TS)).await(WAIT);
      byte[] frozen = slice(readAll(rawS), 8 * TS, 4 * TS);
      p.write(6 * TS, random(5, 8 * TS)); // tracks 6-13: 8-11 frozen, the rest mirrored
      byte[] onS = readAll(rawS);
      assertArrayEquals(frozen, slice(onS, 8 * TS, 4 * TS), "the frozen tracks keep the image");
      assertArrayEquals(slice(readAll(p), 6 * TS, 2 * TS), slice(onS, 6 * TS, 2 * TS));
      assertArrayEquals(slice(readAll(p), 12 * TS, 2 * TS), slice(onS, 12 * TS, 2 * TS));
      assertEquals(4, pair.stats().changedTracks());
      assertEquals(0, pair.stats().pendingTracks());
    }
  }

  @Test
  void aPrimaryFlushFlushesTheSecondary() throws Exception {
    try (Rig rig = syncRig()) {
      VolatileCacheVolume rawS = new VolatileCacheVolume(new MemoryVolume("s", SIZE));
      HostVolume p = rig.volume("p", SIZE, TS);
      HostVolume s = rig.attach(rawS);
      VolumePair pair = rig.pk.createVolumePair("vp", p, s);
      pair.initialCopy().await(WAIT);
      s.flush();
      p.write(9 * TS, random(6, 2 * TS));
      assertTrue(rawS.unflushedBlocks() > 0, "the write sits in the secondary's volatile cache");
      p.flush();
      assertEquals(0, rawS.unflushedBlocks(), "a primary flush makes the mirrored write durable");
    }
  }

  @Test
  void aFailingSecondaryDropsThePairToAsynchronous_andItComesBackOnceTheBacklogIsCopied()
      throws Exception {
    try (Rig rig = syncRig()) {
      FaultyVolume rawS = new FaultyVolume(new MemoryVolume("s", SIZE));
      HostVolume p = rig.volume("p", SIZE, TS);
      HostVolume s = rig.attach(rawS);
      VolumePair pair = rig.pk.createVolumePair("vp", p, s);
      pair.initialCopy().await(WAIT);
      rig.pk.pauseBackgroundCopies();
      rawS.fail(Fault.WRITES);
      byte[] data = random(7, 2 * TS);
      p.write(20 * TS, data); // the host write succeeds on the primary
      assertArrayEquals(data, slice(readAll(p), 20 * TS, 2 * TS));
      MirrorStatus status = pair.mirrorStatus();
      assertEquals(MirrorMode.ASYNCHRONOUS, status.effective(), status.toString());
      assertTrue(status.degraded() && status.reason().contains("'s' failed a write"),
          status.reason());
      assertEquals(2, pair.stats().mirrorBacklogTracks(), "the missed tracks are pending");
      p.write(30 * TS, random(8, TS)); // asynchronous now: pending, not written to S
      assertEquals(3, pair.stats().mirrorBacklogTracks());
      rawS.heal();
      rig.pk.resumeBackgroundCopies();
      pair.mirrorDrained().get(30, TimeUnit.SECONDS);
      waitFor(() -> pair.mirrorStatus().effective() == MirrorMode.SYNCHRONOUS);
      assertFalse(pair.mirrorStatus().degraded(), pair.mirrorStatus().toString());
      assertArrayEquals(readAll(p), readAll(rawS));
      assertEquals(PairState.FORMED, pair.state());
    }
  }

  @Test
  void aFailingPrimaryWriteLeavesTheTracksPendingAndFailsTheHostWrite() throws Exception {
    try (Rig rig = syncRig()) {
      FaultyVolume rawP = new FaultyVolume(new MemoryVolume("p", SIZE));
      MemoryVolume rawS = new MemoryVolume("s", SIZE);
      HostVolume p = rig.attach(rawP);
      HostVolume s = rig.attach(rawS);
      VolumePair pair = rig.pk.createVolumePair("vp", p, s);
      pair.initialCopy().await(WAIT);
      rig.pk.pauseBackgroundCopies();
      rawP.fail(Fault.WRITES);
      org.junit.jupiter.api.Assertions.assertThrows(
          io.pairkit.api.error.VolumeIOException.class, () -> p.write(3 * TS, random(9, TS)));
      assertEquals(TrackState.PENDING, pair.trackStates(Extent.of(0, SIZE)).state(3),
          "the secondary may hold what the primary does not: the track is pending");
      rawP.heal();
      rig.pk.resumeBackgroundCopies();
      pair.mirrorDrained().get(30, TimeUnit.SECONDS);
      assertArrayEquals(readAll(p), readAll(rawS), "the mirror made them equal again");
    }
  }

  @Test
  void aSecondaryThatFallsBehindIsLeftBehindForAWhile() {
    AtomicLong now = new AtomicLong();
    SyncMirror m = new SyncMirror("vp", "s", VolumeCapabilities.defaults(),
        MirrorMode.AUTOMATIC, MirrorMode.SYNCHRONOUS, now::get);
    for (int i = 0; i < 200; i++) {
      m.timed(TimeUnit.MICROSECONDS.toNanos(50), TimeUnit.MILLISECONDS.toNanos(40));
    }
    assertTrue(m.synchronous(), "800x slower but under 100 ms: jitter or a busy machine");
    for (int i = 0; i < 200; i++) {
      m.timed(TimeUnit.MILLISECONDS.toNanos(30), TimeUnit.MILLISECONDS.toNanos(150));
    }
    assertTrue(m.synchronous(), "150 ms but only 5x the primary's 30 ms: both are slow");
    for (int i = 0; i < 200 && m.synchronous(); i++) {
      m.timed(TimeUnit.MICROSECONDS.toNanos(50), TimeUnit.MILLISECONDS.toNanos(150));
    }
    assertFalse(m.synchronous());
    assertTrue(m.status().reason().contains("fell behind"), m.status().reason());
    m.caughtUp();
    assertFalse(m.synchronous(), "not before the pause");
    now.addAndGet(TimeUnit.SECONDS.toNanos(31));
    m.caughtUp();
    assertTrue(m.synchronous());
  }

  @Test
  void automaticChoosesFromTheSecondary_andADurablePairKeepsItsMode() throws Exception {
    PairKit.Builder b = PairKit.builder().trackSize(TS).metadataDirectory(dir.resolve("meta"));
    try (PairController pk = b.build()) {
      HostVolume p = pk.openVolume(spec("p", "create"));
      HostVolume s = pk.openVolume(spec("s", "create"));
      VolumePair pair = pk.createVolumePair("vp", p, s);
      MirrorStatus st = pair.mirrorStatus();
      assertEquals(MirrorMode.AUTOMATIC, st.configured());
      assertEquals(MirrorMode.SYNCHRONOUS, st.effective(), "a file secondary is local");
      assertTrue(st.reason().contains("local"), st.reason());
      pair.setMirrorMode(MirrorMode.ASYNCHRONOUS);
      assertEquals(MirrorMode.ASYNCHRONOUS, pair.mirrorStatus().effective());
      pair.initialCopy().await(WAIT);
    }
    try (PairController pk = b.build()) {
      MirrorStatus st = pk.pair("vp").mirrorStatus();
      assertEquals(new MirrorStatus(MirrorMode.ASYNCHRONOUS, MirrorMode.ASYNCHRONOUS, null), st,
          "the mode set before the restart");
    }
    // A remote secondary (an object store) is mirrored asynchronously when left automatic.
    SyncMirror remote = new SyncMirror("x", "bucket", VolumeCapabilities.defaults()
        .withRemote(true), MirrorMode.AUTOMATIC, MirrorMode.AUTOMATIC);
    assertFalse(remote.synchronous());
    assertTrue(remote.status().reason().contains("remote"), remote.status().reason());
    try (PairController pk = b.build()) {
      HostVolume p = pk.volume("p");
      HostVolume other = pk.openVolume(spec("o", "create"));
      assertEquals(MirrorMode.ASYNCHRONOUS, pk.createVolumePair("o", p, other,
          PairOptions.defaults().withMirrorMode(MirrorMode.ASYNCHRONOUS)).mirrorStatus()
          .effective());
    }
  }

  private VolumeSpec spec(String name, String mode) {
    return VolumeSpec.builder(name, "file").property("path", dir.resolve(name + ".img").toString())
        .property("size", SIZE).property("mode", mode).build();
  }

  private static byte[] slice(byte[] image, int from, int length) {
    byte[] out = new byte[length];
    System.arraycopy(image, from, out, 0, length);
    return out;
  }

  private static void waitFor(java.util.function.BooleanSupplier condition) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("condition not met in 20 s");
      }
      Thread.sleep(5); // polling a state the mirror reaches on its own thread
    }
  }
}
