/**
 * Backend discovery: {@link io.pairkit.core.registry.VolumeProviders} finds the
 * {@link io.pairkit.api.spi.VolumeProvider}s on the class path by type name (or takes a fixed
 * set), opens volumes through them, lends itself to providers as their
 * {@link io.pairkit.api.spi.ProviderContext} and closes them with the controller.
 */
package io.pairkit.core.registry;
