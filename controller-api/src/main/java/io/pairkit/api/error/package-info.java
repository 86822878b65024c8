/**
 * The typed, unchecked errors of PairKit. Every message names the volume or pair involved, its
 * state where that matters, and what the caller can do next. {@link java.io.IOException} appears
 * only at the backend SPI; the engine translates it once into {@link
 * io.pairkit.api.error.VolumeIOException}.
 */
package io.pairkit.api.error;
