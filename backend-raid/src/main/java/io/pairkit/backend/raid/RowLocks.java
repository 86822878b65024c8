package io.pairkit.backend.raid;

import java.util.Arrays;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The row locks of a RAID volume: a row's lock is stripe {@code row % STRIPES} of a fixed set, so
 * memory stays bounded whatever the size; a range takes its stripes in ascending order (every
 * holder does, so none deadlocks), a long range all of them.
 */
final class RowLocks {
  static final int STRIPES = 1024;
  private final ReentrantLock[] locks = new ReentrantLock[STRIPES];

  RowLocks() {
    for (int i = 0; i < STRIPES; i++) {
      locks[i] = new ReentrantLock();
    }
  }

  /** Locks the stripes of rows {@code [first, last]} in ascending stripe order. */
  int[] lock(long first, long last) {
    int[] stripes;
    if (last - first + 1 >= STRIPES) {
      stripes = new int[STRIPES];
      for (int i = 0; i < STRIPES; i++) {
        stripes[i] = i;
      }
    } else {
      stripes = new int[(int) (last - first + 1)];
      for (long r = first; r <= last; r++) {
        stripes[(int) (r - first)] = (int) (r % STRIPES);
      }
      Arrays.sort(stripes);
    }
    for (int s : stripes) {
      locks[s].lock();
    }
    return stripes;
  }

  /** Locks the stripes of rows {@code [first, last]} if all are free now; else null. */
  int[] tryLock(long first, long last) {
    int[] stripes = new int[(int) Math.min(STRIPES, last - first + 1)];
    for (long r = first; r <= last && r - first < STRIPES; r++) {
      stripes[(int) (r - first)] = (int) (r % STRIPES);
    }
    Arrays.sort(stripes);
    for (int i = 0; i < stripes.length; i++) {
      if (!locks[stripes[i]].tryLock()) {
        for (int j = i - 1; j >= 0; j--) {
          locks[stripes[j]].unlock();
        }
        return null;
      }
    }
    return stripes;
  }

  void unlock(int[] stripes) {
    for (int i = stripes.length - 1; i >= 0; i--) {
      locks[stripes[i]].unlock();
    }
  }
}
