/**
 * The public face of PairKit: the controller, volume pairs under their three strategies, and the
 * value types they are driven with.
 *
 * <p>A host program obtains a {@link io.pairkit.api.PairController} (from {@code controller-core}),
 * opens volumes through it as {@link io.pairkit.api.HostVolume host volumes} (every host read and
 * write must go through these so the pair logic sees it), and creates pairs:
 * <ul>
 *   <li>{@link io.pairkit.api.VolumePair} — whole-volume pair with split and <em>extent update</em>
 *       (patent embodiment 1);</li>
 *   <li>{@link io.pairkit.api.ExtentPair} — a pair that covers only some extents (embodiment 2);</li>
 *   <li>{@link io.pairkit.api.ExtentSplitPair} — whole-volume pair whose extents are split and
 *       joined one data set at a time (embodiment 3).</li>
 * </ul>
 * Each request returns a {@link io.pairkit.api.CopyRequest} whose future completes when its copy
 * is done. {@link io.pairkit.api.Pair#stats()}, {@link io.pairkit.api.Pair#trackStates} and
 * {@link io.pairkit.api.PairListener}s let monitors watch the pairs. Controllers, volumes and
 * pairs are thread-safe; the value types ({@link io.pairkit.api.Extent},
 * {@link io.pairkit.api.ExtentSet}, the stats records) are immutable. Every error is an unchecked
 * {@link io.pairkit.api.error.PairKitException} subtype, and a refused call changes nothing.
 */
package io.pairkit.api;
