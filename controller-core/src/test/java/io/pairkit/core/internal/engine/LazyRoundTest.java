package io.pairkit.core.internal.engine;

import static io.pairkit.core.internal.engine.Rig.WAIT;
import static io.pairkit.core.internal.engine.Rig.random;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.HostVolume;
import io.pairkit.api.MirrorMode;
import io.pairkit.api.VolumePair;
import io.pairkit.api.spi.ProviderContext;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.VolumeProvider;
import io.pairkit.api.spi.VolumeSpec;
import io.pairkit.testkit.ForwardingVolume;
import io.pairkit.testkit.MemoryVolume;
import io.pairkit.core.PairKit;
import io.pairkit.core.registry.VolumeProviders;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Rule 5 with host writes in flight: a write-intent region is recorded clean only once nothing it
 * covered is under way or volatile. A synchronous mirror write that started before two rounds
 * and lands on the secondary after the second round's flush leaves no pending bit; only its
 * region's intent covers it, so that region must stay dirty.
 */
@Timeout(60)
class LazyRoundTest {
  private static final int TS = 4096;
  private static final int SIZE = 64 * TS;

  /** A secondary whose writes at track 0 wait for a gate, and whose flush runs a hook first. */
  private static final class GatedVolume extends ForwardingVolume {
    final CountDownLatch gate = new CountDownLatch(1);
    final CountDownLatch entered = new CountDownLatch(1);
    final CountDownLatch landed = new CountDownLatch(1);
    volatile Runnable beforeFlush = () -> { };

    GatedVolume(Volume delegate) {
      super(delegate);
    }

    @Override
    public void write(long offset, ByteBuffer src) throws IOException {
      if (offset == 0) {
        entered.countDown();
        try {
          gate.await();
        } catch (InterruptedException e) {
          throw new IOException(e);
        }
        super.write(offset, src);
        landed.countDown();
        return;
      }
      super.write(offset, src);
    }

    @Override
    public void flush() throws IOException {
      beforeFlush.run();
      super.flush();
    }
  }

  @Test
  void aRegionWhoseSynchronousWriteLandedAfterTheFlushStaysDirty() throws Exception {
    MemoryVolume p = new MemoryVolume("p", SIZE);
    GatedVolume s = new GatedVolume(new MemoryVolume("s", SIZE));
    VolumeProvider provider = new VolumeProvider() {
      @Override
      public String type() {
        return "gated";
      }

      @Override
      public Volume open(VolumeSpec spec, ProviderContext context) {
        return spec.name().equals("p") ? p : s;
      }
    };
    try (DefaultPairController pk = DefaultPairController.withStorage(PairKit.builder()
        .trackSize(TS).mirrorMode(MirrorMode.SYNCHRONOUS).writeIntentRegionSize(4L * TS)
        .lazyClearDelay(Duration.ofHours(1)).config(), VolumeProviders.of(provider),
        Engine.InstantHook.NONE, new RecordingStorage(null))) {
      HostVolume hp = pk.openVolume(VolumeSpec.builder("p", "gated").build());
      HostVolume hs = pk.openVolume(VolumeSpec.builder("s", "gated").build());
      VolumePair pair = pk.createVolumePair("vp", hp, hs);
      pair.initialCopy().await(WAIT);
      AbstractPair ap = (AbstractPair) pair;
      ap.lazyRound();
      ap.lazyRound();
      // A host write to track 0 whose secondary half is held back.
      CompletableFuture<Void> slow = CompletableFuture.runAsync(() ->
          hp.write(0, random(1, TS)));
      assertTrue(s.entered.await(10, TimeUnit.SECONDS));
      ap.lazyRound(); // round 1: region 0 was written in the generation before it
      hp.write(20L * TS, random(2, TS)); // another region's write, settled by round 2's flush
      s.beforeFlush = () -> { // round 2's flush: the held write lands on S after it started
        s.gate.countDown();
        try {
          assertTrue(s.landed.await(10, TimeUnit.SECONDS));
        } catch (InterruptedException e) {
          throw new IllegalStateException(e);
        }
      };
      ap.lazyRound(); // round 2: region 0 looks quiet, but its write is not durable on S
      slow.get(10, TimeUnit.SECONDS);
      assertTrue(pk.engineStore().dirtyTracks("vp").contains(0),
          "region 0 must stay dirty: its write reached S after the flush");
      s.beforeFlush = () -> { };
      ap.lazyRound();
      ap.lazyRound();
      assertEquals(0, pk.engineStore().dirtyTracks("vp").getLongCardinality(),
          "once flushed and quiet for a round, every region is clean");
    }
  }
}
