/**
 * Test volumes shipped in the controller-api test-jar: {@link io.pairkit.api.testing.MemoryVolume}
 * (a volume in heap memory) and {@link io.pairkit.api.testing.FaultyVolume} (a wrapper that injects
 * backend errors on demand). Used by the engine's tests and available to backend authors.
 */
package io.pairkit.api.testing;
