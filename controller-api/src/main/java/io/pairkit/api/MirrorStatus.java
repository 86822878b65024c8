package io.pairkit.api;

/**
 * How a pair mirrors now. Immutable.
 *
 * @param configured what the pair was told ({@link MirrorMode#AUTOMATIC} or a fixed mode)
 * @param effective  what it does now: {@link MirrorMode#SYNCHRONOUS} or
 *                   {@link MirrorMode#ASYNCHRONOUS}, never AUTOMATIC
 * @param reason     why {@code effective} is what it is, in words: what AUTOMATIC chose and why,
 *                   or why a synchronous pair runs asynchronously for now (a failed secondary
 *                   write) and when it returns; null when the configured mode is in force
 */
public record MirrorStatus(MirrorMode configured, MirrorMode effective, String reason) {

  /** Whether the pair runs asynchronously although it should run synchronously. */
  public boolean degraded() {
    return effective == MirrorMode.ASYNCHRONOUS && configured != MirrorMode.ASYNCHRONOUS
        && reason != null && reason.startsWith("degraded");
  }
}
