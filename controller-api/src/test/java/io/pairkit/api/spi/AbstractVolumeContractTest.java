package io.pairkit.api.spi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.pairkit.api.error.AlreadyClosedException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The contract every {@link Volume} backend must pass. A backend's test class extends this and
 * says only how to make a volume (and, if it can, how to reopen one after close to check
 * durability). Shipped in the controller-api test-jar.
 */
@Timeout(60)
public abstract class AbstractVolumeContractTest {
  protected static final int TRACK = 4096;
  protected static final long SIZE = 64L * TRACK + 1000; // a partial last track on purpose

  private final List<Volume> opened = new ArrayList<>();

  /** Creates a new, zero-filled volume. */
  protected abstract Volume createVolume(String name, long size, int trackSize) throws Exception;

  /** Whether {@link #reopen} is supported (the backend has state that outlives the object). */
  protected boolean supportsReopen() {
    return false;
  }

  /** Opens the same backing store again after {@code closed} was closed. */
  protected Volume reopen(Volume closed) throws Exception {
    throw new UnsupportedOperationException();
  }

  protected Volume volume() throws Exception {
    Volume v = createVolume("contract", SIZE, TRACK);
    opened.add(v);
    return v;
  }

  @AfterEach
  void closeAll() throws Exception {
    for (Volume v : opened) {
      v.close();
    }
  }

  @Test
  void reportsItsGeometry() throws Exception {
    Volume v = volume();
    assertEquals("contract", v.name());
    assertEquals(SIZE, v.size());
    assertEquals(TRACK, v.trackSize());
    assertEquals(65, v.trackCount());
  }

  @Test
  void neverWrittenBytesReadAsZero() throws Exception {
    Volume v = volume();
    ByteBuffer buf = ByteBuffer.allocate(3 * TRACK);
    v.read(TRACK * 10L + 7, buf);
    assertEquals(0, buf.remaining(), "read must fill the buffer");
    assertArrayEquals(new byte[3 * TRACK], buf.array());
  }

  @Test
  void unalignedWriteAcrossTracksReadsBack() throws Exception {
    Volume v = volume();
    byte[] data = random(1, 3 * TRACK + 123);
    ByteBuffer src = ByteBuffer.wrap(data);
    v.write(TRACK - 17, src);
    assertEquals(0, src.remaining(), "write must consume the buffer");
    assertArrayEquals(data, read(v, TRACK - 17, data.length));
    // Neighbours untouched.
    assertArrayEquals(new byte[17], read(v, TRACK - 34, 17));
  }

  @Test
  void directBuffersWorkLikeHeapBuffers() throws Exception {
    Volume v = volume();
    byte[] data = random(2, TRACK);
    ByteBuffer direct = ByteBuffer.allocateDirect(TRACK);
    direct.put(data).flip();
    v.write(5L * TRACK, direct);
    ByteBuffer back = ByteBuffer.allocateDirect(TRACK);
    v.read(5L * TRACK, back);
    back.flip();
    byte[] got = new byte[TRACK];
    back.get(got);
    assertArrayEquals(data, got);
  }

  @Test
  void partialLastTrackIsUsableToTheLastByte() throws Exception {
    Volume v = volume();
    byte[] data = random(3, 1000);
    v.write(SIZE - 1000, ByteBuffer.wrap(data));
    assertArrayEquals(data, read(v, SIZE - 1000, 1000));
  }

  @Test
  void outOfRangeIoIsRefusedAndTransfersNothing() throws Exception {
    Volume v = volume();
    ByteBuffer src = ByteBuffer.wrap(random(4, 100));
    assertThrows(IndexOutOfBoundsException.class, () -> v.write(SIZE - 50, src));
    assertEquals(100, src.remaining());
    assertThrows(IndexOutOfBoundsException.class, () -> v.write(-1, ByteBuffer.allocate(1)));
    ByteBuffer dst = ByteBuffer.allocate(10);
    assertThrows(IndexOutOfBoundsException.class, () -> v.read(SIZE, dst));
    assertEquals(10, dst.remaining());
    assertArrayEquals(new byte[50], read(v, SIZE - 50, 50));
  }

  @Test
  void concurrentDisjointWritersDoNotInterfere() throws Exception {
    Volume v = volume();
    int threads = 4;
    int tracksEach = 16;
    inParallel(threads, id -> {
      for (int i = 0; i < tracksEach; i++) {
        long track = (long) i * threads + id; // interleaved tracks
        v.write(track * TRACK, ByteBuffer.wrap(pattern(track)));
      }
    });
    for (long track = 0; track < (long) threads * tracksEach; track++) {
      assertArrayEquals(pattern(track), read(v, track * TRACK, TRACK), "track " + track);
    }
  }

  @Test
  void concurrentWritersOnDisjointBytesOfTheSameBlockDoNotInterfere() throws Exception {
    Volume v = volume();
    int threads = 4;
    int piece = 24; // unaligned pieces, interleaved across threads within each 4 KiB block
    int piecesEach = 2 * TRACK / piece / threads;
    inParallel(threads, id -> {
      for (int i = 0; i < piecesEach; i++) {
        long offset = 7 + (long) (i * threads + id) * piece;
        v.write(offset, ByteBuffer.wrap(random(offset, piece)));
      }
    });
    for (int i = 0; i < piecesEach * threads; i++) {
      long offset = 7 + (long) i * piece;
      assertArrayEquals(random(offset, piece), read(v, offset, piece), "piece at " + offset);
    }
  }

  @Test
  void flushedWritesSurviveReopen() throws Exception {
    Assumptions.assumeTrue(supportsReopen(), "backend keeps no state beyond the object");
    Volume v = createVolume("durable", SIZE, TRACK);
    byte[] data = random(5, 2 * TRACK);
    v.write(3 * TRACK + 5, ByteBuffer.wrap(data));
    v.flush();
    v.close();
    Volume again = reopen(v);
    opened.add(again);
    assertEquals(SIZE, again.size());
    assertArrayEquals(data, read(again, 3 * TRACK + 5, data.length));
  }

  @Test
  void closeIsIdempotentAndUseAfterCloseFails() throws Exception {
    Volume v = createVolume("closing", SIZE, TRACK);
    v.close();
    v.close();
    assertThrows(AlreadyClosedException.class, () -> v.read(0, ByteBuffer.allocate(1)));
    assertThrows(AlreadyClosedException.class, () -> v.write(0, ByteBuffer.allocate(1)));
    assertThrows(AlreadyClosedException.class, v::flush);
  }

  /** A task of one thread of {@link #inParallel}; gets the thread's number. */
  protected interface ThreadTask {
    void run(int id) throws Exception;
  }

  /** Runs {@code task} on {@code threads} threads at once and rethrows the first failure. */
  protected static void inParallel(int threads, ThreadTask task) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int id = t;
        done.add(pool.submit(() -> {
          task.run(id);
          return null;
        }));
      }
      for (Future<?> f : done) {
        f.get();
      }
    } finally {
      pool.shutdown();
    }
  }

  protected static byte[] read(Volume v, long offset, int length) throws Exception {
    ByteBuffer buf = ByteBuffer.allocate(length);
    v.read(offset, buf);
    return buf.array();
  }

  protected static byte[] random(long seed, int length) {
    byte[] b = new byte[length];
    new Random(seed).nextBytes(b);
    return b;
  }

  private static byte[] pattern(long track) {
    return random(1000 + track, TRACK);
  }
}
