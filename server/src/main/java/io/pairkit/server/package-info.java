/**
 * pairkitd, the reference server: {@link io.pairkit.server.Pairkitd} (the program),
 * {@link io.pairkit.server.Daemon} (what it runs: a durable controller, NBD exports of
 * the configured volumes, and the JSON control endpoint pairctl talks to).
 */
package io.pairkit.server;
