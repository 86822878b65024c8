package io.pairkit.core.engine.bitmap;

import org.roaringbitmap.longlong.Roaring64Bitmap;

/**
 * Told of every bitmap transition, under the bitmaps' monitor, after it was applied. Must be quick
 * and must not call back into the bitmaps. The durable-metadata journal implements it; until then
 * {@link #NONE} is used.
 */
@FunctionalInterface
public interface BitmapJournal {
  /** Does nothing. */
  BitmapJournal NONE = (transition, tracks) -> { };

  /**
   * @param transition what happened
   * @param tracks     the tracks it was applied to (do not modify; copy to keep)
   */
  void record(Transition transition, Roaring64Bitmap tracks);
}
