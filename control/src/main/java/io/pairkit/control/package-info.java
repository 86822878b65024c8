/**
 * The JSON documents of pairkitd's control endpoint, shared by the daemon and pairctl.
 */
package io.pairkit.control;
