/**
 * A pair's difference bitmaps: {@link io.pairkit.core.internal.engine.bitmap.TrackBitmaps} holds
 * {@code pending} (split into the mirror's backlog and the frozen tracks still to copy),
 * {@code changed} and {@code frozen}, and is the only place they change, through the named
 * {@link io.pairkit.core.internal.engine.bitmap.Transition}s, each reported to a
 * {@link io.pairkit.core.internal.engine.bitmap.BitmapJournal} (the durable metadata's hook). Internal to
 * the engine: not API, may change in any release.
 */
package io.pairkit.core.internal.engine.bitmap;
