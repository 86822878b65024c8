package io.pairkit.api;

/**
 * Progress of one request's background copy. Immutable; {@link CopyRequest#progress()} takes it
 * atomically.
 *
 * @param tracksToCopy tracks that needed a copy at the request instant (set bits in its region)
 * @param tracksDone   of those, how many no longer need one (copied by this request, by a
 *                     copy-on-write, or by another request, or skipped as a hole of a thin
 *                     primary)
 * @param tracksCopied tracks this request's job itself copied (skipped holes not counted)
 * @param bytesCopied  bytes this request's job itself copied
 */
public record CopyProgress(long tracksToCopy, long tracksDone, long tracksCopied, long bytesCopied) {

  /** Fraction done, 0..1; 1 when there was nothing to copy. */
  public double fraction() {
    return tracksToCopy == 0 ? 1.0 : (double) tracksDone / tracksToCopy;
  }

  @Override
  public String toString() {
    return tracksDone + "/" + tracksToCopy + " tracks (" + tracksCopied + " copied, " + bytesCopied
        + " bytes)";
  }
}
