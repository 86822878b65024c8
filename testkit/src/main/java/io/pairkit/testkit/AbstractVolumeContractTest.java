package io.pairkit.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.pairkit.api.Extent;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.error.AlreadyClosedException;
import io.pairkit.api.error.VolumeInUseException;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.VolumeCapabilities;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
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
 * says only how to make a volume, and, where it can, how to reopen one after close (durability)
 * and how to try a second writer (fencing). Capabilities a volume declares are checked; a feature
 * it declares unsupported is checked to behave per the default contract (not thin: discard still
 * zeros and everything counts as allocated). A {@link Volume#volumeId} the volume answers is
 * checked to be constant, to survive close and reopen, and to differ for another volume; an empty
 * id asserts nothing. Shipped in {@code pairkit-testkit}.
 *
 * <p>Over 500 lines: one test per clause of the Volume contract, so that a backend author reads
 * the whole contract in one file.
 */
@Timeout(60)
public abstract class AbstractVolumeContractTest {
  /** A unit for offsets in these tests; no relation to any track size. */
  protected static final int TRACK = 4096;
  protected static final long SIZE = 64L * TRACK + 1000; // a partial last block on purpose
  /**
   * Discard tests that expect space to be freed use ranges aligned to this, which covers every
   * block size a backend frees in (file system blocks, object chunks) up to 64 KiB.
   */
  protected static final int FREE_GRANULE = 64 * 1024;

  private final List<Volume> opened = new ArrayList<>();

  /** Creates a new, zero-filled volume of {@code size} bytes. */
  protected abstract Volume createVolume(String name, long size) throws Exception;

  /** Whether {@link #reopen} is supported (the backend has state that outlives the object). */
  protected boolean supportsReopen() {
    return false;
  }

  /** Opens the same backing store again after {@code closed} was closed. */
  protected Volume reopen(Volume closed) throws Exception {
    throw new UnsupportedOperationException();
  }

  /**
   * Tries to open the backing store of {@code open}, which is still open, a second time for
   * writing. Must be overridden by a backend whose capabilities declare fencing; the open is
   * expected to throw {@link VolumeInUseException}.
   */
  protected Volume openSecondWriter(Volume open) throws Exception {
    throw new UnsupportedOperationException();
  }

  protected Volume volume() throws Exception {
    return track(createVolume("contract", SIZE));
  }

  /** Closes {@code v} after the test. */
  protected Volume track(Volume v) {
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
  void reportsItsNameAndSize() throws Exception {
    Volume v = volume();
    assertEquals("contract", v.name());
    assertEquals(SIZE, v.size());
  }

  @Test
  void capabilitiesAreValidAndConstant() throws Exception {
    Volume v = volume();
    VolumeCapabilities caps = v.capabilities();
    assertNotNull(caps);
    assertEquals(1, Integer.bitCount(caps.alignment()), "alignment is a power of two");
    assertEquals(0, caps.preferredIoSize() % caps.alignment());
    assertTrue(caps.concurrency() >= 1);
    v.write(3, ByteBuffer.wrap(random(11, 5000)));
    v.discard(100, 200);
    v.allocated(0, SIZE);
    v.flush();
    assertEquals(caps, v.capabilities(), "capabilities must not change while open");
  }

  @Test
  void ioAtUnalignedOffsetsAndLengthsWorks() throws Exception {
    Volume v = volume();
    int a = Math.min(v.capabilities().alignment(), TRACK * 8);
    long[] offsets = {1, a - 1L, a + 1L, 3L * a + 7, 5L * a - 3};
    int[] lengths = {1, 3, a + 5, 2 * a - 1, 7};
    for (int i = 0; i < offsets.length; i++) {
      long off = offsets[i] + 8L * i * a;
      byte[] data = random(20 + i, lengths[i]);
      v.write(off, ByteBuffer.wrap(data));
      assertArrayEquals(data, read(v, off, data.length), "at " + off + " length " + data.length);
    }
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
  void flushedWritesAndDiscardsSurviveReopen() throws Exception {
    Volume v = createVolume("durable", SIZE);
    boolean durable = v.capabilities().durableFlush();
    if (!durable || !supportsReopen()) {
      v.close();
      Assumptions.abort(durable ? "the test cannot reopen this backend (override supportsReopen)"
          : "the volume declares durableFlush=false");
    }
    byte[] data = random(5, 2 * TRACK);
    v.write(3 * TRACK + 5, ByteBuffer.wrap(data));
    v.write(2L * FREE_GRANULE, ByteBuffer.wrap(random(6, FREE_GRANULE)));
    v.flush();
    v.discard(2L * FREE_GRANULE, FREE_GRANULE);
    v.flush();
    v.close();
    Volume again = track(reopen(v));
    assertEquals(SIZE, again.size());
    assertEquals(v.capabilities(), again.capabilities());
    assertArrayEquals(data, read(again, 3 * TRACK + 5, data.length));
    assertArrayEquals(new byte[FREE_GRANULE], read(again, 2L * FREE_GRANULE, FREE_GRANULE));
  }

  // ---- volume id (optional: empty asserts nothing) ----

  @Test
  void volumeIdIsConstantAndDiffersForAnotherVolume() throws Exception {
    Volume v = volume();
    Optional<String> id = v.volumeId();
    assertNotNull(id, "volumeId() answers empty, never null");
    Assumptions.assumeTrue(id.isPresent(), "the volume answers no id");
    v.write(0, ByteBuffer.wrap(random(40, 100)));
    v.flush();
    assertEquals(id, v.volumeId(), "the id must not change while open");
    Volume other = track(createVolume("other", SIZE));
    assertTrue(other.volumeId().isPresent(), "a backend that answers an id answers it for all");
    assertNotEquals(id, other.volumeId(), "another volume must answer another id");
  }

  @Test
  void volumeIdSurvivesCloseAndReopen() throws Exception {
    Volume v = createVolume("reopened", SIZE);
    Optional<String> id = v.volumeId();
    if (id.isEmpty() || !supportsReopen()) {
      v.close();
      Assumptions.abort(id.isEmpty() ? "the volume answers no id"
          : "the test cannot reopen this backend (override supportsReopen)");
    }
    v.write(0, ByteBuffer.wrap(random(41, 100)));
    v.flush();
    v.close();
    assertEquals(id, v.volumeId(), "the id must still answer after close");
    Volume again = track(reopen(v));
    assertEquals(id, again.volumeId(), "reopening the same store must give the same id");
  }

  @Test
  void closeIsIdempotentAndUseAfterCloseFails() throws Exception {
    Volume v = createVolume("closing", SIZE);
    v.close();
    v.close();
    assertThrows(AlreadyClosedException.class, () -> v.read(0, ByteBuffer.allocate(1)));
    assertThrows(AlreadyClosedException.class, () -> v.write(0, ByteBuffer.allocate(1)));
    assertThrows(AlreadyClosedException.class, () -> v.discard(0, 1));
    assertThrows(AlreadyClosedException.class, () -> v.allocated(0, 1));
    assertThrows(AlreadyClosedException.class, v::flush);
  }

  // ---- discard ----

  @Test
  void discardReadsZerosInsideAndNeverTouchesBytesOutside() throws Exception {
    Volume v = volume();
    byte[] all = random(30, (int) SIZE);
    v.write(0, ByteBuffer.wrap(all));
    long[][] ranges = {
        {10, 100},                             // inside one block
        {3L * TRACK, TRACK},                   // exactly one block
        {5L * TRACK - 7, 3L * TRACK + 20},     // partial, whole blocks, partial
        {9L * TRACK + 1, TRACK},               // across one boundary
        {2L * FREE_GRANULE, FREE_GRANULE},     // a large aligned span
        {SIZE - 1500, 1500},                   // through the partial last block to the end
    };
    for (long[] r : ranges) {
      v.discard(r[0], r[1]);
      for (int i = (int) r[0]; i < r[0] + r[1]; i++) {
        all[i] = 0;
      }
    }
    byte[] got = read(v, 0, (int) SIZE);
    for (int i = 0; i < SIZE; i++) {
      if (got[i] != all[i]) {
        fail("byte " + i + " is " + got[i] + ", expected " + all[i]
            + " after discarding " + java.util.Arrays.deepToString(ranges));
      }
    }
  }

  @Test
  void discardOfNeverWrittenOrEmptyRangesIsHarmless() throws Exception {
    Volume v = volume();
    v.discard(0, SIZE);
    v.discard(SIZE, 0);
    v.discard(17, 0);
    assertArrayEquals(new byte[3 * TRACK], read(v, TRACK, 3 * TRACK));
    byte[] data = random(31, TRACK);
    v.write(TRACK, ByteBuffer.wrap(data));
    assertArrayEquals(data, read(v, TRACK, TRACK), "a discarded range can be written again");
  }

  @Test
  void writeAfterDiscardOfTheSameBlocksReadsBack() throws Exception {
    Volume v = volume();
    v.write(0, ByteBuffer.wrap(random(32, 4 * TRACK)));
    v.discard(0, 4L * TRACK);
    byte[] data = random(33, 100);
    v.write(TRACK + 50, ByteBuffer.wrap(data));
    assertArrayEquals(data, read(v, TRACK + 50, 100));
    assertArrayEquals(new byte[TRACK + 50], read(v, 0, TRACK + 50));
  }

  @Test
  void concurrentDiscardsAndWritesOnDisjointRangesDoNotInterfere() throws Exception {
    Volume v = volume();
    byte[] base = random(34, 48 * TRACK);
    v.write(0, ByteBuffer.wrap(base));
    int threads = 4;
    int piece = 3 * TRACK / 2; // pieces share blocks with their neighbours
    int pieces = base.length / piece;
    inParallel(threads, id -> {
      for (int i = id; i < pieces; i += threads) {
        long off = (long) i * piece;
        if (i % 2 == 0) {
          v.discard(off, piece);
        } else {
          v.write(off, ByteBuffer.wrap(random(off, piece)));
        }
      }
    });
    for (int i = 0; i < pieces; i++) {
      long off = (long) i * piece;
      byte[] expected = i % 2 == 0 ? new byte[piece] : random(off, piece);
      assertArrayEquals(expected, read(v, off, piece), "piece " + i + " at " + off);
    }
  }

  // ---- allocated ----

  @Test
  void allocatedCoversEveryWrittenRangeAndStaysInsideTheQuestion() throws Exception {
    Volume v = volume();
    long[][] written = {{0, 1}, {TRACK - 3, 10}, {7L * TRACK + 100, 2 * TRACK}, {SIZE - 1, 1},
        {40L * TRACK + 5, 300}};
    for (long[] w : written) {
      v.write(w[0], ByteBuffer.wrap(random(w[0], (int) w[1])));
    }
    ExtentSet all = v.allocated(0, SIZE);
    for (long[] w : written) {
      assertTrue(all.encloses(ExtentSet.of(w[0], w[0] + w[1])),
          "allocated " + all + " must cover written [" + w[0] + ", " + (w[0] + w[1]) + ")");
    }
    ExtentSet part = v.allocated(TRACK, 10L * TRACK);
    assertTrue(ExtentSet.of(TRACK, 11L * TRACK).encloses(part),
        part + " reaches outside the range asked about");
    assertTrue(part.encloses(ExtentSet.of(TRACK, TRACK + 7)), part + " misses [4096, 4103)");
    assertTrue(v.allocated(5, 0).isEmpty(), "an empty range has nothing allocated");
  }

  @Test
  void everyRangeLeftOutOfAllocatedReadsAsZeros() throws Exception {
    Volume v = volume();
    Random r = new Random(35);
    for (int i = 0; i < 6; i++) {
      long off = (long) (r.nextDouble() * (SIZE - 3 * TRACK));
      v.write(off, ByteBuffer.wrap(random(off, 1 + r.nextInt(3 * TRACK))));
    }
    v.discard(20L * TRACK + 9, 5L * TRACK);
    ExtentSet holes = ExtentSet.of(0, SIZE).minus(v.allocated(0, SIZE));
    for (Extent hole : holes.extents()) {
      assertArrayEquals(new byte[(int) hole.length()], read(v, hole.start(), (int) hole.length()),
          "hole " + hole + " must read as zeros");
    }
  }

  @Test
  void neverWrittenThinVolumeHasNothingAllocated() throws Exception {
    Volume v = volume();
    Assumptions.assumeTrue(v.capabilities().thin(), "the volume is not thin");
    assertEquals(ExtentSet.empty(), v.allocated(0, SIZE));
  }

  @Test
  void thinDiscardOfWholeBlocksFreesThem() throws Exception {
    Volume v = volume();
    Assumptions.assumeTrue(v.capabilities().thin(), "the volume is not thin");
    v.write(0, ByteBuffer.wrap(random(36, (int) SIZE)));
    ExtentSet freed = ExtentSet.of(FREE_GRANULE, 3L * FREE_GRANULE);
    v.discard(FREE_GRANULE - 10, 2L * FREE_GRANULE + 20);
    ExtentSet after = v.allocated(0, SIZE);
    assertTrue(after.intersection(freed).isEmpty(), "discarded blocks " + freed
        + " are still reported allocated: " + after);
    assertTrue(after.encloses(ExtentSet.of(0, FREE_GRANULE - 10)), "data before the discard");
    assertTrue(after.encloses(ExtentSet.of(3L * FREE_GRANULE + 10, SIZE)), "data after it");
  }

  @Test
  void notThinVolumeCountsEverythingAllocatedAndDiscardStillZeros() throws Exception {
    Volume v = volume();
    Assumptions.assumeFalse(v.capabilities().thin(), "the volume is thin");
    assertEquals(ExtentSet.of(0, SIZE), v.allocated(0, SIZE));
    v.write(FREE_GRANULE, ByteBuffer.wrap(random(37, FREE_GRANULE)));
    v.discard(FREE_GRANULE, FREE_GRANULE);
    assertArrayEquals(new byte[FREE_GRANULE], read(v, FREE_GRANULE, FREE_GRANULE));
    assertEquals(ExtentSet.of(TRACK, 2L * TRACK), v.allocated(TRACK, TRACK));
  }

  @Test
  void outOfRangeDiscardAndAllocatedAreRefusedAndChangeNothing() throws Exception {
    Volume v = volume();
    byte[] tail = random(38, 100);
    v.write(SIZE - 100, ByteBuffer.wrap(tail));
    assertThrows(IndexOutOfBoundsException.class, () -> v.discard(SIZE - 50, 51));
    assertThrows(IndexOutOfBoundsException.class, () -> v.discard(-1, 2));
    assertThrows(IndexOutOfBoundsException.class, () -> v.discard(0, -1));
    assertThrows(IndexOutOfBoundsException.class, () -> v.discard(Long.MAX_VALUE, 2));
    assertArrayEquals(tail, read(v, SIZE - 100, 100), "a refused discard changes nothing");
    assertThrows(IndexOutOfBoundsException.class, () -> v.allocated(SIZE - 1, 2));
    assertThrows(IndexOutOfBoundsException.class, () -> v.allocated(-1, 1));
    assertThrows(IndexOutOfBoundsException.class, () -> v.allocated(0, -1));
    assertThrows(IndexOutOfBoundsException.class, () -> v.allocated(SIZE + 1, 0));
  }

  // ---- fencing ----

  @Test
  void fencedVolumeRefusesASecondWriter() throws Exception {
    Volume v = volume();
    Assumptions.assumeTrue(v.capabilities().fencing(), "the volume declares no fencing");
    byte[] data = random(39, 64);
    v.write(0, ByteBuffer.wrap(data));
    assertThrows(VolumeInUseException.class, () -> {
      Volume second;
      try {
        second = openSecondWriter(v);
      } catch (UnsupportedOperationException e) {
        throw new AssertionError("the volume declares fencing: override openSecondWriter", e);
      }
      track(second);
    });
    v.write(64, ByteBuffer.wrap(data));
    assertArrayEquals(data, read(v, 64, 64), "the first writer keeps working");
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
