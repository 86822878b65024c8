/**
 * The {@code pairkitd} configuration file: {@link io.pairkit.server.config.ConfigLoader} reads
 * and checks it into a {@link io.pairkit.server.config.DaemonConfig}. Used by the daemon and by
 * {@code pairctl} (to find the control endpoint).
 */
package io.pairkit.server.config;
