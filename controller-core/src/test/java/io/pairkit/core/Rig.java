package io.pairkit.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pairkit.api.HostVolume;
import io.pairkit.api.PairController;
import io.pairkit.api.PairStats;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.testing.MemoryVolume;
import io.pairkit.core.engine.ManagedVolume;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A controller over memory volumes for engine tests. Records the primary's backend image at every
 * request instant (when {@code recordInstants}), which is what a point-in-time copy must equal.
 */
final class Rig implements AutoCloseable {
  static final Duration WAIT = Duration.ofSeconds(30);

  final PairController pk;
  final Map<Long, byte[]> primaryAtInstant = new ConcurrentHashMap<>();
  private final Map<String, Volume> backends = new ConcurrentHashMap<>();

  Rig(boolean recordInstants) {
    this(PairKit.builder(), recordInstants);
  }

  Rig(PairKit.Builder builder, boolean recordInstants) {
    if (recordInstants) {
      builder.requestInstantObserver((pair, kind, id) ->
          primaryAtInstant.put(id, readAll(backends.get(pair.primary().name()))));
    }
    this.pk = builder.build();
  }

  HostVolume volume(String name, long size, int trackSize) {
    return attach(new MemoryVolume(name, size, trackSize));
  }

  HostVolume attach(Volume v) {
    backends.put(v.name(), v);
    return pk.attachVolume(v);
  }

  /** What the volume holds beneath the pair logic (through the track cache, if any). */
  byte[] backendImage(String name) {
    return readAll(((ManagedVolume) pk.volume(name)).backend());
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
