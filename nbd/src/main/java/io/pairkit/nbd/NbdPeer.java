package io.pairkit.nbd;

import java.net.InetAddress;

/**
 * Who an NBD client is, as far as the connection tells: its address (TCP), the subject of the
 * certificate it presented (TLS with client certificates) or its user (Unix socket); each null
 * when the connection does not tell. Exports decide from it whom they serve
 * ({@link NbdExport#allows}).
 */
public record NbdPeer(InetAddress address, String certificateSubject, String unixUser) {
}
