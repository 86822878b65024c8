package io.pairkit.server;

import io.pairkit.server.config.ConfigLoader;
import io.pairkit.server.config.DaemonConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** A pairkitd in this JVM over file volumes in a folder, on free loopback ports. */
public final class DaemonRig implements AutoCloseable {
  public final Path dir;
  public final Path configFile;
  public final Daemon daemon;

  private DaemonRig(Path dir, Path configFile, Daemon daemon) {
    this.dir = dir;
    this.configFile = configFile;
    this.daemon = daemon;
  }

  /** Volumes {@code prod} and {@code copy} of {@code size} bytes, plus {@code extra} lines. */
  public static DaemonRig start(Path dir, long size, String extra) throws IOException {
    Path config = writeConfig(dir, size, extra);
    DaemonConfig cfg = new ConfigLoader().load(config);
    return new DaemonRig(dir, config, Daemon.start(cfg));
  }

  public static Path writeConfig(Path dir, long size, String extra) throws IOException {
    Path config = dir.resolve("pairkitd.properties");
    Files.writeString(config, String.join("\n",
        "controller.metadataDirectory=" + dir.resolve("meta"),
        "controller.trackSize=64k",
        "server.nbd.port=0",
        "server.control.port=0",
        "volume.prod.type=file",
        "volume.prod.path=" + dir.resolve("prod.img"),
        "volume.prod.size=" + size,
        "volume.prod.mode=openOrCreate",
        "volume.copy.type=file",
        "volume.copy.path=" + dir.resolve("copy.img"),
        "volume.copy.size=" + size,
        "volume.copy.mode=openOrCreate",
        extra, ""));
    return config;
  }

  /** The control token file the daemon made (beside its metadata directory). */
  public Path tokenFile() {
    return io.pairkit.server.config.ConfigLoader.defaultTokenFile(dir.resolve("meta"));
  }

  public String endpoint() {
    return (daemon.controlServesTls() ? "https" : "http") + "://127.0.0.1:"
        + daemon.controlPort();
  }

  public String nbd(String export) {
    return "nbd://127.0.0.1:" + daemon.nbdPort() + "/" + export;
  }

  @Override
  public void close() {
    daemon.close();
  }
}
