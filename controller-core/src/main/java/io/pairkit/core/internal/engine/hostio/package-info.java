/**
 * The pair logic on the host I/O path: {@link io.pairkit.core.internal.engine.hostio.PrimaryWriteRule}
 * (difference bits and <b>copy-on-write</b> for every host write to a primary) and
 * {@link io.pairkit.core.internal.engine.hostio.SecondaryIo} (reads of a secondary redirected to the
 * primary for frozen tracks not yet copied; writes refused on mirrored tracks, base copies and
 * change tracking on split ones). Internal to the engine: not API, may change in any release.
 */
package io.pairkit.core.internal.engine.hostio;
