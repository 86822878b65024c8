package io.pairkit.api;

/**
 * Embodiment 1: a whole-volume pair with split and extent update.
 *
 * <pre>
 * FORMING --(initial copy done)--> FORMED --split()--> SPLITTING --(drained)--> SPLIT
 *    SPLIT --extentUpdate(E)--> SPLIT (E now equals the primary at the update instant)
 *    SPLIT --resync()--> RESYNCING --(drained)--> FORMED
 * </pre>
 */
public interface VolumePair extends Pair {

  /**
   * Freezes the secondary as the image of the primary at this instant. Allowed in FORMING and
   * FORMED. The secondary reads as that image immediately; the future completes when the copy is
   * done.
   */
  CopyRequest split();

  /**
   * Brings only {@code extents} of the secondary to the primary's data at this instant; the rest of
   * the secondary keeps its split image. Copies only tracks changed (on either side) since their
   * last freeze or update. Allowed in SPLIT; several may run at once.
   */
  CopyRequest extentUpdate(ExtentSet extents);

  /** Unfreezes the whole volume and copies the differences; back to FORMED. Allowed in SPLIT. */
  CopyRequest resync();
}
