package io.pairkit.core.internal.engine;

import static io.pairkit.core.internal.engine.Rig.WAIT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pairkit.api.HostVolume;
import io.pairkit.api.VolumePair;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.VolumeCapabilities;
import io.pairkit.testkit.ForwardingVolume;
import io.pairkit.testkit.MemoryVolume;
import io.pairkit.core.PairKit;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A background copy moves consecutive tracks in I/Os of the volumes' preferred size and keeps as
 * many in flight as their declared concurrency, not one track per worker.
 */
@Timeout(60)
class CopyIoShapeTest {
  private static final int TS = 4096;

  /** Records the largest write and how many writes are inside the backend at once. */
  private static final class IoProbe extends ForwardingVolume {
    final AtomicInteger writes = new AtomicInteger();
    final AtomicInteger largest = new AtomicInteger();
    final AtomicInteger inside = new AtomicInteger();
    final AtomicInteger most = new AtomicInteger();
    private final CountDownLatch together;

    IoProbe(Volume v, int expectInFlight) {
      super(v);
      this.together = new CountDownLatch(expectInFlight);
    }

    @Override
    public void write(long offset, ByteBuffer src) throws IOException {
      writes.incrementAndGet();
      largest.accumulateAndGet(src.remaining(), Math::max);
      most.accumulateAndGet(inside.incrementAndGet(), Math::max);
      try {
        // The first writes wait (bounded) until the expected number is in flight at once.
        together.countDown();
        try {
          together.await(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        super.write(offset, src);
      } finally {
        inside.decrementAndGet();
      }
    }
  }

  @Test
  void initialCopyUsesPreferredSizeRunsAndTheDeclaredConcurrency() throws Exception {
    long size = 32L << 20; // 8192 tracks of 4 KiB
    VolumeCapabilities caps = MemoryVolume.DEFAULT_CAPABILITIES.withThin(false)
        .withPreferredIoSize(1 << 20).withConcurrency(4);
    try (Rig rig = new Rig(PairKit.builder().trackSize(TS).copyThreads(8), false)) {
      HostVolume p = rig.attach(new MemoryVolume("p", size, caps));
      IoProbe probe = new IoProbe(new MemoryVolume("s", size, caps), 4);
      HostVolume s = rig.attach(probe);
      Rig.fill(p, 1);
      VolumePair pair = rig.pk.createVolumePair("shape", p, s);
      pair.initialCopy().await(WAIT);
      assertArrayEquals(Rig.readAll(p), Rig.readAll(s));
      assertEquals(1 << 20, probe.largest.get(), "runs of the preferred I/O size");
      assertEquals(32, probe.writes.get(), "32 MiB in 1 MiB writes");
      assertEquals(4, probe.most.get(), "as many in flight as the volumes declare, no more");
    }
  }

  /** Counts the bytes written to a volume. */
  private static final class ByteCounter extends ForwardingVolume {
    final java.util.concurrent.atomic.AtomicLong bytes = new java.util.concurrent.atomic.AtomicLong();

    ByteCounter(Volume v) {
      super(v);
    }

    @Override
    public void write(long offset, ByteBuffer src) throws IOException {
      bytes.addAndGet(src.remaining());
      super.write(offset, src);
    }
  }

  @Test
  void theAsynchronousMirrorCopiesWhatWasWrittenNotWholeTracks() throws Exception {
    int ts = 64 << 10;
    long size = 64L * ts;
    try (Rig rig = new Rig(PairKit.builder().trackSize(ts), false)) {
      HostVolume p = rig.attach(new MemoryVolume("p", size));
      ByteCounter counter = new ByteCounter(new MemoryVolume("s", size));
      HostVolume s = rig.attach(counter);
      Rig.fill(p, 2);
      VolumePair pair = rig.pk.createVolumePair("m", p, s);
      pair.initialCopy().await(WAIT);
      rig.pk.pauseBackgroundCopies();
      counter.bytes.set(0);
      // 4 KiB into each of 8 tracks, twice into one of them, and 1 byte at a track's end.
      for (int t = 0; t < 8; t++) {
        p.write((long) t * ts + 8192, Rig.random(10 + t, 4096));
      }
      p.write(3L * ts + 40_000, Rig.random(30, 2000));
      p.write(20L * ts - 1, new byte[] {7});
      rig.pk.resumeBackgroundCopies();
      pair.mirrorDrained().get(30, TimeUnit.SECONDS);
      assertArrayEquals(Rig.readAll(p), Rig.readAll(s), "the secondary converged");
      // 1 KiB sub-blocks of 64 KiB tracks: 4 KiB each, 2 KiB more for the second write
      // (it spans 3 sub-blocks, 40000..42000), 1 KiB for the last byte.
      assertEquals(8 * 4096 + 3 * 1024 + 1024, counter.bytes.get(),
          "the mirror copied the written sub-blocks, not 9 tracks of 64 KiB");
      assertEquals(9, pair.stats().mirrorCopies());
    }
  }
}
