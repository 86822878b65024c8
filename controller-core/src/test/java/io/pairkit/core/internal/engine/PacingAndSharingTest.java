package io.pairkit.core.internal.engine;

import static io.pairkit.core.internal.engine.Rig.WAIT;
import static io.pairkit.core.internal.engine.Rig.random;
import static io.pairkit.core.internal.engine.Rig.readAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.CopyRequest;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.ExtentSplitPair;
import io.pairkit.api.HostVolume;
import io.pairkit.api.PairState;
import io.pairkit.api.VolumePair;
import io.pairkit.api.spi.Volume;
import io.pairkit.testkit.ForwardingVolume;
import io.pairkit.testkit.MemoryVolume;
import io.pairkit.core.PairKit;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Copy pacing, the in-flight cap, and several pairs on one primary. */
@Timeout(60)
class PacingAndSharingTest {
  private static final int TS = 4096;

  /** Counts how many background copy writes are inside the backend at once. */
  private static final class ConcurrencyProbe extends ForwardingVolume {
    final AtomicInteger inside = new AtomicInteger();
    final AtomicInteger most = new AtomicInteger();

    ConcurrencyProbe(Volume v) {
      super(v);
    }

    @Override
    public void write(long offset, ByteBuffer src) throws IOException {
      int now = inside.incrementAndGet();
      most.accumulateAndGet(now, Math::max);
      try {
        for (int i = 0; i < 50; i++) {
          Thread.yield(); // widen the window so overlapping copies would be seen
        }
        super.write(offset, src);
      } finally {
        inside.decrementAndGet();
      }
    }
  }

  @Test
  void tracksInFlightCapHoldsAcrossThreadsAndRequests() {
    try (Rig rig = new Rig(PairKit.builder().trackSize(TS).copyThreads(4).maxTracksInFlight(1), false)) {
      HostVolume p = rig.volume("p", 64 * TS, TS);
      ConcurrencyProbe probe = new ConcurrencyProbe(new MemoryVolume("s", 64 * TS));
      HostVolume s = rig.attach(probe);
      Rig.fill(p, 1);
      ExtentSplitPair pair = rig.pk.createExtentSplitPair("x", p, s);
      pair.initialCopy().await(WAIT);
      p.write(0, random(2, 64 * TS));
      CopyRequest a = pair.extentSplit(ExtentSet.of(0, 20 * TS));
      CopyRequest b = pair.extentSplit(ExtentSet.of(30 * TS, 50 * TS));
      a.await(WAIT);
      b.await(WAIT);
      assertEquals(1, probe.most.get(), "at most one track copy in flight");
    }
  }

  @Test
  void copyRateIsNotExceeded() {
    long rate = 4L << 20; // 4 MiB/s; the copy below is 8 MiB, in runs of 1 MiB
    try (Rig rig = new Rig(PairKit.builder().trackSize(TS).copyBytesPerSecond(rate), false)) {
      HostVolume p = rig.volume("p", 2048 * TS, TS);
      HostVolume s = rig.volume("s", 2048 * TS, TS);
      Rig.fill(p, 5); // data to copy: a thin primary's holes would be skipped, not paced
      long start = System.nanoTime();
      rig.pk.createVolumePair("paced", p, s).initialCopy().await(WAIT);
      double seconds = (System.nanoTime() - start) / 1e9;
      // A lower bound only (a slow machine can only make it longer): the first run is free.
      double floor = (2048.0 * TS - (1 << 20)) / rate;
      assertTrue(seconds >= floor * 0.95, "8 MiB at 4 MiB/s took only " + seconds + " s");
    }
  }

  @Test
  void onePrimaryWithTwoPairs_eachKeepsItsOwnPointInTime() throws Exception {
    try (Rig rig = new Rig(true)) {
      HostVolume p = rig.volume("p", 64 * TS, TS);
      HostVolume s1 = rig.volume("s1", 64 * TS, TS);
      HostVolume s2 = rig.volume("s2", 64 * TS, TS);
      Rig.fill(p, 1);
      VolumePair first = rig.pk.createVolumePair("first", p, s1);
      VolumePair second = rig.pk.createVolumePair("second", p, s2);
      first.initialCopy().await(WAIT);
      second.initialCopy().await(WAIT);
      rig.pk.pauseBackgroundCopies();
      p.write(0, random(2, 64 * TS));
      CopyRequest split1 = first.split();
      byte[] at1 = rig.primaryAtInstant.get(split1.id());
      p.write(0, random(3, 64 * TS)); // copy-on-write for the first pair, mirror for the second
      CopyRequest split2 = second.split();
      byte[] at2 = rig.primaryAtInstant.get(split2.id());
      p.write(0, random(4, 64 * TS)); // copy-on-write for both
      rig.pk.resumeBackgroundCopies();
      split1.await(WAIT);
      split2.await(WAIT);
      assertArrayEquals(at1, rig.backendImage("s1"));
      assertArrayEquals(at2, rig.backendImage("s2"));
      first.resync().await(WAIT);
      first.mirrorDrained().get();
      assertEquals(PairState.FORMED, first.state());
      assertEquals(PairState.SPLIT, second.state());
      assertArrayEquals(readAll(p), rig.backendImage("s1"));
      assertArrayEquals(at2, rig.backendImage("s2"));
    }
  }
}
