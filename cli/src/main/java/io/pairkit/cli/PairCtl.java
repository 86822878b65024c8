package io.pairkit.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.pairkit.control.ExtentSyntax;
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
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code pairctl}: drives pairkitd's pairs in the vocabulary of array copy functions (Hitachi
 * CCI's paircreate / pairsplit / pairresync / pairdisplay / pairevtwait). It talks to the daemon's
 * control endpoint: {@code --endpoint URL}, else {@code server.control.url} or the address and
 * port of {@code --config FILE}, else {@code $PAIRKIT_ENDPOINT}, else
 * {@code http://127.0.0.1:10810}.
 */
@Command(name = "pairctl", mixinStandardHelpOptions = true,
    versionProvider = PairCtl.VersionProvider.class,
    description = "Drive PairKit volume pairs served by pairkitd.",
    subcommands = {VolumeCmd.class, PairCmd.class, GroupCmd.class,
        ExtentCmd.class, VerifyCmd.class},
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

  static {
    // A POST whose connection drops before the answer is not sent again: a split or a restore
    // must not run twice because the JDK retried it.
    System.setProperty("sun.net.http.retryPost", "false");
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
    if (p != null && p.getProperty("server.control.url") != null) {
      url = p.getProperty("server.control.url").trim(); // the name the certificate carries
    } else if (p != null) {
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
        throw new Failure(USAGE, "the CA to trust (--ca, $PAIRKIT_CA or ca-cert.pem in "
            + "server.control.tls.dir): " + e.getMessage());
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
      // A verify or scrub reads whole volumes before answering; any other call answers at
      // once, so a silent endpoint (e.g. https:// to a pairkitd serving http) fails fast.
      c.setReadTimeout(path.startsWith("verify") || path.endsWith("/scrub") ? 3_600_000 : 60_000);
      c.setInstanceFollowRedirects(false); // pairkitd never redirects; never resend elsewhere
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

  // ------------------------------------------------------------------ words the commands share

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

  /** Submits a request of {@code kind} on pair {@code id} and says how to wait for it. */
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
}
