/**
 * Entry point of the engine: {@link io.pairkit.core.PairKit#builder()} configures
 * ({@link io.pairkit.core.config.ControllerConfig}, the controller-wide track size among it, and
 * optionally a {@link io.pairkit.core.cache.TrackCacheConfig track cache}) and builds a
 * {@link io.pairkit.api.PairController}, whose javadoc is the contract hosts program against.
 * Backends are found by {@link java.util.ServiceLoader}
 * ({@link io.pairkit.core.registry.VolumeProviders}), or given by hand. The engine itself lives in {@code io.pairkit.core.internal.engine} and its sub-packages,
 * which are internal (its public classes are public only for use across its packages).
 */
package io.pairkit.core;
