package io.pairkit.api;

/**
 * Embodiment 3: a whole-volume pair from which single extents are split (frozen at an instant)
 * and later joined back, while the rest of the volume stays mirrored.
 *
 * <pre>
 * FORMING/FORMED --extentSplit(E)--> EXTENT_SPLITTING --(drained)--> EXTENT_SPLIT
 * EXTENT_SPLIT --extentJoin(E)--> EXTENT_JOINING --(drained)--> FORMED (or EXTENT_SPLIT if other
 * extents stay split)
 * </pre>
 *
 * <p>Threading, refusals, deleted pairs and use after close: as {@link Pair}. Every request below
 * changes nothing when it throws.
 */
public interface ExtentSplitPair extends Pair {

  /**
   * Freezes exactly {@code extents} at this instant: the secondary keeps their bytes as they
   * are now, while every other byte stays mirrored. The tracks they touch are split (copy-on-write
   * and difference bits work per track); in a track they cover only in part, host writes to the
   * other bytes go through to the secondary whatever the mirror mode, and the secondary refuses
   * writes there. Allowed in FORMING, FORMED, EXTENT_SPLITTING, EXTENT_SPLIT and EXTENT_JOINING,
   * as long as the extents do not touch a track already split.
   *
   * @throws io.pairkit.api.error.InvalidExtentException if {@code extents} is null or empty
   * @throws io.pairkit.api.error.ExtentOutOfRangeException if they reach past the end of the volume
   * @throws io.pairkit.api.error.PairStateException if they overlap split tracks, or the pair is
   *     SUSPENDED or DELETED
   * @throws io.pairkit.api.error.AlreadyClosedException if the controller is closed
   */
  CopyRequest extentSplit(ExtentSet extents);

  /**
   * Joins split extents back into the mirror, copying what changed on either side since the split.
   * Exact: a split track {@code extents} cover only in part stays split, and only its covered
   * bytes are copied (at the instant); no other byte of the secondary changes.
   * {@code extents} must lie within {@link #splitExtents()} (every track they touch is split).
   *
   * @throws io.pairkit.api.error.InvalidExtentException if {@code extents} is null or empty
   * @throws io.pairkit.api.error.ExtentOutOfRangeException if they reach past the end of the volume
   * @throws io.pairkit.api.error.PairStateException if they touch a track that is not split, or the
   *     pair is SUSPENDED or DELETED
   * @throws io.pairkit.api.error.AlreadyClosedException if the controller is closed
   */
  CopyRequest extentJoin(ExtentSet extents);

  /**
   * The bytes currently split: exactly those the extent splits named, less those joined (a
   * snapshot). The tracks they touch are the split tracks ({@link #trackStates}).
   */
  @Override
  ExtentSet splitExtents();
}
