/**
 * The engine's side of the backend SPI: {@link io.pairkit.core.internal.engine.volume.BackendVolume}
 * translates backend {@link java.io.IOException}s into typed errors once and retries transient
 * failures per its {@link io.pairkit.core.internal.engine.volume.RetryPolicy}. Internal to the engine: not
 * API, may change in any release.
 */
package io.pairkit.core.internal.engine.volume;
