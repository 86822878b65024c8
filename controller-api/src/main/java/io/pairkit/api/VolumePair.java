package io.pairkit.api;

/**
 * Embodiment 1: a whole-volume pair with split and extent update.
 *
 * <pre>
 * FORMING --(initial copy done)--> FORMED --split()--> SPLITTING --(drained)--> SPLIT
 *    SPLIT --extentUpdate(E)--> SPLIT (E now equals the primary at the update instant)
 *    SPLIT --resync()--> RESYNCING --(drained)--> FORMED
 * </pre>
 *
 * <p>Threading, refusals, deleted pairs and use after close: as {@link Pair}. Every request below
 * changes nothing when it throws.
 */
public interface VolumePair extends Pair {

  /**
   * Freezes the secondary as the image of the primary at this instant. Allowed in FORMING and
   * FORMED. The secondary reads as that image immediately (tracks not yet copied are read from the
   * primary); the future completes when the copy is done.
   *
   * @throws io.pairkit.api.error.PairStateException in any other state
   * @throws io.pairkit.api.error.AlreadyClosedException if the controller is closed
   */
  CopyRequest split();

  /**
   * Brings only {@code extents} of the secondary to the primary's data at this instant; the rest of
   * the secondary keeps its split image. Copies only tracks changed (on either side) since their
   * last freeze or update; a host write to such a track before it is copied copies it first. The
   * tracks stay split. Exact: no byte outside {@code extents} changes on the secondary; a track
   * they cover only in part gets its covered bytes at the instant and stays marked changed.
   * Allowed in SPLIT (not SPLITTING); several may run at once.
   *
   * @throws io.pairkit.api.error.InvalidExtentException if {@code extents} is null or empty
   * @throws io.pairkit.api.error.ExtentOutOfRangeException if they reach past the end of the volume
   * @throws io.pairkit.api.error.PairStateException if the pair is not SPLIT
   * @throws io.pairkit.api.error.AlreadyClosedException if the controller is closed
   */
  CopyRequest extentUpdate(ExtentSet extents);

  /**
   * Unfreezes the whole volume and copies the differences (tracks changed on either side since
   * the split); back to FORMED when done. Allowed in SPLIT.
   *
   * @throws io.pairkit.api.error.PairStateException if the pair is not SPLIT
   * @throws io.pairkit.api.error.AlreadyClosedException if the controller is closed
   */
  CopyRequest resync();
}
