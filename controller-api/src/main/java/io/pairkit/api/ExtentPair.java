package io.pairkit.api;

/**
 * Embodiment 2: a pair that covers only some extents of the volumes (say, the area of one file).
 * Host writes outside the extents do not concern the pair, and the engine never writes the
 * secondary outside them. Differences are tracked after split too, so resync copies only them.
 *
 * <pre>
 * FORMING --(initial copy done)--> FORMED --split()--> SPLITTING --(drained)--> SPLIT
 *    SPLIT --resync()--> RESYNCING --(drained)--> FORMED
 * </pre>
 *
 * <p>Threading, refusals, deleted pairs and use after close: as {@link Pair}. Every request below
 * changes nothing when it throws.
 */
public interface ExtentPair extends Pair {

  /**
   * Freezes the pair's extents at this instant. Allowed in FORMING and FORMED.
   *
   * @throws io.pairkit.api.error.PairStateException in any other state
   * @throws io.pairkit.api.error.AlreadyClosedException if the controller is closed
   */
  CopyRequest split();

  /**
   * Unfreezes the extents and copies the differences; back to FORMED when done. Allowed in SPLIT.
   *
   * @throws io.pairkit.api.error.PairStateException if the pair is not SPLIT
   * @throws io.pairkit.api.error.AlreadyClosedException if the controller is closed
   */
  CopyRequest resync();
}
