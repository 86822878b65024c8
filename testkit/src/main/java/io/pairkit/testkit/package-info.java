/**
 * Test volumes shipped in {@code pairkit-testkit}, for the engine's tests and for backend
 * authors: {@link io.pairkit.testkit.MemoryVolume} (a thin volume in heap memory),
 * {@link io.pairkit.testkit.VolatileCacheVolume} (a write cache that a power cut empties, to
 * catch a missing flush), {@link io.pairkit.testkit.FaultyVolume} (injects errors, transient
 * failures, torn writes and latency) and {@link io.pairkit.testkit.ForwardingVolume} (the base
 * for such wrappers). The volume contract suite itself is
 * {@code io.pairkit.testkit.AbstractVolumeContractTest}.
 */
package io.pairkit.testkit;
