package io.pairkit.core.internal.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pairkit.api.HostVolume;
import io.pairkit.api.MirrorMode;
import io.pairkit.api.PairController;
import io.pairkit.api.PairStats;
import io.pairkit.api.spi.Volume;
import io.pairkit.testkit.MemoryVolume;
import io.pairkit.core.registry.VolumeProviders;
import io.pairkit.core.PairKit;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A controller over memory volumes for engine tests. Records the primary's backend image at every
 * request instant (when {@code recordInstants}), which is what a point-in-time copy must equal.
 * Its pairs mirror asynchronously unless the builder says otherwise: the mechanics these tests
 * check (pending bits, the mirror's copies, copy-on-write of tracks still pending) show there;
 * {@code SyncMirrorTest} and the pair-semantics suite cover the synchronous mirror.
 */
final class Rig implements AutoCloseable {
  static final Duration WAIT = Duration.ofSeconds(30);

  final PairController pk;
  final DefaultPairController controller;
  final int trackSize;
  final Map<Long, byte[]> primaryAtInstant = new ConcurrentHashMap<>();
  private final Map<String, Volume> backends = new ConcurrentHashMap<>();

  /** A rig with 4 KiB tracks. */
  Rig(boolean recordInstants) {
    this(PairKit.builder().trackSize(4096), recordInstants);
  }

  Rig(PairKit.Builder builder, boolean recordInstants) {
    this(builder, recordInstants ? null : Engine.InstantHook.NONE);
  }

  /** A rig calling {@code hook} at every instant (null: record the primary's image). */
  Rig(PairKit.Builder builder, Engine.InstantHook hook) {
    if (builder.config().mirrorMode() == MirrorMode.AUTOMATIC) {
      builder.mirrorMode(MirrorMode.ASYNCHRONOUS);
    }
    this.trackSize = builder.config().trackSize();
    Engine.InstantHook h = hook != null ? hook : (pair, id) ->
        primaryAtInstant.put(id, readAll(backends.get(pair.primary().name())));
    this.controller = DefaultPairController.withInstantHook(builder.config(),
        VolumeProviders.load(getClass().getClassLoader()), h);
    this.pk = controller;
  }

  /** A memory volume; {@code trackSize} must be the rig's (tracks belong to the controller). */
  HostVolume volume(String name, long size, int trackSize) {
    if (trackSize != this.trackSize) {
      throw new IllegalArgumentException("this rig tracks in " + this.trackSize + " bytes, not "
          + trackSize);
    }
    return attach(new MemoryVolume(name, size));
  }

  HostVolume attach(Volume v) {
    backends.put(v.name(), v);
    return pk.attachVolume(v);
  }

  /** What the volume holds beneath the pair logic (through the track cache, if any). */
  byte[] backendImage(String name) {
    return readAll(controller.backendOf(name));
  }

  static byte[] readAll(Volume v) {
    try {
      ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(v.size()));
      v.read(0, b);
      return b.array();
    } catch (Exception e) {
      throw new AssertionError("cannot read " + v.name(), e);
    }
  }

  static byte[] readAll(HostVolume v) {
    return v.read(0, Math.toIntExact(v.size()));
  }

  static byte[] random(long seed, int length) {
    byte[] b = new byte[length];
    new Random(seed).nextBytes(b);
    return b;
  }

  static void fill(HostVolume v, long seed) {
    v.write(0, random(seed, Math.toIntExact(v.size())));
  }

  static byte[] slice(byte[] image, long from, long to) {
    byte[] out = new byte[(int) (to - from)];
    System.arraycopy(image, (int) from, out, 0, out.length);
    return out;
  }

  static void assertRange(byte[] expected, byte[] actual, long from, long to, String what) {
    assertArrayEquals(slice(expected, from, to), slice(actual, from, to), what + " [" + from
        + ", " + to + ")");
  }

  /** Asserts two stats are equal in their bitmap counts (used for "nothing changed"). */
  static void assertSameBits(PairStats before, PairStats after) {
    assertEquals(before.pendingTracks(), after.pendingTracks(), "pending");
    assertEquals(before.changedTracks(), after.changedTracks(), "changed");
    assertEquals(before.frozenTracks(), after.frozenTracks(), "frozen");
    assertEquals(before.totalCopies(), after.totalCopies(), "copies");
  }

  @Override
  public void close() {
    pk.close();
  }
}
