package io.pairkit.server;

import io.pairkit.api.HostVolume;
import io.pairkit.api.PairController;
import io.pairkit.api.error.AlreadyClosedException;
import io.pairkit.api.error.PairKitException;
import io.pairkit.api.error.SecondaryWriteRefusedException;
import io.pairkit.api.spi.VolumeSpec;
import io.pairkit.core.PairKit;
import io.pairkit.server.config.DaemonConfig;
import io.pairkit.nbd.NbdExport;
import io.pairkit.nbd.NbdServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The running daemon: a controller with durable pairs, every configured volume open (those the
 * recovered pairs already opened are reused), NBD exports and the control endpoint. Built only on
 * the public SDK, as a product embedding PairKit would be. {@link #close} is the clean shutdown:
 * servers stop, the controller flushes and closes its pairs and volumes, locks are released.
 */
public final class Daemon implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(Daemon.class.getName());

  /** A configured volume as the daemon serves it. */
  record VolumeEntry(VolumeSpec spec, boolean export, boolean readOnly) {
  }

  private final PairController controller;
  /** Owned here: a controller does not close providers it was given. */
  private final io.pairkit.core.registry.VolumeProviders providers;
  private final NbdServer nbd;
  private final ControlServer control;
  private final Map<String, VolumeEntry> volumes;

  private Daemon(PairController controller, io.pairkit.core.registry.VolumeProviders providers,
      NbdServer nbd, ControlServer control, Map<String, VolumeEntry> volumes) {
    this.controller = controller;
    this.providers = providers;
    this.nbd = nbd;
    this.control = control;
    this.volumes = volumes;
  }

  /** Opens everything the configuration names and starts serving. */
  public static Daemon start(DaemonConfig config) throws IOException {
    io.pairkit.core.registry.VolumeProviders providers = ConfiguredProviders.of(config);
    PairKit.Builder builder = PairKit.builder().trackSize(config.trackSize())
        .copyThreads(config.copyThreads()).metadataDirectory(config.metadataDirectory())
        .providers(providers);
    builder.mirrorMode(config.mirrorMode())
        .writeIntentRegionSize(config.writeIntentRegionSize());
    if (config.copyBytesPerSecond() > 0) {
      builder.copyBytesPerSecond(config.copyBytesPerSecond());
    }
    config.trackCache().ifPresent(builder::trackCache);
    PairController controller;
    try {
      java.nio.file.Files.createDirectories(config.metadataDirectory());
      controller = builder.build();
    } catch (IOException | RuntimeException e) {
      providers.close();
      throw e;
    }
    NbdServer nbd = null;
    ControlServer control = null;
    try {
      IncompleteVolumes incomplete = new IncompleteVolumes(config.controlTokenFile()
          .toAbsolutePath().resolveSibling("incomplete-volumes.properties"));
      Map<String, VolumeEntry> entries = new LinkedHashMap<>();
      Map<String, NbdExport> exports = new LinkedHashMap<>();
      for (DaemonConfig.VolumeConfig v : config.volumes()) {
        String name = v.spec().name();
        HostVolume volume = controller.volumes().stream().filter(h -> h.name().equals(name))
            .findFirst().orElse(null);
        if (volume == null) {
          volume = controller.openVolume(v.spec());
        } else {
          LOG.info("volume '" + name + "' was reopened by its recovered pairs");
        }
        entries.put(name, new VolumeEntry(v.spec(), v.export(), v.readOnly()));
        if (v.export()) {
          exports.put(name, new VolumeExport(volume, v.readOnly(), incomplete, v.clients()));
        }
      }
      try {
        io.pairkit.nbd.NbdTls tls = null;
        if (config.nbdTls().isPresent()) {
          DaemonConfig.NbdTlsConfig t = config.nbdTls().get();
          tls = io.pairkit.nbd.NbdTls.of(io.pairkit.control.TlsFiles.server(t.dir(),
              t.verifyClients(), "NBD TLS"), t.verifyClients(), t.dir());
          LOG.info("NBD requires " + tls);
        }
        NbdServer.Listen listen = new NbdServer.Listen(config.nbdTcp()
            ? new InetSocketAddress(config.nbdAddress(), config.nbdPort()) : null,
            config.nbdSocket().map(DaemonConfig.NbdSocketConfig::path).orElse(null),
            config.nbdSocket().map(u -> java.nio.file.attribute.PosixFilePermissions
                .fromString(u.mode())).orElse(null),
            config.nbdSocket().flatMap(DaemonConfig.NbdSocketConfig::group).orElse(null), tls);
        nbd = NbdServer.start(listen, exports::get, () -> List.copyOf(exports.values()),
            Daemon::errno);
        if (nbd.socketPath() != null) {
          LOG.info("NBD on Unix socket " + nbd.socketPath() + " (mode "
              + config.nbdSocket().get().mode() + config.nbdSocket().get().group()
                  .map(g -> ", group " + g).orElse("") + ")");
        }
      } catch (java.net.BindException e) {
        throw bindFailure("NBD", "server.nbd.port", config.nbdAddress(), config.nbdPort(), e);
      }
      NbdServer started = nbd;
      try {
        javax.net.ssl.SSLContext controlTls = null;
        if (config.controlTlsDir().isPresent()) {
          controlTls = io.pairkit.control.TlsFiles.server(config.controlTlsDir().get(), false,
              "control TLS");
          LOG.info("control endpoint serves HTTPS (" + config.controlTlsDir().get() + ")");
        }
        control = new ControlServer(new InetSocketAddress(config.controlAddress(),
            config.controlPort()), controller, entries, started::port, config.trackSize(),
            ControlToken.loadOrCreate(config.controlTokenFile()), config.openReads(),
            incomplete, controlTls);
        control.countNbdConnections(started::connectionsOpen);
      } catch (java.net.BindException e) {
        throw bindFailure("control", "server.control.port", config.controlAddress(),
            config.controlPort(), e);
      }
      return new Daemon(controller, providers, nbd, control, entries);
    } catch (IOException | RuntimeException e) {
      if (control != null) {
        control.close();
      }
      if (nbd != null) {
        nbd.close();
      }
      controller.close();
      providers.close();
      throw e;
    }
  }

  /** A listener that cannot bind, named with its address, port and configuration key. */
  private static java.net.BindException bindFailure(String what, String key, String address,
      int port, java.net.BindException e) {
    java.net.BindException named = new java.net.BindException("cannot listen for " + what
        + " on " + address + ":" + port + " (" + e.getMessage() + "): another process holds "
        + "the port, or the address is not this host's; stop it or set " + key
        + " in the configuration");
    named.initCause(e);
    return named;
  }

  /** NBD error numbers for the SDK's typed errors. */
  static int errno(Throwable t) {
    if (t instanceof SecondaryWriteRefusedException) {
      return 1; // EPERM
    }
    if (t instanceof AlreadyClosedException) {
      return 108; // ESHUTDOWN
    }
    if (t instanceof io.pairkit.api.error.ExtentOutOfRangeException
        || t instanceof IndexOutOfBoundsException) {
      return 22; // EINVAL
    }
    return 5; // EIO
  }

  public PairController controller() {
    return controller;
  }

  public int nbdPort() {
    return nbd.port();
  }

  public int controlPort() {
    return control.port();
  }

  /** Whether the control endpoint serves HTTPS ({@code server.control.tls.dir}). */
  public boolean controlServesTls() {
    return control.tls();
  }

  Map<String, VolumeEntry> volumes() {
    return volumes;
  }

  @Override
  public void close() {
    control.close();
    try {
      nbd.close();
    } catch (IOException e) {
      LOG.log(Level.WARNING, "closing the NBD server", e);
    }
    try {
      controller.flush();
    } catch (PairKitException e) {
      LOG.log(Level.WARNING, "flush at shutdown failed; the pairs recover at the next start", e);
    }
    controller.close();
    providers.close();
  }
}
