/**
 * Entry point of the engine: {@link io.pairkit.core.PairKit#builder()} configures
 * ({@link io.pairkit.core.config.ControllerConfig}) and builds a
 * {@link io.pairkit.api.PairController}. Backends are found by {@link java.util.ServiceLoader}
 * ({@link io.pairkit.core.registry.VolumeProviders}). The engine itself lives in
 * {@code io.pairkit.core.engine} and its sub-packages, which are internal.
 */
package io.pairkit.core;
