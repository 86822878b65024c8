package io.pairkit.core.cache;

import static org.junit.jupiter.api.Assertions.fail;

import io.pairkit.api.ExtentSet;
import io.pairkit.api.HostVolume;
import io.pairkit.api.PairController;
import io.pairkit.api.PairState;
import io.pairkit.api.VolumePair;
import io.pairkit.api.spi.Volume;
import io.pairkit.testkit.ForwardingVolume;
import io.pairkit.testkit.MemoryVolume;
import io.pairkit.testkit.VolatileCacheVolume;
import io.pairkit.core.PairKit;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code flush()} through a controller with the write-back track cache is a durability barrier
 * down to the disks: the backends here are {@link VolatileCacheVolume}s, disks whose own volatile
 * write cache loses unflushed writes on a power cut. Destaging the track cache is not enough; the
 * backends must be flushed too, and these tests fail if they are not (a {@link MemoryVolume}
 * backend, as in {@link TrackCacheTest}, makes every completed write durable and cannot tell).
 */
@Timeout(60)
class FlushDurabilityTest {
  private static final int TS = 4096;
  private static final int SIZE = 64 * TS;
  /** Random histories use smaller volumes: each history builds a machine and copies it all. */
  private static final int HISTORY_TRACKS = 32;
  private static final int HISTORY_SIZE = HISTORY_TRACKS * TS;
  private static final Duration WAIT = Duration.ofSeconds(30);

  /** Two disks with volatile write caches, behind power switches, under one cached controller. */
  private static final class Machine implements AutoCloseable {
    final VolatileCacheVolume diskP;
    final VolatileCacheVolume diskS;
    final PowerSwitch switchP;
    final PowerSwitch switchS;
    final PairController pk;
    final HostVolume p;
    final HostVolume s;

    /**
     * Two disks of {@code size} bytes under a 16-slot cache: with two volumes of 32 tracks or
     * more, the destager runs while the history runs, not only at flush.
     */
    Machine(int size) {
      diskP = new VolatileCacheVolume(new MemoryVolume("p", size));
      diskS = new VolatileCacheVolume(new MemoryVolume("s", size));
      switchP = new PowerSwitch(diskP);
      switchS = new PowerSwitch(diskS);
      pk = PairKit.builder().trackSize(TS)
          .trackCache(TrackCacheConfig.defaults().withCapacity(16 * TS)).build();
      p = pk.attachVolume(switchP);
      s = pk.attachVolume(switchS);
    }

    /**
     * Power fails: no more I/O reaches the disks (I/O in flight finishes first), the disks lose
     * unflushed blocks as {@code random} says, and the disks come back with what survived.
     */
    byte[][] powerCutAndReopen(Random random) throws Exception {
      pk.pauseBackgroundCopies(); // the machine stops; only what reached the disks matters
      switchP.cut();
      switchS.cut();
      diskP.powerCut(random);
      diskS.powerCut(random);
      byte[][] images = {readAll(diskP.reopen()), readAll(diskS.reopen())};
      close(); // its flush goes nowhere now: the switches are off
      return images;
    }

    @Override
    public void close() {
      pk.close();
    }
  }

  @Test
  void flushMakesEveryEarlierWriteAndCopySurviveAPowerCut() throws Exception {
    try (Machine m = new Machine(SIZE)) {
      m.p.write(0, random(1, SIZE));
      VolumePair pair = m.pk.createVolumePair("durable", m.p, m.s);
      pair.initialCopy().await(WAIT);
      m.p.write(10 * TS + 7, random(2, 3 * TS)); // mirrored
      pair.mirrorDrained().get(30, TimeUnit.SECONDS);
      pair.split().await(WAIT);
      m.p.write(20 * TS - 100, random(3, 5 * TS)); // after the split: the secondary keeps its image
      m.s.write(40 * TS + 1, random(4, 2 * TS)); // the split secondary is writable
      pair.extentUpdate(ExtentSet.of(20 * TS, 22 * TS)).await(WAIT);
      byte[] expectedP = m.p.read(0, SIZE);
      byte[] expectedS = m.s.read(0, SIZE);
      m.pk.flush();

      byte[][] after = m.powerCutAndReopen(new Random(5));

      assertImageEquals(expectedP, after[0], "primary");
      assertImageEquals(expectedS, after[1], "secondary (initial copy, mirror, split, update)");
    }
  }

  @Test
  void hostVolumeFlushMakesThatVolumesEarlierWritesSurviveAPowerCut() throws Exception {
    try (Machine m = new Machine(SIZE)) {
      byte[] data = random(6, 40 * TS + 123);
      m.p.write(TS - 5, data);
      m.p.flush();
      m.p.write(50 * TS, random(7, 3 * TS)); // after the flush: may be lost

      byte[][] after = m.powerCutAndReopen(new Random(8));

      assertImageEquals(data, Arrays.copyOfRange(after[0], TS - 5, TS - 5 + data.length),
          "bytes written before HostVolume.flush()");
    }
  }

  /**
   * Random histories of host writes, flushes, mirror drains, splits and resyncs over a volume
   * pair, each ended by a power cut that keeps a random half of the disks' unflushed blocks.
   * Every byte written (by the host, or by a completed copy) before the last completed flush and
   * not overwritten since must read as it did at that flush.
   */
  @Test
  void everyWriteAcknowledgedBeforeTheLastFlushSurvivesAPowerCut() throws Exception {
    for (long seed = 0; seed < 200; seed++) {
      randomHistory(seed);
    }
  }

  @Test
  @Tag("slow")
  @Timeout(600)
  void everyWriteAcknowledgedBeforeTheLastFlushSurvivesAPowerCut_manyHistories()
      throws Exception {
    for (long seed = 1000; seed < 3000; seed++) {
      randomHistory(seed);
    }
  }

  private static void randomHistory(long seed) throws Exception {
    try (Machine m = new Machine(HISTORY_SIZE)) {
      randomHistory(seed, m);
    }
  }

  private static void randomHistory(long seed, Machine m) throws Exception {
    Random random = new Random(seed);
    String context = "seed " + seed;
    // The model: what the host reads now, what it read at the last flush, and which bytes have
    // been left alone since (on the secondary also: which bytes a mirror copy may still change).
    byte[] p = new byte[HISTORY_SIZE];
    for (int t = 0; t < HISTORY_TRACKS; t += 1 + random.nextInt(4)) { // some never written
      byte[] data = random(random.nextLong(), TS);
      m.p.write((long) t * TS, data);
      System.arraycopy(data, 0, p, t * TS, TS);
    }
    VolumePair pair = m.pk.createVolumePair("h", m.p, m.s);
    pair.initialCopy().await(WAIT);
    pair.mirrorDrained().get(30, TimeUnit.SECONDS);
    byte[] s = p.clone();
    boolean[] sSettled = filled(true, HISTORY_SIZE); // S holds s: no copy can still change it
    byte[] pFlushed = null;
    byte[] sFlushed = null;
    boolean[] pCheck = filled(false, HISTORY_SIZE);
    boolean[] sCheck = filled(false, HISTORY_SIZE);
    StringBuilder ops = new StringBuilder();
    int count = 1 + random.nextInt(24);
    for (int op = 0; op < count; op++) {
      int kind = random.nextInt(10);
      if (kind < 5) { // a host write to the primary
        int length = 1 + random.nextInt(2 * TS);
        int offset = random.nextInt(HISTORY_SIZE - length + 1);
        byte[] data = random(random.nextLong(), length);
        m.p.write(offset, data);
        System.arraycopy(data, 0, p, offset, length);
        Arrays.fill(pCheck, offset, offset + length, false);
        if (pair.state() == PairState.FORMED) { // mirrored: a copy may change S's whole tracks
          int from = offset / TS * TS;
          int to = Math.min(HISTORY_SIZE, (offset + length + TS - 1) / TS * TS);
          Arrays.fill(sSettled, from, to, false);
          Arrays.fill(sCheck, from, to, false);
        }
        ops.append(" P[").append(offset).append(",+").append(length).append(')');
      } else if (kind == 5 && pair.state() == PairState.SPLIT) { // a host write to the secondary
        int length = 1 + random.nextInt(2 * TS);
        int offset = random.nextInt(HISTORY_SIZE - length + 1);
        byte[] data = random(random.nextLong(), length);
        m.s.write(offset, data);
        System.arraycopy(data, 0, s, offset, length);
        Arrays.fill(sCheck, offset, offset + length, false);
        ops.append(" S[").append(offset).append(",+").append(length).append(')');
      } else if (kind <= 7) { // a flush, of the controller or of each volume
        if (random.nextBoolean()) {
          m.pk.flush();
          ops.append(" flush");
        } else {
          m.p.flush();
          m.s.flush();
          ops.append(" flushP,S");
        }
        // What the host reads must be the model, else a failure below is not about durability.
        assertReadsAsModelled(m.p, p, null, context + " primary at a flush" + ops);
        assertReadsAsModelled(m.s, s, sSettled, context + " secondary at a flush" + ops);
        pFlushed = p.clone();
        sFlushed = s.clone();
        Arrays.fill(pCheck, true);
        sCheck = sSettled.clone();
      } else if (kind == 8) { // let the pair's copies finish: S is known again
        if (pair.state() == PairState.FORMED) {
          pair.mirrorDrained().get(30, TimeUnit.SECONDS);
          s = p.clone();
          ops.append(" drained");
          assertReadsAsModelled(m.s, s, null, context + " secondary after a drain" + ops);
        } else {
          // The resync copies the tracks written since the split onto S: not flushed yet.
          for (int t = 0; t < HISTORY_TRACKS; t++) {
            if (Arrays.mismatch(p, t * TS, (t + 1) * TS, s, t * TS, (t + 1) * TS) >= 0) {
              Arrays.fill(sCheck, t * TS, (t + 1) * TS, false);
            }
          }
          pair.resync().await(WAIT);
          pair.mirrorDrained().get(30, TimeUnit.SECONDS);
          s = p.clone();
          ops.append(" resynced");
        }
        Arrays.fill(sSettled, true);
      } else if (pair.state() == PairState.FORMED) { // a split, copied before going on
        pair.split().await(WAIT);
        s = p.clone();
        Arrays.fill(sSettled, true);
        ops.append(" split");
      }
    }
    byte[][] after = m.powerCutAndReopen(random);
    if (pFlushed != null) {
      assertSurvived(pFlushed, pCheck, after[0], context + " primary; history:" + ops);
      assertSurvived(sFlushed, sCheck, after[1], context + " secondary; history:" + ops);
    }
  }

  /** The host reads {@code model} (where {@code where}, or everywhere if null). */
  private static void assertReadsAsModelled(HostVolume v, byte[] model, boolean[] where,
      String what) {
    byte[] got = v.read(0, model.length);
    for (int i = 0; i < model.length; i++) {
      if ((where == null || where[i]) && got[i] != model[i]) {
        throw new AssertionError(what + ": byte " + i + " (track " + i / TS + ") reads "
            + got[i] + " through the host, the model says " + model[i]);
      }
    }
  }

  private static void assertSurvived(byte[] flushed, boolean[] check, byte[] disk, String what) {
    for (int i = 0; i < disk.length; i++) {
      if (check[i] && flushed[i] != disk[i]) {
        throw new AssertionError(what + ": byte " + i + " (track " + i / TS + ") was flushed "
            + "as " + flushed[i] + " but reads " + disk[i] + " after the power cut");
      }
    }
  }

  private static void assertImageEquals(byte[] expected, byte[] actual, String what) {
    int i = Arrays.mismatch(expected, actual);
    if (i >= 0) {
      fail(what + ": byte " + i + " (track " + i / TS + ") was written before the flush as "
          + expected[i] + " but reads " + actual[i] + " after the power cut; was the backend "
          + "flushed?");
    }
  }

  private static boolean[] filled(boolean value, int length) {
    boolean[] b = new boolean[length];
    Arrays.fill(b, value);
    return b;
  }

  private static byte[] random(long seed, int length) {
    byte[] b = new byte[length];
    new Random(seed).nextBytes(b);
    return b;
  }

  private static byte[] readAll(Volume v) throws IOException {
    try (v) {
      ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(v.size()));
      v.read(0, b);
      return b.array();
    }
  }

  /**
   * The power supply of one disk. Once {@link #cut()}, nothing reaches the disk any more: reads
   * fail, and writes, discards and flushes vanish as if the machine went on without noticing
   * (so that closing the controller afterwards is quiet). I/O in flight at the cut finishes
   * first, so the disk's own power cut sees no I/O in flight.
   */
  private static final class PowerSwitch extends ForwardingVolume {
    private final ReentrantReadWriteLock inFlight = new ReentrantReadWriteLock();
    private volatile boolean off;

    PowerSwitch(Volume disk) {
      super(disk);
    }

    void cut() {
      inFlight.writeLock().lock();
      off = true;
      inFlight.writeLock().unlock();
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
      inFlight.readLock().lock();
      try {
        if (off) {
          throw new IOException("volume '" + name() + "': the power is off");
        }
        super.read(offset, dst);
      } finally {
        inFlight.readLock().unlock();
      }
    }

    @Override
    public void write(long offset, ByteBuffer src) throws IOException {
      inFlight.readLock().lock();
      try {
        if (off) {
          src.position(src.limit());
          return;
        }
        super.write(offset, src);
      } finally {
        inFlight.readLock().unlock();
      }
    }

    @Override
    public void discard(long offset, long length) throws IOException {
      inFlight.readLock().lock();
      try {
        if (!off) {
          super.discard(offset, length);
        }
      } finally {
        inFlight.readLock().unlock();
      }
    }

    @Override
    public ExtentSet allocated(long offset, long length) throws IOException {
      inFlight.readLock().lock();
      try {
        if (off) {
          throw new IOException("volume '" + name() + "': the power is off");
        }
        return super.allocated(offset, length);
      } finally {
        inFlight.readLock().unlock();
      }
    }

    @Override
    public void flush() throws IOException {
      inFlight.readLock().lock();
      try {
        if (!off) {
          super.flush();
        }
      } finally {
        inFlight.readLock().unlock();
      }
    }

    @Override
    public void close() throws IOException {
      if (!off) {
        super.close();
      }
    }
  }
}
