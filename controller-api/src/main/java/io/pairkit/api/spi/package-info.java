/**
 * The backend SPI: what a storage backend implements so the PairKit engine can use it as a volume.
 *
 * <p>A backend module provides a {@link io.pairkit.api.spi.VolumeProvider} and registers it with
 * one line in {@code META-INF/services/io.pairkit.api.spi.VolumeProvider}; the engine finds it by
 * its {@link io.pairkit.api.spi.VolumeProvider#type() type} name, so a product swaps backends by
 * configuration ({@link io.pairkit.api.spi.VolumeSpec}), not code. Backends depend on this package
 * only, never on the engine. The volume contract suite in this module's test-jar
 * ({@code AbstractVolumeContractTest}) is what every backend must pass.
 */
package io.pairkit.api.spi;
