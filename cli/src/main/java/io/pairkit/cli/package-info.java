/**
 * pairctl, the admin CLI ({@link io.pairkit.cli.PairCtl}): volume, pair, extent and
 * verify commands against pairkitd's control endpoint, with tables, {@code --json} and exit codes
 * documented in {@code pairctl --help}.
 */
package io.pairkit.cli;
