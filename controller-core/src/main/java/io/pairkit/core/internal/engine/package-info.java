/**
 * The pair engine (docs/DESIGN.md section 4): one pair model under three strategy faces. Only
 * {@link io.pairkit.core.internal.engine.DefaultPairController} is public (and built by
 * {@code PairKit.builder()}); everything else here is package-private.
 *
 * <ul>
 *   <li>{@code DefaultPairController} — the volume registry and the pair table.</li>
 *   <li>{@code ManagedVolume} — the host I/O path of one volume: its barrier and track locks, and
 *       the dispatch of host I/O to the pairs' rules.</li>
 *   <li>{@code AbstractPair} — the thin facade of one pair over its collaborators;
 *       {@code VolumePairImpl}, {@code ExtentPairImpl} and {@code ExtentSplitPairImpl} are the
 *       three strategies: which requests each offers, in which states.</li>
 *   <li>{@code RequestAdmission} — request instants and delete; {@code PairLifecycle} — the
 *       facts a pair's state is derived from, and its listeners.</li>
 * </ul>
 * Sub-packages, by mechanism: {@code track} (track arithmetic, track locks), {@code bitmap} (the
 * difference bitmaps and their transitions), {@code volume} (backend calls, errors, retries),
 * {@code copy} (copy engine, request jobs, mirror, fair scheduler, pacing), {@code hostio} (the
 * primary write rule with copy-on-write, and secondary I/O).
 *
 * <p>Locking, outermost first: a volume's <em>barrier</em> (host I/O takes it shared, a request
 * instant takes it exclusive on the primary, then the secondary); a pair's life cycle monitor;
 * the primary's striped per-track locks (ascending); the bitmaps' monitor, held only for bitmap
 * updates and never across I/O. Background copies take only the track locks of the run they copy
 * (at most the volumes' preferred I/O size), so a host write waits at most for one copy run.
 */
package io.pairkit.core.internal.engine;
