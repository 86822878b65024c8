package io.pairkit.server.config;

import io.pairkit.api.spi.VolumeSpec;
import io.pairkit.core.cache.TrackCacheConfig;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * A validated {@code pairkitd} configuration: the controller's settings, the servers' addresses
 * and the named volumes. Immutable. Built by {@link ConfigLoader}.
 *
 * @param source            the file it came from (for messages)
 * @param trackSize         controller track size, bytes
 * @param copyThreads       background copy workers
 * @param copyBytesPerSecond copy rate cap, 0 for none
 * @param trackCache        the off-heap track cache, if enabled
 * @param metadataDirectory where durable pairs live
 * @param mirrorMode        how pairs created with the automatic mirror mode mirror
 * @param writeIntentRegionSize bytes per write-intent region of the durable pairs
 * @param nbdAddress        NBD listen address
 * @param nbdPort           NBD listen port (0 picks one)
 * @param controlAddress    control endpoint listen address
 * @param controlPort       control endpoint port (0 picks one)
 * @param volumes           the volumes, in file order
 * @param controlTokenFile  the control endpoint's bearer token (mode 0600, made if missing)
 * @param openReads         whether read-only calls (list, display) need no token
 * @param nbdTls            TLS required on the NBD listener, or empty for plain TCP
 * @param nbdTcp            whether NBD listens on TCP ({@code nbdAddress:nbdPort}) at all
 * @param nbdSocket         NBD on a Unix socket too, or empty
 * @param controlTlsDir     the control endpoint serves HTTPS with these credentials
 *                          ({@code server-cert.pem}, {@code server-key.pem}), or plain HTTP
 */
public record DaemonConfig(Path source, int trackSize, int copyThreads, long copyBytesPerSecond,
    Optional<TrackCacheConfig> trackCache, Path metadataDirectory,
    io.pairkit.api.MirrorMode mirrorMode, long writeIntentRegionSize, String nbdAddress, int nbdPort,
    String controlAddress, int controlPort, List<VolumeConfig> volumes, Path controlTokenFile,
    boolean openReads, Optional<NbdTlsConfig> nbdTls, boolean nbdTcp,
    Optional<NbdSocketConfig> nbdSocket, Optional<Path> controlTlsDir) {

  /**
   * NBD on a Unix socket: its file, whose mode (e.g. {@code rw-rw----}) and group decide who may
   * connect, as with Docker's socket; no TLS there.
   */
  public record NbdSocketConfig(Path path, String mode, Optional<String> group) {
  }

  /**
   * NBD TLS: X.509 credentials in QEMU's layout ({@code server-cert.pem}, {@code server-key.pem},
   * {@code ca-cert.pem}), and whether clients must present a certificate the CA signed.
   */
  public record NbdTlsConfig(Path dir, boolean verifyClients) {
  }

  /** The same configuration, serving NBD and control on free ports. */
  public DaemonConfig withFreePorts() {
    return new DaemonConfig(source, trackSize, copyThreads, copyBytesPerSecond, trackCache,
        metadataDirectory, mirrorMode, writeIntentRegionSize, nbdAddress, 0, controlAddress, 0,
        volumes, controlTokenFile, openReads, nbdTls, nbdTcp, nbdSocket, controlTlsDir);
  }

  /**
   * One volume.
   *
   * @param spec      what opens it (secrets resolved)
   * @param export    whether pairkitd serves it over NBD
   * @param readOnly  whether its export refuses writes even when the pair would allow them
   * @param clients   which NBD clients its export serves ({@code exportAllow})
   */
  public record VolumeConfig(VolumeSpec spec, boolean export, boolean readOnly,
      io.pairkit.nbd.NbdClientRules clients) {
  }

  public DaemonConfig {
    volumes = List.copyOf(volumes);
  }
}
