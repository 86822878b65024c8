/**
 * The pair engine (DESIGN.md section 4): one pair model under three strategy faces.
 *
 * <ul>
 *   <li>{@link io.pairkit.core.engine.ManagedVolume} — the host I/O path: every host write to a
 *       primary runs the pair write rule (difference bits, <b>copy-on-write</b> of frozen tracks not
 *       yet copied); reads of a secondary's not-yet-copied frozen tracks are served from the
 *       primary; writes to a secondary are tracked or refused.</li>
 *   <li>{@link io.pairkit.core.engine.PairModel} — per pair: the {@code pending}, {@code changed}
 *       and {@code frozen} bitmaps, the request instants, the derived state and the mirror.</li>
 *   <li>{@link io.pairkit.core.engine.CopyJob} — a request's background copy.</li>
 *   <li>{@link io.pairkit.core.engine.VolumePairImpl}, {@link io.pairkit.core.engine.ExtentPairImpl},
 *       {@link io.pairkit.core.engine.ExtentSplitPairImpl} — the three strategies: which requests
 *       each offers and in which states.</li>
 * </ul>
 *
 * <p>Locking, outermost first: a volume's <em>barrier</em> (host I/O takes it shared, a request
 * instant takes it exclusive on the primary, then the secondary); the primary's striped per-track
 * locks (taken in ascending stripe order); a pair's model monitor, held only for bitmap updates and
 * never across I/O. Background copies take only the per-track lock of the track they copy, so a
 * host write waits at most for one track copy.
 */
package io.pairkit.core.engine;
