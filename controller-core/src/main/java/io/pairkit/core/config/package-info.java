/**
 * Engine settings: {@link io.pairkit.core.config.ControllerConfig}, one immutable record per
 * controller (track size, copy threads and rate, tracks in flight, pairs per primary, transient
 * retries, track cache), validated on creation and fixed for the controller's life. Hosts set it
 * through {@code PairKit.builder()}.
 */
package io.pairkit.core.config;
