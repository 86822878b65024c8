package io.pairkit.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.pairkit.control.ExtentSyntax;
import io.pairkit.control.MirrorModeWords;
import io.pairkit.control.RateWords;
import io.pairkit.control.ControlApi;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Reader;
import java.net.ConnectException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code pairctl}: drives pairkitd's pairs in the vocabulary of array copy functions (Hitachi
 * CCI's paircreate / pairsplit / pairresync / pairdisplay / pairevtwait). It talks to the daemon's
 * control endpoint: {@code --endpoint URL}, else {@code server.control.*} of {@code --config FILE},
 * else {@code $PAIRKIT_ENDPOINT}, else {@code http://127.0.0.1:10810}.
 */
@Command(name = "pairctl", mixinStandardHelpOptions = true,
    versionProvider = PairCtl.VersionProvider.class,
    description = "Drive PairKit volume pairs served by pairkitd.",
    subcommands = {PairCtl.VolumeCmd.class, PairCtl.PairCmd.class, PairCtl.GroupCmd.class,
        PairCtl.ExtentCmd.class, PairCtl.VerifyCmd.class},
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
        " 0:success (pair wait: the state or request was reached; verify: no difference)",
        " 1:the daemon refused or failed the call (message on stderr)",
        " 2:bad command line or bad extent syntax",
        " 3:the daemon is not running or not reachable",
        " 4:no such volume, pair or request",
        " 5:the pair's state does not allow the request, or the request waited for failed",
        " 6:pair wait timed out",
        " 7:verify found tracks that differ",
        " 8:the configuration file cannot be read"})
public final class PairCtl {
  /** {@code pairctl --version}: the build's version. */
  static final class VersionProvider implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"pairctl " + io.pairkit.control.Version.get()};
    }
  }

  static final int OK = 0;
  static final int FAILED = 1;
  static final int USAGE = 2;
  static final int NOT_RUNNING = 3;
  static final int NOT_FOUND = 4;
  static final int WRONG_STATE = 5;
  static final int TIMEOUT = 6;
  static final int DIFFERENT = 7;
  static final int BAD_CONFIG = 8;

  @Option(names = "--endpoint", description = "Control endpoint URL, e.g. http://127.0.0.1:10810")
  String endpoint;

  @Option(names = {"-c", "--config"}, description = "pairkitd configuration file (for the "
      + "control endpoint's address)")
  Path config;

  @Option(names = "--ca", description = "CA certificate (PEM) that signed pairkitd's HTTPS "
      + "certificate (default: $PAIRKIT_CA, else ca-cert.pem in server.control.tls.dir of "
      + "--config, else the JVM's trusted CAs)")
  Path ca;

  @Option(names = "--token-file", description = "pairkitd's control token (default: "
      + "$PAIRKIT_TOKEN_FILE, else server.control.tokenFile of --config, else control.token "
      + "beside its metadata directory)")
  Path tokenFile;

  @Option(names = "--json", description = "Print JSON instead of tables", scope =
      CommandLine.ScopeType.INHERIT)
  boolean json;

  /** Tolerates fields a newer daemon adds. */
  final ObjectMapper mapper = new ObjectMapper().configure(
      com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
  PrintWriter out;
  PrintWriter err;

  /** Runs pairctl and returns its exit code (tests call this; {@link #main} exits with it). */
  public static int run(PrintWriter out, PrintWriter err, String... args) {
    PairCtl root = new PairCtl();
    root.out = out;
    root.err = err;
    CommandLine cl = new CommandLine(root);
    cl.setOut(out);
    cl.setErr(err);
    cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
      if (e instanceof Failure f) {
        err.println("pairctl: " + f.getMessage());
        err.flush();
        return f.code;
      }
      err.println("pairctl: " + e);
      err.flush();
      return FAILED;
    });
    int code = cl.execute(args);
    out.flush();
    err.flush();
    return code;
  }

  public static void main(String[] args) {
    System.exit(run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args));
  }

  /** A failure with its exit code. */
  static final class Failure extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final int code;

    Failure(int code, String message) {
      super(message);
      this.code = code;
    }
  }

  // ------------------------------------------------------------------ HTTP


  private Properties configProperties;

  /** The {@code --config} file's properties, or null without one. */
  private Properties configProperties() {
    if (config == null) {
      return null;
    }
    if (configProperties == null) {
      Properties p = new Properties();
      try (Reader r = Files.newBufferedReader(config, StandardCharsets.UTF_8)) {
        p.load(r);
      } catch (IOException | IllegalArgumentException e) {
        throw new Failure(BAD_CONFIG, config + ": cannot read it (" + e.getMessage() + ")");
      }
      configProperties = p;
    }
    return configProperties;
  }

  URI base() {
    String url = endpoint;
    Properties p = url == null ? configProperties() : null;
    if (p != null) {
      String address = p.getProperty("server.control.address", "127.0.0.1").trim();
      if (address.equals("0.0.0.0") || address.equals("::")) {
        address = "127.0.0.1"; // listening everywhere: this machine is one of them
      }
      url = (p.getProperty("server.control.tls.dir") != null ? "https://" : "http://")
          + (address.contains(":") ? "[" + address + "]" : address) + ":"
          + p.getProperty("server.control.port", "10810").trim();
    }
    if (url == null) {
      url = System.getenv("PAIRKIT_ENDPOINT");
    }
    if (url == null) {
      url = "http://127.0.0.1:10810";
    }
    return URI.create(url.endsWith("/") ? url : url + "/");
  }

  /** The CA file to trust for HTTPS, or null for the JVM's trusted CAs. */
  Path caPath() {
    if (ca != null) {
      return ca;
    }
    String env = System.getenv("PAIRKIT_CA");
    if (env != null && !env.isBlank()) {
      return Path.of(env);
    }
    Properties p = configProperties();
    if (p != null && p.getProperty("server.control.tls.dir") != null) {
      Path file = Path.of(p.getProperty("server.control.tls.dir").trim()).resolve("ca-cert.pem");
      return Files.isReadable(file) ? file : null;
    }
    return null;
  }

  private javax.net.ssl.SSLSocketFactory tlsFactory;

  private javax.net.ssl.SSLSocketFactory tlsFactory() {
    if (tlsFactory == null) {
      Path file = caPath();
      try {
        tlsFactory = file == null ? javax.net.ssl.HttpsURLConnection.getDefaultSSLSocketFactory()
            : io.pairkit.control.TlsFiles.trusting(file).getSocketFactory();
      } catch (IOException e) {
        throw new Failure(USAGE, "--ca: " + e.getMessage());
      }
    }
    return tlsFactory;
  }

  /** Where the control token is, or null if nothing says. */
  Path tokenPath() {
    if (tokenFile != null) {
      return tokenFile;
    }
    String env = System.getenv("PAIRKIT_TOKEN_FILE");
    if (env != null && !env.isBlank()) {
      return Path.of(env);
    }
    Properties p = configProperties();
    if (p != null) {
      String file = p.getProperty("server.control.tokenFile");
      if (file != null) {
        return Path.of(file.trim());
      }
      String meta = p.getProperty("controller.metadataDirectory");
      if (meta != null) {
        return ControlApi.defaultTokenFile(Path.of(meta.trim()));
      }
    }
    return null;
  }

  /** Why the token could not be read, for the refusal's message; null once read. */
  private String tokenProblem;

  /** The {@code Authorization} header value, or null. */
  private String authorization() {
    Path file = tokenPath();
    if (file == null) {
      tokenProblem = "no token file given (--token-file, --config or $PAIRKIT_TOKEN_FILE)";
      return null;
    }
    try {
      return "Bearer " + Files.readString(file, StandardCharsets.UTF_8).trim();
    } catch (java.nio.file.AccessDeniedException e) {
      tokenProblem = file + " is not readable by you: run pairctl as the user that runs "
          + "pairkitd (or root)";
    } catch (IOException e) {
      tokenProblem = "cannot read " + file + " (" + e + ")";
    }
    return null;
  }

  /** {@code GET path} (every item) or {@code GET path/name} (one, as a list of one). */
  @SuppressWarnings("unchecked")
  <T> T[] oneOrAll(String path, String name, Class<T> type) {
    Class<T[]> arrayType = (Class<T[]>) java.lang.reflect.Array.newInstance(type, 0).getClass();
    if (name == null) {
      return call("GET", path, null, arrayType);
    }
    T[] one = (T[]) java.lang.reflect.Array.newInstance(type, 1);
    one[0] = call("GET", path + "/" + seg(name), null, type);
    return one;
  }

  /** Encodes one path segment (an id or name) for the control endpoint's URLs. */
  static String seg(String text) {
    return java.net.URLEncoder.encode(text, StandardCharsets.UTF_8).replace("+", "%20");
  }

  <T> T call(String method, String path, Object body, Class<T> type) {
    URI uri;
    try {
      uri = base().resolve("v1/" + path);
    } catch (IllegalArgumentException e) {
      throw new Failure(USAGE, "bad endpoint or name: " + e.getMessage());
    }
    int status;
    byte[] answer;
    try {
      // HttpURLConnection, not java.net.http: that client sets up TLS for every client, even
      // for http://, which costs pairctl a fifth of its start.
      java.net.HttpURLConnection c = (java.net.HttpURLConnection) uri.toURL().openConnection();
      if (c instanceof javax.net.ssl.HttpsURLConnection https) {
        https.setSSLSocketFactory(tlsFactory());
      }
      c.setConnectTimeout(5_000);
      c.setReadTimeout(3_600_000);
      c.setRequestMethod(method);
      c.setRequestProperty("Accept", "application/json");
      c.setRequestProperty("User-Agent", "pairctl/" + io.pairkit.control.Version.get());
      String auth = authorization();
      if (auth != null) {
        c.setRequestProperty("Authorization", auth);
      }
      if (body != null) {
        byte[] json = mapper.writeValueAsBytes(body);
        c.setRequestProperty("Content-Type", "application/json");
        c.setDoOutput(true); // buffered, not streamed: a streamed request loses a 401's answer
        try (java.io.OutputStream o = c.getOutputStream()) {
          o.write(json);
        }
      }
      status = c.getResponseCode();
      try (java.io.InputStream in = status >= 400 ? c.getErrorStream() : c.getInputStream()) {
        answer = in == null ? new byte[0] : in.readAllBytes();
      }
    } catch (ConnectException e) {
      throw new Failure(NOT_RUNNING, "pairkitd is not running at " + base() + " (connection "
          + "refused); start it with pairkitd --config FILE (or systemctl start pairkitd), or "
          + "point pairctl at it with --endpoint or --config");
    } catch (java.net.SocketTimeoutException e) {
      throw new Failure(NOT_RUNNING, "pairkitd at " + base() + " does not answer");
    } catch (javax.net.ssl.SSLException e) {
      Path trusted = caPath();
      throw new Failure(FAILED, "no TLS with pairkitd at " + base() + " (" + e.getMessage()
          + "): " + (trusted == null ? "give the CA that signed its certificate with --ca FILE "
              + "or $PAIRKIT_CA" : "its certificate is not signed by " + trusted
              + " or does not name " + uri.getHost()) + "; a pairkitd without "
          + "server.control.tls.dir serves http://");
    } catch (IOException e) {
      throw new Failure(NOT_RUNNING, "cannot talk to pairkitd at " + base() + ": " + e
          + (uri.getScheme().equals("http") ? "; if it serves HTTPS (server.control.tls.dir), "
              + "use https:// or --config" : ""));
    }
    if (status >= 400) {
      ControlApi.ErrorView e;
      try {
        e = mapper.readValue(answer, ControlApi.ErrorView.class);
      } catch (IOException notJson) {
        e = null;
      }
      if (e == null || e.error() == null) {
        throw new Failure(FAILED, "the daemon answered " + status + " to " + method + " "
            + uri);
      }
      int code = switch (status) {
        case 404 -> NOT_FOUND;
        case 409 -> WRONG_STATE;
        case 400 -> e.error().contains("Extent") || e.error().contains("Argument")
            ? USAGE : FAILED;
        default -> FAILED;
      };
      throw new Failure(code, e.message() + (status == 401 && tokenProblem != null
          ? " (pairctl: " + tokenProblem + ")" : ""));
    }
    try {
      return mapper.readValue(answer, type);
    } catch (IOException e) {
      throw new Failure(FAILED, "cannot read the daemon's answer to " + method + " " + uri
          + ": " + e.getMessage());
    }
  }

  void print(Object document, Runnable table) {
    if (json) {
      try {
        out.println(mapper.writerWithDefaultPrettyPrinter().writeValueAsString(document));
      } catch (IOException e) {
        throw new Failure(FAILED, e.toString());
      }
    } else {
      table.run();
    }
    out.flush();
  }

  static String checkExtents(String text) {
    try {
      ExtentSyntax.parse(text);
      return text;
    } catch (RuntimeException e) {
      throw new Failure(USAGE, e.getMessage());
    }
  }

  /**
   * Extents as the daemon gets them: sorted, overlapping or touching ones merged. Says so on
   * stderr when that changed what was typed (repeated, unsorted or overlapping extents).
   */
  String normalisedExtents(String text) {
    checkExtents(text);
    io.pairkit.api.ExtentSet set = ExtentSyntax.parse(text);
    List<io.pairkit.api.Extent> typed = new ArrayList<>();
    for (String part : text.split(",")) {
      typed.add(ExtentSyntax.parse(part).extents().get(0));
    }
    String normal = ExtentSyntax.format(set);
    if (!typed.equals(set.extents())) {
      err.println("note: extents " + text + " taken as " + normal + " (sorted; repeated, "
          + "overlapping or touching extents merged)");
    }
    return normal;
  }

  static void table(PrintWriter out, List<String[]> rows) {
    int[] width = new int[rows.get(0).length];
    for (String[] r : rows) {
      for (int i = 0; i < r.length; i++) {
        width[i] = Math.max(width[i], r[i].length());
      }
    }
    for (String[] r : rows) {
      StringBuilder b = new StringBuilder();
      for (int i = 0; i < r.length; i++) {
        b.append(i == r.length - 1 ? r[i] : String.format("%-" + width[i] + "s  ", r[i]));
      }
      out.println(b.toString().stripTrailing());
    }
  }

  // ------------------------------------------------------------------ volume

  @Command(name = "volume", mixinStandardHelpOptions = true, description = "List or show volumes.",
      subcommands = {VolumeCmd.ListCmd.class, VolumeCmd.InfoCmd.class,
          VolumeCmd.StatusCmd.class, VolumeCmd.ScrubCmd.class})
  static final class VolumeCmd {
    @ParentCommand
    PairCtl root;

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List the daemon's volumes.")
    static final class ListCmd implements Callable<Integer> {
      @ParentCommand
      VolumeCmd parent;

      @Option(names = "--bytes", description = "sizes in bytes (default: KiB, MiB, GiB, TiB)")
      boolean bytes;

      @Override
      public Integer call() {
        PairCtl r = parent.root;
        ControlApi.VolumeView[] vs = r.call("GET", "volumes", null, ControlApi.VolumeView[].class);
        r.print(vs, () -> {
          List<String[]> rows = new ArrayList<>();
          rows.add(new String[] {"VOLUME", "TYPE", "SIZE", "EXPORT", "PAIRS"});
          for (ControlApi.VolumeView v : vs) {
            rows.add(new String[] {v.name(), v.type(), bytes ? Long.toString(v.size())
                : human(v.size()),
                (!v.exported() ? "-" : v.exportReadOnly() ? "ro" : "rw")
                    + (v.incomplete() != null ? " INCOMPLETE" : ""),
                v.pairs().isEmpty() ? "-" : String.join(",", v.pairs())});
          }
          table(r.out, rows);
        });
        return OK;
      }
    }

    @Command(name = "status", mixinStandardHelpOptions = true, description = "Backend health: "
        + "degraded or not, RAID members, rebuild progress.")
    static final class StatusCmd implements Callable<Integer> {
      @ParentCommand
      VolumeCmd parent;

      @Parameters(paramLabel = "VOLUME", arity = "0..1")
      String name;

      @Override
      public Integer call() {
        PairCtl r = parent.root;
        ControlApi.VolumeView[] vs = r.oneOrAll("volumes", name, ControlApi.VolumeView.class);
        r.print(vs, () -> {
          List<String[]> rows = new ArrayList<>();
          rows.add(new String[] {"VOLUME", "HEALTH", "PART", "STATE", "IN SYNC", "ERROR"});
          for (ControlApi.VolumeView v : vs) {
            ControlApi.HealthView h = v.health();
            rows.add(new String[] {v.name(), h.degraded() ? "DEGRADED" : "ok", "-", "-", "-",
                h.summary()});
            for (ControlApi.PartView part : h.parts()) {
              rows.add(new String[] {"", "", part.name(), part.state(),
                  part.totalBytes() == 0 ? "-" : (100 * part.doneBytes() / part.totalBytes())
                      + "%", part.lastError() == null ? "-" : part.lastError()});
            }
          }
          table(r.out, rows);
        });
        return OK;
      }
    }

    @Command(name = "scrub", mixinStandardHelpOptions = true, description = "Read every stripe "
        + "of a RAID volume and count those whose parity or mirrors disagree with the data "
        + "(md's check); --repair makes them consistent (md's repair). Exit 7 if it found "
        + "inconsistent stripes it did not repair.")
    static final class ScrubCmd implements Callable<Integer> {
      @ParentCommand
      VolumeCmd parent;

      @Parameters(paramLabel = "VOLUME")
      String name;

      @Option(names = "--repair", description = "rewrite the parity (RAID-5) or copy the first "
          + "mirror over the others (RAID-1) where they disagree")
      boolean repair;

      @Override
      public Integer call() {
        PairCtl r = parent.root;
        ControlApi.ScrubView s = r.call("POST", "volumes/" + seg(name) + "/scrub"
            + (repair ? "?repair=true" : ""), java.util.Map.of(), ControlApi.ScrubView.class);
        r.print(s, () -> r.out.println("volume " + s.volume() + ": " + s.summary()
            + (s.firstOffsets().isEmpty() ? "" : "; first at bytes " + s.firstOffsets())));
        return s.mismatches() > s.repaired() ? DIFFERENT : OK;
      }
    }

    @Command(name = "info", mixinStandardHelpOptions = true, description = "Show one volume.")
    static final class InfoCmd implements Callable<Integer> {
      @ParentCommand
      VolumeCmd parent;

      @Parameters(paramLabel = "VOLUME")
      String name;

      @Override
      public Integer call() {
        PairCtl r = parent.root;
        ControlApi.VolumeView v = r.call("GET", "volumes/" + seg(name), null,
            ControlApi.VolumeView.class);
        r.print(v, () -> {
          r.out.println("volume:  " + v.name());
          r.out.println("type:    " + v.type());
          r.out.println("size:    " + human(v.size()) + " (" + v.size() + " bytes)");
          r.out.println("export:  " + (!v.exported() ? "no" : v.exportReadOnly() ? "read-only"
              : "read-write"));
          r.out.println("pairs:   " + (v.pairs().isEmpty() ? "-" : String.join(", ", v.pairs())));
          if (v.incomplete() != null) {
            r.out.println("INCOMPLETE: " + v.incomplete());
          }
        });
        return OK;
      }
    }
  }

  /** A size for people: {@code 16 MiB}, {@code 1.5 GiB}; exact bytes below 1 KiB. */
  static String human(long bytes) {
    String[] units = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = bytes;
    int u = 0;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return u == 0 ? bytes + " B" : v == Math.rint(v) ? String.format(Locale.ROOT, "%.0f %s", v,
        units[u]) : String.format(Locale.ROOT, "%.1f %s", v, units[u]);
  }

  // ------------------------------------------------------------------ pair

  @Command(name = "pair", mixinStandardHelpOptions = true, description = "Create, split, resync, delete, display and wait for "
      + "pairs.", subcommands = {PairCmd.CreateCmd.class, PairCmd.SplitCmd.class,
          PairCmd.ResyncCmd.class, PairCmd.RestoreCmd.class, PairCmd.SuspendCmd.class,
          PairCmd.ResumeCmd.class,
          PairCmd.DeleteCmd.class,
          PairCmd.DisplayCmd.class, PairCmd.WaitCmd.class, PairCmd.SetCmd.class})
  static final class PairCmd {
    @ParentCommand
    PairCtl root;

    @Command(name = "create", mixinStandardHelpOptions = true, description = "Pair two volumes and start the initial copy "
        + "(paircreate).")
    static final class CreateCmd implements Callable<Integer> {
      @ParentCommand
      PairCmd parent;

      @Parameters(paramLabel = "PAIR")
      String id;

      @Option(names = {"-p", "--primary"}, required = true)
      String primary;

      @Option(names = {"-s", "--secondary"}, required = true)
      String secondary;

      @Option(names = "--strategy", defaultValue = "volume",
          description = "volume (default), extent or extent-split")
      String strategy;

      @Option(names = "--extents", description = "for --strategy extent: START-END[,...]")
      String extents;

      @Option(names = "--mirror", defaultValue = "auto", description = "sync (host writes go "
          + "to both volumes, like RAID-1), async (copied in the background) or auto (default: "
          + "sync for a local secondary, async for a remote one)")
      String mirror;

      @Option(names = "--pace", description = "cap this pair's copies at RATE bytes per second "
          + "(50M = 50 MiB/s, 800K, 1G; default none: only the daemon's cap)")
      String pace;

      @Option(names = "--nocopy", description = "no initial copy (paircreate -nocopy): you "
          + "assert that both volumes already hold the same data; check with pairctl verify")
      boolean nocopy;

      @Override
      public Integer call() {
        PairCtl r = parent.root;
        if (extents != null) {
          extents = r.normalisedExtents(extents);
        }
        checkMirror(mirror);
        if (pace != null) {
          checkPace(pace);
        }
        ControlApi.PairView p = r.call("POST", "pairs",
            new ControlApi.CreatePair(id, strategy, primary, secondary, extents, mirror, pace,
                nocopy), ControlApi.PairView.class);
        r.print(p, () -> r.out.println("pair " + p.id() + " created: " + p.primary() + " -> "
            + p.secondary() + ", " + p.state() + ", mirroring " + mode(p)
            + (p.copyPace() > 0 ? ", pace " + RateWords.format(p.copyPace()) : "")
            + (p.initialCopy() ? "" : ", no initial copy (both volumes taken as equal)")));
        return OK;
      }
    }

    @Command(name = "set", mixinStandardHelpOptions = true, description = "Change a pair's settings: --mirror sync|async|auto, "
        + "--pace RATE|none.")
    static final class SetCmd implements Callable<Integer> {
      @ParentCommand
      PairCmd parent;

      @Parameters(paramLabel = "PAIR")
      String id;

      @Option(names = "--mirror", description = "sync, async or auto")
      String mirror;

      @Option(names = "--pace", description = "cap this pair's copies at RATE bytes per second "
          + "(50M = 50 MiB/s), or none")
      String pace;

      @Override
      public Integer call() {
        PairCtl r = parent.root;
        if (mirror == null && pace == null) {
          throw new Failure(USAGE, "pair set needs --mirror sync|async|auto or --pace RATE|none");
        }
        if (mirror != null) {
          checkMirror(mirror);
        }
        if (pace != null) {
          checkPace(pace);
        }
        ControlApi.PairView p = null;
        if (mirror != null) {
          p = r.call("POST", "pairs/" + seg(id) + "/mirror",
              new ControlApi.MirrorSetting(mirror), ControlApi.PairView.class);
        }
        if (pace != null) {
          p = r.call("POST", "pairs/" + seg(id) + "/pace", new ControlApi.PaceSetting(pace),
              ControlApi.PairView.class);
        }
        ControlApi.PairView v = p;
        r.print(v, () -> r.out.println("pair " + v.id() + " mirroring " + mode(v)
            + (v.mirrorReason() == null ? "" : " (" + v.mirrorReason() + ")") + ", pace "
            + RateWords.format(v.copyPace())));
        return OK;
      }
    }

    @Command(name = "suspend", mixinStandardHelpOptions = true, description = "Stop copying to the secondary and keep recording "
        + "what changes (pairsplit -E); pair resume copies it.")
    static final class SuspendCmd implements Callable<Integer> {
      @ParentCommand
      PairCmd parent;

      @Parameters(paramLabel = "PAIR")
      String id;

      @Override
      public Integer call() {
        PairCtl r = parent.root;
        ControlApi.PairView p = r.call("POST", "pairs/" + seg(id) + "/suspend",
            java.util.Map.of(), ControlApi.PairView.class);
        r.print(p, () -> r.out.println("pair " + p.id() + " " + p.state() + ": host writes go "
            + "to " + p.primary() + " only and are recorded; pair resume " + p.id()
            + " copies them"));
        return OK;
      }
    }

    static void checkPace(String pace) {
      try {
        RateWords.parse(pace);
      } catch (IllegalArgumentException e) {
        throw new Failure(USAGE, "--pace " + e.getMessage());
      }
    }

    /** A pair's mirroring in a word: sync or async, and what was asked if it differs. */
    static String mode(ControlApi.PairView p) {
      String now = "SYNCHRONOUS".equals(p.mirroring()) ? "sync" : "async";
      if ("AUTOMATIC".equals(p.mirror())) {
        return now + " (auto)";
      }
      String asked = "SYNCHRONOUS".equals(p.mirror()) ? "sync" : "async";
      return asked.equals(now) ? now : now + " (set to " + asked + ")";
    }

    static void checkMirror(String mirror) {
      try {
        MirrorModeWords.parse(mirror);
      } catch (IllegalArgumentException e) {
        throw new Failure(USAGE, "--mirror " + e.getMessage());
      }
    }

    abstract static class RequestCmd implements Callable<Integer> {
      @ParentCommand
      PairCmd parent;

      @Parameters(paramLabel = "PAIR")
      String id;

      abstract String kind();

      String extents() {
        return null;
      }

      @Override
      public Integer call() {
        return submit(parent.root, id, kind(), extents());
      }
    }

    @Command(name = "split", mixinStandardHelpOptions = true, description = "Freeze the copy at this instant (pairsplit).")
    static final class SplitCmd extends RequestCmd {
      String kind() {
        return "SPLIT";
      }
    }

    @Command(name = "resync", mixinStandardHelpOptions = true, description = "Mirror again, copying only differences "
        + "(pairresync).")
    static final class ResyncCmd extends RequestCmd {
      String kind() {
        return "RESYNC";
      }
    }

    @Command(name = "restore", mixinStandardHelpOptions = true, description = "Copy the split "
        + "copy back to the primary (pairresync -restore): everything split, or only --extents "
        + "(one file's, say); only what changed is copied, the primary stays online.")
    static final class RestoreCmd implements Callable<Integer> {
      @ParentCommand
      PairCmd parent;

      @Parameters(paramLabel = "PAIR")
      String id;

      @Option(names = "--extents", paramLabel = "START-END[,...]", description = "restore only "
          + "these bytes (END exclusive, k/m/g suffixes); exactly these: other bytes of the "
          + "primary keep their data")
      String extents;

      @Override
      public Integer call() {
        PairCtl r = parent.root;
        String normal = extents == null ? null : r.normalisedExtents(extents);
        ControlApi.RequestView q = r.call("POST", "pairs/" + seg(id) + "/requests",
            new ControlApi.Request("RESTORE", normal), ControlApi.RequestView.class);
        r.print(q, () -> r.out.println("RESTORE request " + q.id() + " on pair " + id + ": "
            + q.tracksToCopy() + " changed tracks to copy back to the primary"
            + (normal == null ? "" : " (only the bytes of " + normal + ")")
            + (q.finished() ? " (" + q.state() + ")" : "") + "; the primary stays online; "
            + "pairctl pair wait " + id + " --request " + q.id()));
        return OK;
      }
    }

    @Command(name = "resume", mixinStandardHelpOptions = true, description = "Copy what changed while the pair was suspended "
        + "(by pair suspend or a backend failure), and mirror again.")
    static final class ResumeCmd extends RequestCmd {
      String kind() {
        return "RESUME";
      }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true, description = "Delete a pair (pairsplit -S); --force even while a "
        + "split copy is incomplete.")
    static final class DeleteCmd implements Callable<Integer> {
      @ParentCommand
      PairCmd parent;

      @Parameters(paramLabel = "PAIR")
      String id;

      @Option(names = "--force")
      boolean force;

      @Override
      public Integer call() {
        PairCtl r = parent.root;
        ControlApi.PairView p = r.call("DELETE", "pairs/" + seg(id) + (force ? "?force=true" : ""),
            null, ControlApi.PairView.class);
        r.print(p, () -> r.out.println("pair " + p.id() + " " + p.state()));
        return OK;
      }
    }

    @Command(name = "display", mixinStandardHelpOptions = true, description = "Show pairs like pairdisplay.")
    static final class DisplayCmd implements Callable<Integer> {
      @ParentCommand
      PairCmd parent;

      @Parameters(paramLabel = "PAIR", arity = "0..1")
      String id;

      @Override
      public Integer call() {
        PairCtl r = parent.root;
        ControlApi.PairView[] pairs = r.oneOrAll("pairs", id, ControlApi.PairView.class);
        r.print(pairs, () -> { // --json: always a list, of one pair when one is named
          List<String[]> rows = new ArrayList<>();
          rows.add(new String[] {"PAIR", "P", "S", "STRATEGY", "STATE", "MIRROR", "PACE",
              "%SYNC", "PENDING", "CHANGED", "REQUESTS"});
          for (ControlApi.PairView p : pairs) {
            StringBuilder reqs = new StringBuilder();
            for (ControlApi.RequestView q : p.requests()) {
              reqs.append(reqs.length() == 0 ? "" : " ").append(q.kind()).append('#')
                  .append(q.id()).append(' ').append(q.tracksDone()).append('/')
                  .append(q.tracksToCopy());
            }
            rows.add(new String[] {p.id(), p.primary(), p.secondary(), p.strategy(), p.state(),
                mode(p), p.copyPace() > 0 ? RateWords.format(p.copyPace()) : "-",
                String.format(Locale.ROOT, "%.1f", p.inSyncPercent()),
                Long.toString(p.pendingTracks()), Long.toString(p.changedTracks()),
                reqs.length() == 0 ? "-" : reqs.toString()});
          }
          table(r.out, rows);
        });
        return OK;
      }
    }

    @Command(name = "wait", mixinStandardHelpOptions = true, description = "Wait until the pair reaches a state or a request "
        + "completes (pairevtwait).")
    static final class WaitCmd implements Callable<Integer> {
      @ParentCommand
      PairCmd parent;

      @Parameters(paramLabel = "PAIR")
      String id;

      @Option(names = "--state", description = "e.g. FORMED, SPLIT, EXTENT_SPLIT")
      String state;

      @Option(names = "--request", description = "a request id (as printed by split, resync, "
          + "extent ...)")
      Long request;

      @Option(names = "--timeout", defaultValue = "60s",
          description = "how long to wait: 90s, 10m, 1h (default 60s)")
      String timeout;

      @Override
      public Integer call() throws InterruptedException {
        PairCtl r = parent.root;
        if ((state == null) == (request == null)) {
          throw new Failure(USAGE, "pair wait needs exactly one of --state or --request");
        }
        if (state != null && java.util.Arrays.stream(io.pairkit.api.PairState.values())
            .noneMatch(s -> s.name().equalsIgnoreCase(state))) {
          throw new Failure(USAGE, "--state " + state + " is not a pair state; use one of "
              + java.util.Arrays.toString(io.pairkit.api.PairState.values()));
        }
        Duration limit = duration(timeout);
        long deadline = System.nanoTime() + limit.toNanos();
        boolean terminal = System.console() != null && !r.json;
        ProgressBar bar = null;
        long lastLine = 0;
        try {
          while (true) {
            ControlApi.PairView p = r.call("GET", "pairs/" + seg(id), null, ControlApi.PairView.class);
            ControlApi.RequestView watched = request == null ? null
                : r.call("GET", "pairs/" + seg(id) + "/requests/" + request, null,
                    ControlApi.RequestView.class);
            if (watched != null && (watched.state().equals("failed")
                || watched.state().equals("cancelled"))) {
              throw new Failure(WRONG_STATE, "request " + request + " on pair " + id + " "
                  + watched.state() + (watched.error() != null ? ": " + watched.error() : "")
                  + "; the pair is " + p.state());
            }
            boolean reached = state != null ? p.state().equalsIgnoreCase(state)
                : watched.finished();
            if (reached) {
              if (bar != null) {
                bar.stepTo(bar.getMax());
                bar.close();
              }
              r.print(p, () -> r.out.println("pair " + p.id() + " " + p.state()
                  + (watched != null ? ": " + watched.kind() + " request " + request + " done"
                      + (watched.region() == null || watched.region().isEmpty() ? ""
                          : " on " + watched.region()) + ", copied " + watched.tracksCopied()
                      + " tracks (" + human(watched.bytesCopied()) + ")" : "")));
              return OK;
            }
            if (state != null && p.state().equals("SUSPENDED")
                && !state.equalsIgnoreCase("SUSPENDED")) {
              throw new Failure(WRONG_STATE, "pair " + id + " is SUSPENDED (by pair suspend or "
                  + "a backend failure): run pairctl pair resume " + id + " (after fixing the "
                  + "backend, if one failed)");
            }
            long total = watched != null ? watched.tracksToCopy() : p.scopeTracks();
            long done = watched != null ? watched.tracksDone()
                : Math.round(p.inSyncPercent() * p.scopeTracks() / 100);
            if (terminal) {
              if (bar == null) {
                bar = new ProgressBarBuilder().setTaskName(id + " " + p.state())
                    .setInitialMax(Math.max(1, total)).setStyle(ProgressBarStyle.ASCII).build();
              }
              bar.maxHint(Math.max(1, total));
              bar.stepTo(done);
              bar.setExtraMessage(p.state());
            } else if (System.nanoTime() - lastLine > 1_000_000_000L && !r.json) {
              r.out.println("pair " + id + " " + p.state() + " " + done + "/" + total
                  + " tracks");
              r.out.flush();
              lastLine = System.nanoTime();
            }
            if (System.nanoTime() > deadline) {
              throw new Failure(TIMEOUT, "pair " + id + " is " + p.state() + " after " + timeout
                  + (state != null ? ", not " + state.toUpperCase(Locale.ROOT)
                      : ", request " + request + " still running"));
            }
            Thread.sleep(100);
          }
        } finally {
          if (bar != null) {
            bar.close();
          }
        }
      }
    }
  }

  static int submit(PairCtl r, String id, String kind, String extents) {
    ControlApi.RequestView q = r.call("POST", "pairs/" + seg(id) + "/requests",
        new ControlApi.Request(kind, extents), ControlApi.RequestView.class);
    r.print(q, () -> r.out.println(kind + " request " + q.id() + " on pair " + id + ": "
        + q.tracksToCopy() + " tracks to copy" + (q.finished() ? " (" + q.state() + ")" : "")
        + "; pairctl pair wait " + id + " --request " + q.id()));
    return OK;
  }

  static Duration duration(String text) {
    String t = text.trim().toLowerCase(Locale.ROOT);
    try {
      long n = Long.parseLong(t.replaceAll("[a-z]+$", ""));
      String unit = t.replaceAll("^[0-9]+", "");
      return switch (unit) {
        case "", "s" -> Duration.ofSeconds(n);
        case "ms" -> Duration.ofMillis(n);
        case "m" -> Duration.ofMinutes(n);
        case "h" -> Duration.ofHours(n);
        default -> throw new NumberFormatException();
      };
    } catch (NumberFormatException e) {
      throw new Failure(USAGE, "timeout '" + text + "' is not a duration: use e.g. 90s, 10m, 1h");
    }
  }

  // ------------------------------------------------------------------ group

  @Command(name = "group", mixinStandardHelpOptions = true, description = "Consistency groups: "
      + "pairs whose split, resync, extent update and restore take effect at one instant (CTG).",
      subcommands = {GroupCmd.CreateCmd.class, GroupCmd.SplitCmd.class, GroupCmd.ResyncCmd.class,
          GroupCmd.UpdateCmd.class, GroupCmd.RestoreCmd.class, GroupCmd.DisplayCmd.class,
          GroupCmd.DeleteCmd.class})
  static final class GroupCmd {
    @ParentCommand
    PairCtl root;

    @Command(name = "create", mixinStandardHelpOptions = true, description = "Group pairs: "
        + "group create NAME PAIR PAIR...")
    static final class CreateCmd implements Callable<Integer> {
      @ParentCommand
      GroupCmd parent;

      @Parameters(index = "0", paramLabel = "GROUP")
      String name;

      @Parameters(index = "1..*", paramLabel = "PAIR", arity = "1..*")
      List<String> pairs;

      @Override
      public Integer call() {
        PairCtl r = parent.root;
        ControlApi.GroupView g = r.call("POST", "groups", new ControlApi.CreateGroup(name, pairs),
            ControlApi.GroupView.class);
        r.print(g, () -> r.out.println("group " + g.name() + " created: "
            + g.pairs().stream().map(ControlApi.PairView::id).toList()));
        return OK;
      }
    }

    abstract static class GroupRequestCmd implements Callable<Integer> {
      @ParentCommand
      GroupCmd parent;

      @Parameters(index = "0", paramLabel = "GROUP")
      String name;

      abstract String kind();

      java.util.Map<String, String> extents() {
        return null;
      }

      @Override
      public Integer call() {
        PairCtl r = parent.root;
        ControlApi.RequestView[] qs = r.call("POST", "groups/" + seg(name) + "/requests",
            new ControlApi.GroupRequest(kind(), extents()), ControlApi.RequestView[].class);
        r.print(qs, () -> {
          r.out.println(kind() + " of group " + name + " at one instant:");
          for (ControlApi.RequestView q : qs) {
            r.out.println("  pair " + q.pairId() + ": request " + q.id() + ", "
                + q.tracksToCopy() + " tracks to copy; pairctl pair wait " + q.pairId()
                + " --request " + q.id());
          }
        });
        return OK;
      }
    }

    /** PAIR=EXTENTS words as a map; a malformed one is a usage error. */
    static java.util.Map<String, String> perPairExtents(List<String> perPair) {
      java.util.Map<String, String> out = new java.util.LinkedHashMap<>();
      for (String p : perPair) {
        int eq = p.indexOf('=');
        if (eq <= 0) {
          throw new Failure(USAGE, "'" + p + "' is not PAIR=START-END[,...]");
        }
        checkExtents(p.substring(eq + 1));
        out.put(p.substring(0, eq), p.substring(eq + 1));
      }
      return out;
    }

    @Command(name = "split", mixinStandardHelpOptions = true,
        description = "Split every pair of the group at one instant.")
    static final class SplitCmd extends GroupRequestCmd {
      String kind() {
        return "SPLIT";
      }
    }

    @Command(name = "resync", mixinStandardHelpOptions = true,
        description = "Resync every pair of the group at one instant.")
    static final class ResyncCmd extends GroupRequestCmd {
      String kind() {
        return "RESYNC";
      }
    }

    @Command(name = "update", mixinStandardHelpOptions = true, description = "Extent update of "
        + "every pair at one instant: group update NAME PAIR=START-END[,...] ...")
    static final class UpdateCmd extends GroupRequestCmd {
      @Parameters(index = "1..*", paramLabel = "PAIR=EXTENTS", arity = "1..*")
      List<String> perPair;

      String kind() {
        return "EXTENT_UPDATE";
      }

      @Override
      java.util.Map<String, String> extents() {
        return perPairExtents(perPair);
      }
    }

    @Command(name = "restore", mixinStandardHelpOptions = true, description = "Restore every "
        + "pair's primary from its split copy at one instant: group restore NAME "
        + "[PAIR=START-END[,...] ...] (a pair not named restores all it has split).")
    static final class RestoreCmd extends GroupRequestCmd {
      @Parameters(index = "1..*", paramLabel = "PAIR=EXTENTS", arity = "0..*")
      List<String> perPair = new ArrayList<>();

      String kind() {
        return "RESTORE";
      }

      @Override
      java.util.Map<String, String> extents() {
        return perPairExtents(perPair);
      }
    }

    @Command(name = "display", mixinStandardHelpOptions = true,
        description = "Show groups and their pairs' states.")
    static final class DisplayCmd implements Callable<Integer> {
      @ParentCommand
      GroupCmd parent;

      @Parameters(paramLabel = "GROUP", arity = "0..1")
      String name;

      @Override
      public Integer call() {
        PairCtl r = parent.root;
        ControlApi.GroupView[] gs = r.oneOrAll("groups", name, ControlApi.GroupView.class);
        r.print(gs, () -> {
          List<String[]> rows = new ArrayList<>();
          rows.add(new String[] {"GROUP", "PAIR", "P", "S", "STATE", "PENDING", "CHANGED"});
          for (ControlApi.GroupView g : gs) {
            for (ControlApi.PairView p : g.pairs()) {
              rows.add(new String[] {g.name(), p.id(), p.primary(), p.secondary(), p.state(),
                  Long.toString(p.pendingTracks()), Long.toString(p.changedTracks())});
            }
          }
          table(r.out, rows);
        });
        return OK;
      }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true,
        description = "Dissolve a group; its pairs stay as they are.")
    static final class DeleteCmd implements Callable<Integer> {
      @ParentCommand
      GroupCmd parent;

      @Parameters(paramLabel = "GROUP")
      String name;

      @Override
      public Integer call() {
        PairCtl r = parent.root;
        ControlApi.GroupView g = r.call("DELETE", "groups/" + seg(name), null,
            ControlApi.GroupView.class);
        r.print(g, () -> r.out.println("group " + g.name() + " deleted; its pairs stay"));
        return OK;
      }
    }
  }

  // ------------------------------------------------------------------ extent

  @Command(name = "extent", mixinStandardHelpOptions = true, description = "Extent update, split and join.",
      subcommands = {ExtentCmd.UpdateCmd.class, ExtentCmd.SplitCmd.class,
          ExtentCmd.JoinCmd.class})
  static final class ExtentCmd {
    @ParentCommand
    PairCtl root;

    abstract static class ExtentRequest implements Callable<Integer> {
      @ParentCommand
      ExtentCmd parent;

      @Parameters(index = "0", paramLabel = "PAIR")
      String id;

      @Parameters(index = "1", paramLabel = "EXTENTS",
          description = "START-END[,START-END...], END exclusive, k/m/g suffixes")
      String extents;

      abstract String kind();

      @Override
      public Integer call() {
        PairCtl r = parent.root;
        String normal = r.normalisedExtents(extents);
        int code = submit(r, id, kind(), normal);
        if (!r.json && kind().equals("EXTENT_UPDATE")) {
          ControlApi.PairView p = r.call("GET", "pairs/" + seg(id), null,
              ControlApi.PairView.class);
          long asked = 0;
          for (io.pairkit.api.Extent e : ExtentSyntax.parse(normal).extents()) {
            asked += e.end() - e.start();
          }
          r.out.println("asked for " + asked + " bytes; exactly these are refreshed from "
              + p.primary() + " (a " + human(p.trackSize()) + " track they cover only in part "
              + "keeps its other bytes and stays marked changed)");
        }
        return code;
      }
    }

    @Command(name = "update", mixinStandardHelpOptions = true, description = "Refresh only these extents of a split copy.")
    static final class UpdateCmd extends ExtentRequest {
      String kind() {
        return "EXTENT_UPDATE";
      }
    }

    @Command(name = "split", mixinStandardHelpOptions = true, description = "Freeze these extents; the rest keeps mirroring.")
    static final class SplitCmd extends ExtentRequest {
      String kind() {
        return "EXTENT_SPLIT";
      }
    }

    @Command(name = "join", mixinStandardHelpOptions = true, description = "Unfreeze these extents and copy their differences.")
    static final class JoinCmd extends ExtentRequest {
      String kind() {
        return "EXTENT_JOIN";
      }
    }
  }

  // ------------------------------------------------------------------ verify

  @Command(name = "verify", mixinStandardHelpOptions = true, description = "Compare two volumes track by track over extents and "
      + "list the tracks that differ.")
  static final class VerifyCmd implements Callable<Integer> {
    @ParentCommand
    PairCtl root;

    @Parameters(index = "0", paramLabel = "PRIMARY")
    String primary;

    @Parameters(index = "1", paramLabel = "SECONDARY")
    String secondary;

    @Option(names = "--extents", description = "START-END[,...] (default: all)")
    String extents;

    @Override
    public Integer call() {
      if (extents != null) {
        checkExtents(extents);
      }
      ControlApi.VerifyResult v = root.call("POST", "verify",
          new ControlApi.Verify(primary, secondary, extents), ControlApi.VerifyResult.class);
      root.print(v, () -> {
        root.out.println(v.tracksCompared() + " tracks compared, " + v.tracksDiffering()
            + " differ");
        for (long[] range : v.differingTrackRanges()) {
          root.out.println("  tracks " + range[0] + "-" + (range[1] - 1) + " (bytes "
              + range[0] * v.trackSize() + "-" + range[1] * v.trackSize() + ")");
        }
      });
      return v.tracksDiffering() == 0 ? OK : DIFFERENT;
    }
  }
}
