/**
 * Tracks, the engine's tracking and copy unit: {@link io.pairkit.core.internal.engine.track.TrackGeometry}
 * (the one place byte offsets become track numbers) and
 * {@link io.pairkit.core.internal.engine.track.TrackLocks} (a primary's striped per-track locks). Internal
 * to the engine: not API, may change in any release.
 */
package io.pairkit.core.internal.engine.track;
