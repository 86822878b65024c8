/**
 * A small Network Block Device server (fixed newstyle handshake, structured replies,
 * {@code base:allocation}) over {@link io.pairkit.nbd.NbdExport}s. No well-kept Java NBD
 * library exists on Maven Central, so the protocol lives here, tested against real clients
 * ({@code nbdinfo}, {@code nbdcopy}, {@code qemu-img}, {@code qemu-io}).
 */
package io.pairkit.nbd;
