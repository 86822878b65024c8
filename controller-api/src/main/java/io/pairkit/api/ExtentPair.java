package io.pairkit.api;

/**
 * Embodiment 2: a pair that covers only some extents of the volumes (say, the area of one file).
 * Host writes outside the extents do not concern the pair, and the engine never writes the
 * secondary outside them. Differences are tracked after split too, so resync copies only them.
 */
public interface ExtentPair extends Pair {

  /** Freezes the pair's extents at this instant. Allowed in FORMING and FORMED. */
  CopyRequest split();

  /** Unfreezes and copies the differences; back to FORMED. Allowed in SPLIT. */
  CopyRequest resync();
}
