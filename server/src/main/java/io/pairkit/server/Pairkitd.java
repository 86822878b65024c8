package io.pairkit.server;

import io.pairkit.api.error.PairKitException;
import io.pairkit.server.config.ConfigLoader;
import io.pairkit.server.config.DaemonConfig;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * {@code pairkitd --config FILE}: serves the configured volumes over NBD and the control endpoint
 * for pairctl until SIGTERM (or SIGINT), then shuts down cleanly (flush, close pairs, release
 * locks). After a SIGKILL the next start recovers the pairs from the metadata directory. Prints
 * one line {@code pairkitd ready nbd=HOST:PORT control=HOST:PORT} once it serves.
 *
 * <p>Exit codes: 0 clean shutdown (also on SIGTERM), 2 bad arguments, 3 bad configuration, 4
 * could not start (a volume or a port could not be opened). {@code pairctl daemon} exits with
 * the same codes.
 */
public final class Pairkitd {
  private Pairkitd() {
  }

  public static void main(String[] args) {
    Path config = null;
    for (int i = 0; i < args.length; i++) {
      if ((args[i].equals("--config") || args[i].equals("-c")) && i + 1 < args.length) {
        config = Path.of(args[++i]);
      } else if (args[i].startsWith("--config=")) {
        config = Path.of(args[i].substring(9));
      } else if (args[i].equals("--help") || args[i].equals("-h")) {
        System.out.println("usage: pairkitd --config FILE   (see examples/config/*.properties)");
        return;
      } else {
        System.err.println("pairkitd: unknown argument '" + args[i]
            + "'; usage: pairkitd --config FILE");
        System.exit(2);
      }
    }
    if (config == null) {
      System.err.println("pairkitd: no configuration; usage: pairkitd --config FILE");
      System.exit(2);
    }
    DaemonConfig cfg;
    try {
      cfg = new ConfigLoader().load(config);
    } catch (PairKitException e) {
      System.err.println("pairkitd: " + e.getMessage());
      System.exit(3);
      return;
    }
    // The hook is in place before anything opens, so a SIGTERM during start-up also closes
    // whatever was opened; it ends with halt(0): a clean stop exits 0, not the JVM's 143.
    java.util.concurrent.atomic.AtomicReference<Daemon> running =
        new java.util.concurrent.atomic.AtomicReference<>();
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      Daemon d = running.get();
      if (d == null) {
        return; // start-up failed or had not finished: main reports and exits
      }
      try {
        d.close();
        System.out.println("pairkitd stopped cleanly");
      } catch (RuntimeException e) {
        System.err.println("pairkitd: shutdown failed: " + e);
      }
      System.out.flush();
      System.err.flush();
      stopped.countDown();
      Runtime.getRuntime().halt(0);
    }, "pairkitd-shutdown"));
    Daemon daemon;
    try {
      daemon = Daemon.start(cfg);
    } catch (Exception e) {
      System.err.println("pairkitd: could not start: " + e.getMessage());
      System.exit(4);
      return;
    }
    running.set(daemon);
    System.out.println("pairkitd ready nbd=" + (cfg.nbdTcp() ? cfg.nbdAddress() + ":"
        + daemon.nbdPort() : "off") + " control=" + cfg.controlAddress() + ":"
        + daemon.controlPort() + cfg.nbdSocket().map(u -> " nbd.socket=" + u.path()).orElse(""));
    System.out.flush();
    try {
      stopped.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
