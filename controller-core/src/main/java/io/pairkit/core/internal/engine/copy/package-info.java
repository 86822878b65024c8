/**
 * Background copying, shared by every pair of a controller.
 *
 * <ul>
 *   <li>{@link io.pairkit.core.internal.engine.copy.PairCopier} — the copy engine of one pair: moves
 *       tracks primary to secondary in coalesced runs, clipped to the pair's scope, skipping holes
 *       of a thin primary; used by jobs, the mirror, copy-on-write and secondary base copies.</li>
 *   <li>{@link io.pairkit.core.internal.engine.copy.CopyJob} — a request's copy (the
 *       {@link io.pairkit.api.CopyRequest} the host waits on).</li>
 *   <li>{@link io.pairkit.core.internal.engine.copy.Mirror} — a pair's asynchronous mirror.</li>
 *   <li>{@link io.pairkit.core.internal.engine.copy.CopyScheduler} — the workers, fair: request jobs
 *       before mirror work, one run at a time.</li>
 *   <li>{@link io.pairkit.core.internal.engine.copy.Pacer} — pause, copy rate, tracks in flight.</li>
 * </ul>
 * Internal to the engine: not API, may change in any release.
 */
package io.pairkit.core.internal.engine.copy;
