package io.pairkit.core.internal.engine.track;

import com.google.common.util.concurrent.Striped;
import java.util.concurrent.locks.Lock;

/**
 * Striped per-track locks of one primary volume: host writes, copy-on-write, redirected reads of
 * its secondaries and background copies all take the locks of the tracks they touch, in
 * ascending stripe order, so no two holders deadlock. Track {@code t} maps to stripe
 * {@code t mod 4096}: consecutive tracks get distinct stripes, and a range of 4096 tracks or more
 * takes every stripe (that is how a copy run over a large hole locks it).
 *
 * <p>Threading: thread-safe; {@link Held#close()} must be called by the thread that locked.
 */
public final class TrackLocks {
  private static final int STRIPES = 4096;
  private static final int MASK = STRIPES - 1;

  private final Striped<Lock> stripes = Striped.lock(STRIPES);

  /** Locks tracks {@code [first, end)}; close the result to unlock. */
  public Held lock(long first, long end) {
    long n = end - first;
    if (n == 1) { // the common case
      Lock only = stripes.getAt((int) (first & MASK));
      only.lock();
      return new Held(new Lock[] {only});
    }
    Lock[] locks;
    if (n >= STRIPES) {
      locks = new Lock[STRIPES];
      for (int i = 0; i < STRIPES; i++) {
        locks[i] = stripes.getAt(i);
      }
    } else {
      // The range's stripes are one or two ascending runs of indexes (it may wrap past 4095).
      int from = (int) (first & MASK);
      locks = new Lock[(int) n];
      int k = 0;
      int wrapped = (int) Math.max(0, from + n - STRIPES);
      for (int i = 0; i < wrapped; i++) {
        locks[k++] = stripes.getAt(i);
      }
      for (int i = from; k < n; i++) {
        locks[k++] = stripes.getAt(i);
      }
    }
    for (Lock l : locks) {
      l.lock();
    }
    return new Held(locks);
  }

  /**
   * Locks every track of {@code tracks} (any set, in the one global order: ascending stripe);
   * close the result to unlock.
   */
  public Held lockTracks(org.roaringbitmap.longlong.Roaring64Bitmap tracks) {
    java.util.TreeSet<Integer> indexes = new java.util.TreeSet<>();
    tracks.forEach(t -> indexes.add((int) (t & MASK)));
    Lock[] locks = new Lock[indexes.size()];
    int k = 0;
    for (int i : indexes) {
      locks[k++] = stripes.getAt(i);
    }
    for (Lock l : locks) {
      l.lock();
    }
    return new Held(locks);
  }

  /** Locks held by one caller; {@link #close()} releases them in reverse order. */
  public static final class Held implements AutoCloseable {
    private final Lock[] locks;

    private Held(Lock[] locks) {
      this.locks = locks;
    }

    @Override
    public void close() {
      for (int i = locks.length - 1; i >= 0; i--) {
        locks[i].unlock();
      }
    }
  }
}
