package io.pairkit.examples;

import io.pairkit.api.ExtentSet;
import io.pairkit.api.HostVolume;
import io.pairkit.api.Pair;
import io.pairkit.api.error.PairKitException;
import io.pairkit.cli.PairCtl;
import io.pairkit.server.config.ConfigLoader;
import io.pairkit.server.config.DaemonConfig;
import io.pairkit.server.Daemon;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One program, three configurations: {@code examples/config/file.properties},
 * {@code raid.properties} and {@code s3.properties} declare the same volumes {@code prod} and
 * {@code copy} on different backends. The program loads one with {@link ConfigLoader}, starts
 * pairkitd in this JVM (on free ports), drives the same pair workflow through {@code pairctl}
 * (create, split, extent update, verify, resync, display, delete) while a host writes the
 * primary, and prints which backend served it. Nothing in the workflow knows the backend.
 *
 * <p>Run (relative paths in the configurations resolve against the current directory; the
 * images and metadata it creates are removed at the end unless {@code --keep}):
 * {@code java -cp examples/target/pairctl.jar io.pairkit.examples.BackendSwap
 * examples/config/raid.properties}
 *
 * <p>Exit codes: 0 every check passed, 1 a check failed, 2 bad arguments, 3 the configuration
 * was refused (for {@code s3.properties}: an unset key variable, say), 4 the daemon could not
 * start (an unreachable endpoint or a missing bucket).
 */
public final class BackendSwap {
  private static final Pattern REQUEST_ID = Pattern.compile("\"id\"\\s*:\\s*\"?(\\d+)");
  private static final long FILE_START = 8L << 20;
  private static final long FILE_END = (9L << 20) + 12_345;
  private static final Duration WAIT = Duration.ofMinutes(2);

  private final Story story;
  private final PrintWriter out;
  /** What the last pairctl call printed on stdout. */
  private String lastOutput = "";

  BackendSwap(java.io.PrintStream out) {
    this.story = new Story(out);
    this.out = new PrintWriter(out, true);
  }

  public static void main(String[] args) throws Exception {
    boolean keep = false;
    Path config = null;
    for (String a : args) {
      if (a.equals("--keep")) {
        keep = true;
      } else if (config == null && !a.startsWith("-")) {
        config = Path.of(a);
      } else {
        System.err.println("usage: BackendSwap [--keep] CONFIG   (examples/config/*.properties)");
        System.exit(2);
      }
    }
    if (config == null) {
      System.err.println("usage: BackendSwap [--keep] CONFIG   (examples/config/*.properties)");
      System.exit(2);
    }
    System.exit(new BackendSwap(System.out).run(config, keep));
  }

  /** Runs the workflow on the volumes {@code config} declares; returns the exit code. */
  int run(Path config, boolean keep) throws Exception {
    DaemonConfig loaded;
    try {
      loaded = new ConfigLoader().load(config);
    } catch (PairKitException e) {
      story.say("BackendSwap: configuration refused: %s", e.getMessage());
      return 3;
    }
    // The workflow needs no fixed ports: serve on free ones, so it runs beside a pairkitd.
    DaemonConfig cfg = loaded.withFreePorts();
    List<Path> created = new ArrayList<>();
    for (Path p : pathsOf(cfg)) {
      Path top = p.toAbsolutePath();
      while (top.getParent() != null && !Files.exists(top.getParent())) {
        top = top.getParent();
      }
      if (!Files.exists(top) && !created.contains(top)) {
        created.add(top);
      }
      if (p.toAbsolutePath().getParent() != null) {
        Files.createDirectories(p.toAbsolutePath().getParent());
      }
    }
    story.say("BackendSwap: %s", config);
    for (DaemonConfig.VolumeConfig v : cfg.volumes()) {
      story.say("   volume '%s': type %s %s", v.spec().name(), v.spec().type(),
          describe(v.spec().properties()));
    }
    Daemon daemon;
    try {
      daemon = Daemon.start(cfg);
    } catch (IOException | RuntimeException e) {
      story.say("BackendSwap: pairkitd could not start: %s", e.getMessage());
      deleteCreated(created, keep);
      return 4;
    }
    try {
      workflow(daemon, cfg);
    } finally {
      daemon.close();
      deleteCreated(created, keep);
    }
    String types = cfg.volumes().stream().map(v -> v.spec().name() + "=" + v.spec().type())
        .reduce((a, b) -> a + ", " + b).orElse("");
    story.say("Backend that served the workflow: %s", types);
    return story.end() ? 0 : 1;
  }

  private void workflow(Daemon daemon, DaemonConfig cfg) throws Exception {
    String endpoint = "--endpoint=http://127.0.0.1:" + daemon.controlPort();
    tokenFile = cfg.controlTokenFile(); // pairkitd made it; pairctl proves it may call
    story.say("1. pairkitd serves NBD on port %d, control on port %d. pairctl volume list:",
        daemon.nbdPort(), daemon.controlPort());
    pairctl(0, endpoint, "volume", "list");
    HostVolume prod = daemon.controller().volume("prod");
    HostVolume copy = daemon.controller().volume("copy");
    long size = prod.size();
    ExtentSet all = ExtentSet.of(0, size);
    ExtentSet file = ExtentSet.of(FILE_START, FILE_END);
    ExtentSet other = ExtentSet.of(24L << 20, 25L << 20);
    prod.write(0, Story.random(1, 16 << 20));
    Story.writeAcross(prod, file, Story.random(2, (int) file.bytes()));

    story.say("2. pair create (the initial copy runs), then wait until FORMED:");
    pairctl(0, endpoint, "pair", "create", "backup", "--primary", "prod", "--secondary", "copy");
    pairctl(0, endpoint, "pair", "wait", "backup", "--state", "FORMED", "--timeout", "120s");
    Pair pair = daemon.controller().pair("backup");
    pair.mirrorDrained().get(WAIT.toSeconds(), TimeUnit.SECONDS);
    story.check("copy equals prod (verify exit code 0)", 0,
        pairctl(-1, endpoint, "verify", "prod", "copy"));

    story.say("3. pair split: the copy is the point-in-time image; then the host writes a new "
        + "version of its file %s and other data %s:", file, other);
    pairctl(0, endpoint, "pair", "split", "backup");
    pairctl(0, endpoint, "pair", "wait", "backup", "--state", "SPLIT", "--timeout", "120s");
    String atSplit = Story.sha(prod, all);
    story.check("copy equals prod at the split", atSplit, Story.sha(copy, all));
    Story.writeAcross(prod, file, Story.random(3, (int) file.bytes()));
    Story.writeAcross(prod, other, Story.random(4, (int) other.bytes()));
    story.check("verify reports differences now (exit code 7)", 7,
        pairctl(-1, endpoint, "verify", "prod", "copy"));

    String extents = FILE_START + "-" + FILE_END;
    story.say("4. extent update of the file only (%s), waited for by its request id:", extents);
    String reply = pairctl(0, endpoint, "--json", "extent", "update", "backup", extents) == 0
        ? lastOutput : "";
    Matcher m = REQUEST_ID.matcher(reply);
    boolean found = m.find();
    if (story.check("extent update returned a request id", found,
        found ? "request " + m.group(1) : reply.strip())) {
      pairctl(0, endpoint, "pair", "wait", "backup", "--request", m.group(1), "--timeout",
          "120s");
    }
    story.check("the file's extents equal prod (verify --extents exit code 0)", 0,
        pairctl(-1, endpoint, "verify", "prod", "copy", "--extents", extents));
    story.check("the other data still differs: only the file was copied (exit code 7)", 7,
        pairctl(-1, endpoint, "verify", "prod", "copy", "--extents",
            other.start() + "-" + other.end()));

    story.say("5. pair resync, wait until FORMED, display, delete:");
    pairctl(0, endpoint, "pair", "resync", "backup");
    pairctl(0, endpoint, "pair", "wait", "backup", "--state", "FORMED", "--timeout", "120s");
    pair.mirrorDrained().get(WAIT.toSeconds(), TimeUnit.SECONDS);
    story.check("copy equals prod after the resync (verify exit code 0)", 0,
        pairctl(-1, endpoint, "verify", "prod", "copy"));
    pairctl(0, endpoint, "pair", "display", "backup");
    pairctl(0, endpoint, "pair", "delete", "backup");
  }

  /**
   * Runs {@code pairctl ARGS} in this JVM, prints what it printed, indented; returns its exit
   * code. If {@code expect} is not negative, an exit code other than it is a failed check.
   */
  /** pairkitd's control token, for every pairctl call of the story. */
  private Path tokenFile;

  private int pairctl(int expect, String... args) {
    StringWriter o = new StringWriter();
    StringWriter e = new StringWriter();
    List<String> all = new ArrayList<>(List.of("--token-file=" + tokenFile));
    all.addAll(List.of(args));
    int code = PairCtl.run(new PrintWriter(o, true), new PrintWriter(e, true),
        all.toArray(String[]::new));
    List<String> shown = new ArrayList<>(List.of(args));
    shown.removeIf(a -> a.startsWith("--endpoint"));
    out.println("   $ pairctl " + String.join(" ", shown) + (code == 0 ? "" : "   (exit " + code
        + ")"));
    lastOutput = o.toString();
    for (String line : (o + e.toString()).split("\n")) {
      if (!line.isBlank()) {
        out.println("     " + line);
      }
    }
    if (expect >= 0 && code != expect) {
      story.check("pairctl " + String.join(" ", shown) + " exit code", expect, code);
    }
    return code;
  }

  /** Where the volume's data lives, in one short phrase (no secrets: those are references). */
  private static String describe(Map<String, String> p) {
    if (p.containsKey("path")) {
      return "at " + p.get("path");
    }
    if (p.containsKey("level")) {
      long members = p.keySet().stream().filter(k -> k.matches("member\\.\\d+\\.type")).count();
      return "RAID-" + p.get("level") + " over " + members + " members";
    }
    if (p.containsKey("bucket")) {
      return "in bucket " + p.get("bucket") + " at " + p.getOrDefault("endpoint", "AWS");
    }
    return "";
  }

  /** The local files the configuration names: metadata directory, images, member images. */
  private static List<Path> pathsOf(DaemonConfig cfg) {
    List<Path> paths = new ArrayList<>(List.of(cfg.metadataDirectory()));
    for (DaemonConfig.VolumeConfig v : cfg.volumes()) {
      for (Map.Entry<String, String> e : v.spec().properties().entrySet()) {
        if (e.getKey().equals("path") || e.getKey().matches("member\\.\\d+\\.path")) {
          paths.add(Path.of(e.getValue()));
        }
      }
    }
    return paths;
  }

  private void deleteCreated(List<Path> created, boolean keep) throws IOException {
    if (keep) {
      story.say("   kept: %s", created);
      return;
    }
    for (Path p : created) {
      Story.deleteTree(p);
    }
  }
}
