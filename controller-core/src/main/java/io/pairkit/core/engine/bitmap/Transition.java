package io.pairkit.core.engine.bitmap;

/**
 * The named changes of a pair's difference bitmaps (DESIGN.md section 4). Every change goes
 * through one of them, in {@link TrackBitmaps}, and is reported to its {@link BitmapJournal}: the
 * hook where durable metadata records each change before the data it guards moves.
 */
public enum Transition {
  /** create: the tracks of the scope are pending. */
  PEND,
  /** A host write to the primary: mirrored tracks pending, frozen tracks changed. */
  PRIMARY_WRITTEN,
  /** A host write to split tracks of the secondary: changed. */
  SECONDARY_WRITTEN,
  /** A copy put the tracks on the secondary: pending cleared. */
  COPIED,
  /** split: the tracks are frozen at this instant. */
  FREEZE,
  /** extent update: changed tracks of the region become pending again. */
  UPDATE,
  /** join / resync: the region is mirrored again, its changed tracks pending. */
  JOIN
}
