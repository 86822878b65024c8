/**
 * Entry point of the engine: {@link io.pairkit.core.PairKit#builder()} configures and builds a
 * {@link io.pairkit.api.PairController}. Backends are found here by
 * {@link java.util.ServiceLoader} ({@link io.pairkit.core.VolumeProviders}).
 */
package io.pairkit.core;
