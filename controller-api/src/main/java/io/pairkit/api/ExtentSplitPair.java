package io.pairkit.api;

/**
 * Embodiment 3: a whole-volume pair from which single extents are split (frozen at an instant)
 * and later joined back, while the rest of the volume stays mirrored.
 *
 * <pre>
 * FORMED --extentSplit(E)--> EXTENT_SPLITTING --(drained)--> EXTENT_SPLIT
 * EXTENT_SPLIT --extentJoin(E)--> EXTENT_JOINING --(drained)--> FORMED (or EXTENT_SPLIT if other
 * extents stay split)
 * </pre>
 */
public interface ExtentSplitPair extends Pair {

  /**
   * Freezes {@code extents} (rounded out to tracks) at this instant. Allowed in FORMING, FORMED,
   * EXTENT_SPLITTING, EXTENT_SPLIT and EXTENT_JOINING, as long as the extents do not overlap
   * extents already split.
   */
  CopyRequest extentSplit(ExtentSet extents);

  /**
   * Joins split extents back into the mirror, copying what changed on either side since the split.
   * {@code extents} must lie within {@link #splitExtents()}.
   */
  CopyRequest extentJoin(ExtentSet extents);
}
