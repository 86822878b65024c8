package io.pairkit.server;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.pairkit.api.CopyProgress;
import io.pairkit.api.CopyRequest;
import io.pairkit.api.Extent;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.HostVolume;
import io.pairkit.api.MirrorMode;
import io.pairkit.api.MirrorStatus;
import io.pairkit.api.Pair;
import io.pairkit.api.PairOptions;
import io.pairkit.api.PairController;
import io.pairkit.api.PairStats;
import io.pairkit.api.RequestKind;
import io.pairkit.api.error.AlreadyClosedException;
import io.pairkit.api.error.InvalidArgumentException;
import io.pairkit.api.error.NotFoundException;
import io.pairkit.api.error.PairKitException;
import io.pairkit.api.error.PairStateException;
import io.pairkit.api.error.VolumeIOException;
import io.pairkit.control.ExtentSyntax;
import io.pairkit.control.MirrorModeWords;
import io.pairkit.control.RateWords;
import io.pairkit.control.ControlApi;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.logging.Logger;

/**
 * pairkitd's control endpoint: JSON over HTTP ({@code com.sun.net.httpserver}, no dependency),
 * the documents of {@link ControlApi}. It listens where the configuration says (loopback unless
 * {@code server.allowRemote=true}); every mutating call is logged with the caller's address.
 *
 * <p>Over 500 lines: one handler per pairctl command (volumes, pairs, groups, extents, verify,
 * scrub, metrics), each a few lines over the engine's API; the listener, its TLS and the
 * request checks are the rest. Split by command group they would share every helper.
 */
final class ControlServer implements AutoCloseable {
  static {
    // A client that sends half a request (or a TLS handshake to a plain endpoint) must not hold
    // a worker for good: the JDK's server waits forever unless told (seconds, read at its start).
    if (System.getProperty("sun.net.httpserver.maxReqTime") == null) {
      System.setProperty("sun.net.httpserver.maxReqTime", "30");
    }
  }

  private static final Logger LOG = Logger.getLogger(ControlServer.class.getName());
  static final String VERSION = io.pairkit.control.Version.get();
  private static final int VERIFY_CHUNK = 4 << 20;

  private final HttpServer http;
  private final PairController controller;
  private final Map<String, Daemon.VolumeEntry> volumes;
  private final ObjectMapper json = new ObjectMapper()
      .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, true);
  private final java.util.function.IntSupplier nbdPort;
  private final int trackSize;
  /** Requests made or seen here, newest last, so their outcome can be asked for afterwards. */
  private final Map<Long, CopyRequest> requests = java.util.Collections.synchronizedMap(
      new java.util.LinkedHashMap<>(256, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, CopyRequest> eldest) {
          return size() > 4096;
        }
      });
  private static final int MAX_BODY = 1 << 20;

  /** Every call but health needs it (reads too, unless {@link #openReads}). */
  private final ControlToken token;
  private volatile ServerMetrics metrics;
  /** Secondaries a forced delete left incomplete: read-only until a new pair copies them. */
  private final IncompleteVolumes incomplete;
  private final boolean openReads;
  private final boolean tls;

  ControlServer(InetSocketAddress bind, PairController controller,
      Map<String, Daemon.VolumeEntry> volumes, java.util.function.IntSupplier nbdPort,
      int trackSize, ControlToken token, boolean openReads, IncompleteVolumes incomplete,
      javax.net.ssl.SSLContext tls) throws IOException {
    this.incomplete = incomplete;
    this.token = token;
    this.openReads = openReads;
    this.metrics = new ServerMetrics(controller, () -> 0);
    this.trackSize = trackSize;
    this.controller = controller;
    this.volumes = volumes;
    this.nbdPort = nbdPort;
    if (tls == null) {
      this.http = HttpServer.create(bind, 16);
    } else {
      com.sun.net.httpserver.HttpsServer https = com.sun.net.httpserver.HttpsServer.create(bind,
          16);
      https.setHttpsConfigurator(new com.sun.net.httpserver.HttpsConfigurator(tls));
      this.http = https;
    }
    this.tls = tls != null;
    http.createContext("/v1/", this::handle);
    http.createContext("/metrics", this::scrape);
    http.setExecutor(Executors.newFixedThreadPool(4, r -> {
      Thread t = new Thread(r, "pairkitd-control");
      t.setDaemon(true);
      return t;
    }));
    http.start();
  }

  int port() {
    return http.getAddress().getPort();
  }

  boolean tls() {
    return tls;
  }

  /** Counts NBD connections from {@code nbd} in the metrics. */
  void countNbdConnections(java.util.function.IntSupplier nbd) {
    this.metrics = new ServerMetrics(controller, nbd);
  }

  /** {@code GET /metrics}: Prometheus text; needs the token unless reads are open. */
  private void scrape(HttpExchange ex) throws IOException {
    if (!ex.getRequestMethod().equals("GET") || !ex.getRequestURI().getPath().equals("/metrics")) {
      send(ex, 404, new ControlApi.ErrorView("NotFoundException", "GET /metrics only"));
      return;
    }
    if (!openReads && !token.accepts(ex.getRequestHeaders().getFirst("Authorization"))) {
      LOG.warning("control: refused GET /metrics from " + caller(ex) + ": no valid token");
      send(ex, 401, new ControlApi.ErrorView("Unauthorized", "metrics need pairkitd's "
          + "control token, in " + token.file() + " (Prometheus: authorization.credentials_file)"));
      return;
    }
    byte[] body = metrics.scrape().getBytes(java.nio.charset.StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    ex.sendResponseHeaders(200, body.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(body);
    }
  }

  /** The caller for the log: its local user where the kernel says, and its address. */
  private String caller(HttpExchange ex) {
    String who = PeerCredentials.describe(ex.getRemoteAddress(), port());
    return (who.isEmpty() ? "" : who + " at ") + ex.getRemoteAddress();
  }

  @Override
  public void close() {
    http.stop(1);
  }

  private void handle(HttpExchange ex) throws IOException {
    String method = ex.getRequestMethod();
    String path = ex.getRequestURI().getPath();
    List<String> parts = new ArrayList<>(Arrays.asList(path.substring(4).split("/")));
    parts.removeIf(String::isEmpty);
    boolean mutating = !method.equals("GET");
    try {
      String refusal = refusal(ex, mutating);
      if (refusal != null) {
        LOG.warning("control: refused " + method + " " + ex.getRequestURI() + " from "
            + caller(ex) + ": " + refusal);
        send(ex, refusal.startsWith("415") ? 415 : 403, new ControlApi.ErrorView(
            "RequestRefused", refusal.substring(4)));
        return;
      }
      String caller = caller(ex);
      boolean health = method.equals("GET") && path.equals("/v1/health");
      if (!health && !(openReads && !mutating)
          && !token.accepts(ex.getRequestHeaders().getFirst("Authorization"))) {
        LOG.warning("control: refused " + method + " " + ex.getRequestURI() + " from " + caller
            + ": no valid control token");
        send(ex, 401, new ControlApi.ErrorView("Unauthorized", "this call needs pairkitd's "
            + "control token, in " + token.file() + " (readable by its owner only): run pairctl "
            + "as that user (or root), with --config or --token-file"));
        return;
      }
      byte[] body = ex.getRequestBody().readNBytes(MAX_BODY + 1);
      if (body.length > MAX_BODY) {
        throw new InvalidArgumentException("request body larger than " + MAX_BODY + " bytes");
      }
      if (mutating) {
        LOG.info("control: " + method + " " + ex.getRequestURI() + " from "
            + caller + (body.length > 0 ? " " + new String(body,
                java.nio.charset.StandardCharsets.UTF_8) : ""));
      }
      Object result;
      int status = 200;
      String first = parts.isEmpty() ? "" : parts.get(0);
      switch (method + " " + first + "/" + parts.size()) {
        case "GET health/1" -> result = new ControlApi.Health("ok", VERSION, nbdPort.getAsInt(),
            port(), controller.volumes().size(), controller.pairs().size());
        case "GET volumes/1" -> result = controller.volumes().stream().map(this::view).toList();
        case "GET volumes/2" -> result = view(volume(parts.get(1)));
        case "GET pairs/1" -> result = controller.pairs().stream().map(ControlServer::view)
            .toList();
        case "GET pairs/2" -> result = view(pair(parts.get(1)));
        case "GET pairs/4" -> {
          if (!parts.get(2).equals("requests")) {
            throw new NotFoundException("no such path: " + path);
          }
          result = requestView(pair(parts.get(1)), parts.get(3));
        }
        case "POST volumes/3" -> {
          if (!parts.get(2).equals("scrub")) {
            throw new NotFoundException("no such path: " + path);
          }
          HostVolume v = volume(parts.get(1));
          boolean repair = Arrays.asList(String.valueOf(ex.getRequestURI().getQuery())
              .split("&")).contains("repair=true");
          io.pairkit.api.spi.ScrubReport r;
          try {
            r = v.scrub(repair);
          } catch (UnsupportedOperationException e) {
            throw new InvalidArgumentException(e.getMessage());
          }
          LOG.info("volume '" + v.name() + "' scrubbed (" + (repair ? "repair" : "check")
              + "): " + r.summary());
          result = new ControlApi.ScrubView(v.name(), repair, r.checkedBytes(), r.mismatches(),
              r.repaired(), r.firstOffsets(), r.summary());
        }
        case "POST pairs/1" -> {
          result = create(parse(body, ControlApi.CreatePair.class));
          status = 201;
        }
        case "POST pairs/3" -> {
          if (parts.get(2).equals("mirror")) {
            Pair p = pair(parts.get(1));
            p.setMirrorMode(mirrorMode(parse(body, ControlApi.MirrorSetting.class).mode()));
            result = view(p);
          } else if (parts.get(2).equals("pace")) {
            Pair p = pair(parts.get(1));
            p.setCopyPace(rate(parse(body, ControlApi.PaceSetting.class).pace()));
            result = view(p);
          } else if (parts.get(2).equals("suspend")) {
            Pair p = pair(parts.get(1));
            p.suspend();
            result = view(p);
          } else if (parts.get(2).equals("requests")) {
            result = request(pair(parts.get(1)), parse(body, ControlApi.Request.class));
            status = 202;
          } else {
            throw new NotFoundException("no such path: " + path);
          }
        }
        case "DELETE pairs/2" -> {
          Pair p = pair(parts.get(1));
          String query = String.valueOf(ex.getRequestURI().getQuery());
          if (Arrays.asList(query.split("&")).contains("force=true")) {
            try {
              p.delete();
            } catch (PairStateException incompleteCopy) {
              // Forced past the refusal: the secondary keeps a half-made copy. Say so, keep its
              // export read-only, until a new pair copies it whole.
              p.forceDelete();
              incomplete.mark(p.secondary().name(), "pair '" + p.id() + "' was deleted with "
                  + "--force while " + incompleteCopy.state() + " at " + java.time.Instant.now()
                  + "; create a pair to it to copy it whole");
              LOG.warning("volume '" + p.secondary().name() + "' is incomplete: pair '" + p.id()
                  + "' was force-deleted while " + incompleteCopy.state());
            }
          } else {
            p.delete();
          }
          result = view(p);
        }
        case "POST verify/1" -> result = verify(parse(body, ControlApi.Verify.class));
        case "GET groups/1" -> result = controller.groups().stream().map(ControlServer::view)
            .toList();
        case "GET groups/2" -> result = view(controller.group(parts.get(1)));
        case "POST groups/1" -> {
          ControlApi.CreateGroup g = parse(body, ControlApi.CreateGroup.class);
          result = view(controller.createGroup(g.name(), g.pairs()));
          status = 201;
        }
        case "POST groups/3" -> {
          if (!parts.get(2).equals("requests")) {
            throw new NotFoundException("no such path: " + path);
          }
          result = groupRequest(controller.group(parts.get(1)),
              parse(body, ControlApi.GroupRequest.class));
          status = 202;
        }
        case "DELETE groups/2" -> {
          io.pairkit.api.ConsistencyGroup g = controller.group(parts.get(1));
          result = view(g);
          g.delete();
        }
        default -> throw new NotFoundException("no such call: " + method + " " + path
            + " (see pairctl --help for what the daemon offers)");
      }
      if (mutating) {
        LOG.info("control: " + method + " " + ex.getRequestURI() + " by " + caller + " -> "
            + status);
      }
      send(ex, status, result);
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      send(ex, 400, new ControlApi.ErrorView("InvalidArgumentException",
          "malformed request body: " + e.getOriginalMessage()));
    } catch (NotFoundException e) {
      send(ex, 404, error(e));
    } catch (PairStateException e) {
      send(ex, 409, error(e));
    } catch (AlreadyClosedException e) {
      send(ex, 503, error(e));
    } catch (VolumeIOException | io.pairkit.api.error.MetadataException e) {
      send(ex, 500, error(e));
    } catch (PairKitException | IllegalArgumentException e) {
      send(ex, 400, error(e));
    } catch (RuntimeException e) {
      send(ex, 500, new ControlApi.ErrorView(e.getClass().getSimpleName(),
          String.valueOf(e.getMessage())));
    }
  }

  /**
   * Why a request is refused, or null. The endpoint has no authentication, so it only talks to
   * local programs: a browser page could otherwise drive it (a cross-site "simple" POST, or DNS
   * rebinding). Browsers send Origin on such requests and cannot set a JSON content type without
   * a preflight this server never answers; rebinding shows as a foreign Host header.
   */
  private String refusal(HttpExchange ex, boolean mutating) {
    if (ex.getRequestHeaders().containsKey("Origin")) {
      return "403 requests from web pages are refused (Origin header present)";
    }
    String host = ex.getRequestHeaders().getFirst("Host");
    // DNS rebinding reaches an endpoint through its loopback address from a local browser
    // (also one bound to every address); a remote caller reaches it by name, with TLS (its
    // certificate names the host) or in plain on purpose.
    if (host != null && ex.getLocalAddress().getAddress().isLoopbackAddress()) {
      String h = host.startsWith("[") ? host.substring(1, Math.max(1, host.indexOf(']')))
          : host.contains(":") ? host.substring(0, host.lastIndexOf(':')) : host;
      boolean local = h.equals("localhost") || h.equals("127.0.0.1") || h.equals("::1")
          || h.equals(http.getAddress().getAddress().getHostAddress());
      if (!local) {
        return "403 Host '" + host + "' is not this machine's control address";
      }
    }
    if (mutating && ex.getRequestMethod().equals("POST")) {
      String type = String.valueOf(ex.getRequestHeaders().getFirst("Content-Type"));
      if (!type.toLowerCase(Locale.ROOT).startsWith("application/json")) {
        return "415 a POST needs Content-Type: application/json";
      }
    }
    return null;
  }

  private <T> T parse(byte[] body, Class<T> type) throws IOException {
    T value = json.readValue(body, type);
    if (value == null) {
      throw new InvalidArgumentException("the request body is empty or null; send a JSON "
          + type.getSimpleName() + " object");
    }
    return value;
  }

  private ControlApi.RequestView requestView(Pair pair, String idText) {
    long id;
    try {
      id = Long.parseLong(idText);
    } catch (NumberFormatException e) {
      throw new InvalidArgumentException("request id '" + idText + "' is not a number");
    }
    for (CopyRequest r : pair.activeRequests()) {
      requests.putIfAbsent(r.id(), r);
    }
    CopyRequest r = requests.get(id);
    if (r == null || !r.pairId().equals(pair.id())) {
      throw new NotFoundException("pair " + pair.id() + " has no request " + id + " that this "
          + "daemon knows of (requests are remembered from their submission, or while active)");
    }
    return view(r);
  }

  private static ControlApi.ErrorView error(RuntimeException e) {
    return new ControlApi.ErrorView(e.getClass().getSimpleName(), PairctlWords.of(e.getMessage()));
  }

  private void send(HttpExchange ex, int status, Object body) throws IOException {
    metrics.controlCall(ex.getRequestMethod(), status);
    byte[] bytes = json.writerWithDefaultPrettyPrinter().writeValueAsBytes(body);
    ex.getResponseHeaders().set("Content-Type", "application/json");
    ex.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(bytes);
    }
  }

  private HostVolume volume(String name) {
    return controller.volume(name);
  }

  private Pair pair(String id) {
    return controller.pair(id);
  }

  private ControlApi.VolumeView view(HostVolume v) {
    Daemon.VolumeEntry e = volumes.get(v.name());
    return new ControlApi.VolumeView(v.name(), e == null ? "?" : e.spec().type(), v.size(),
        e != null && e.export(), VolumeExport.readOnly(v, e != null && e.readOnly()
            || incomplete.reason(v.name()) != null),
        v.pairs().stream().map(Pair::id).toList(), incomplete.reason(v.name()),
        health(v.health()));
  }

  static ControlApi.HealthView health(io.pairkit.api.spi.VolumeHealth h) {
    return new ControlApi.HealthView(h.degraded(), h.summary(), h.components().stream()
        .map(c -> new ControlApi.PartView(c.name(), c.state(), c.doneBytes(), c.totalBytes(),
            c.lastError().orElse(null))).toList());
  }

  static ControlApi.PairView view(Pair p) {
    PairStats s = p.stats();
    long scopeTracks = 0;
    for (Extent e : p.scope().extents()) {
      scopeTracks += (e.end() + p.trackSize() - 1) / p.trackSize() - e.start() / p.trackSize();
    }
    long pending = s.pendingTracks();
    double inSync = scopeTracks == 0 ? 100.0
        : Math.max(0, 100.0 * (scopeTracks - pending - s.changedTracks()) / scopeTracks);
    List<ControlApi.RequestView> requests = p.activeRequests().stream()
        .map(ControlServer::view).toList();
    MirrorStatus m = p.mirrorStatus();
    return new ControlApi.PairView(p.id(), p.strategy().name(), p.state().name(),
        p.primary().name(), p.secondary().name(), p.trackSize(), scopeTracks,
        Math.round(inSync * 10) / 10.0, pending, s.changedTracks(), s.frozenTracks(),
        s.mirrorBacklogTracks(), ExtentSyntax.format(p.splitExtents()), requests,
        m.configured().name(), m.effective().name(), m.reason(), p.options().copyPace(),
        p.options().initialCopy());
  }

  /** A rate in pairctl's words ({@code 50M}, {@code none}). */
  static long rate(String word) {
    try {
      return RateWords.parse(word);
    } catch (IllegalArgumentException e) {
      throw new InvalidArgumentException("pace " + e.getMessage());
    }
  }

  /** A mirror mode in pairctl's words ({@code auto}, {@code sync}, {@code async}). */
  static MirrorMode mirrorMode(String word) {
    if (word == null) {
      return MirrorMode.AUTOMATIC;
    }
    try {
      return MirrorModeWords.parse(word);
    } catch (IllegalArgumentException e) {
      throw new InvalidArgumentException("mirror mode " + e.getMessage());
    }
  }

  static ControlApi.RequestView view(CopyRequest r) {
    CopyProgress pr = r.progress();
    java.util.concurrent.CompletableFuture<CopyProgress> f = r.completion();
    String state = "running";
    String error = null;
    if (f.isCancelled()) {
      state = "cancelled";
    } else if (f.isCompletedExceptionally()) {
      state = "failed";
      try {
        f.join();
      } catch (java.util.concurrent.CompletionException e) {
        error = String.valueOf(e.getCause() == null ? e : e.getCause().getMessage());
      } catch (java.util.concurrent.CancellationException e) {
        state = "cancelled";
      }
    } else if (f.isDone()) {
      state = "done";
    }
    return new ControlApi.RequestView(r.id(), r.pairId(), r.kind().name(),
        r.region() == null ? "" : ExtentSyntax.format(r.region()), pr.tracksToCopy(),
        pr.tracksDone(), pr.tracksCopied(), pr.bytesCopied(), state, error);
  }

  private ControlApi.PairView create(ControlApi.CreatePair c) {
    if (c.id() == null || c.primary() == null || c.secondary() == null) {
      throw new InvalidArgumentException("a pair needs id, primary and secondary");
    }
    HostVolume p = volume(c.primary());
    HostVolume s = volume(c.secondary());
    String incompleteBecause = incomplete.reason(s.name());
    if (incompleteBecause != null && c.nocopy()) {
      throw new InvalidArgumentException("volume '" + s.name() + "' is incomplete ("
          + incompleteBecause + "): --nocopy would take it as equal to '" + p.name()
          + "'; create the pair with its initial copy");
    }
    String strategy = c.strategy() == null ? "volume" : c.strategy().toLowerCase(Locale.ROOT);
    PairOptions options = PairOptions.defaults().withMirrorMode(mirrorMode(c.mirror()))
        .withCopyPace(c.pace() == null ? 0 : rate(c.pace())).withInitialCopy(!c.nocopy());
    Pair pair = switch (strategy) {
      case "volume" -> controller.createVolumePair(c.id(), p, s, options);
      case "extent" -> controller.createExtentPair(c.id(), p, s, ExtentSyntax.parse(c.extents()),
          options);
      case "extent-split" -> controller.createExtentSplitPair(c.id(), p, s, options);
      default -> throw new InvalidArgumentException("strategy '" + c.strategy() + "' is not one "
          + "of volume, extent, extent-split");
    };
    requests.put(pair.initialCopy().id(), pair.initialCopy());
    if (incompleteBecause != null) {
      // Its initial copy makes it whole; a secondary is read-only until the pair splits anyway.
      try {
        incomplete.clear(s.name());
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
    return view(pair);
  }

  static ControlApi.GroupView view(io.pairkit.api.ConsistencyGroup g) {
    return new ControlApi.GroupView(g.name(), g.pairs().stream().map(ControlServer::view)
        .toList());
  }

  private List<ControlApi.RequestView> groupRequest(io.pairkit.api.ConsistencyGroup g,
      ControlApi.GroupRequest r) {
    RequestKind kind = kind(r.kind());
    java.util.Map<String, ExtentSet> regions = new java.util.LinkedHashMap<>();
    if (r.extents() != null) {
      r.extents().forEach((pair, extents) -> regions.put(pair, ExtentSyntax.parse(extents)));
    }
    List<ControlApi.RequestView> out = new java.util.ArrayList<>();
    for (CopyRequest req : g.request(kind, regions)) {
      requests.put(req.id(), req);
      out.add(view(req));
    }
    return out;
  }

  private static RequestKind kind(String word) {
    if (word == null) {
      throw new InvalidArgumentException("a request needs a kind: SPLIT, RESYNC, EXTENT_UPDATE, "
          + "EXTENT_SPLIT, EXTENT_JOIN, RESTORE or RESUME");
    }
    try {
      return RequestKind.valueOf(word.toUpperCase(Locale.ROOT).replace('-', '_'));
    } catch (IllegalArgumentException e) {
      throw new InvalidArgumentException("request kind '" + word + "' is not one of "
          + Arrays.toString(RequestKind.values()));
    }
  }

  private ControlApi.RequestView request(Pair pair, ControlApi.Request r) {
    RequestKind kind = kind(r.kind());
    ExtentSet region = r.extents() == null || r.extents().isBlank() ? null
        : ExtentSyntax.parse(r.extents());
    CopyRequest req = kind == RequestKind.RESUME ? pair.resume() : pair.request(kind, region);
    requests.put(req.id(), req);
    return view(req);
  }

  private ControlApi.VerifyResult verify(ControlApi.Verify v) throws IOException {
    HostVolume p = volume(v.primary());
    HostVolume s = volume(v.secondary());
    if (p.size() != s.size()) {
      throw new InvalidArgumentException("volumes '" + p.name() + "' (" + p.size() + " bytes) and '"
          + s.name() + "' (" + s.size() + " bytes) differ in size: nothing to compare");
    }
    Pair between = p.pairs().stream().filter(x -> x.primary().name().equals(p.name())
        && x.secondary().name().equals(s.name())).findFirst().orElse(null);
    int track = between != null ? between.trackSize() : trackSize;
    // Default: the pair's scope (an extent pair's extents), else the whole volume.
    ExtentSet region = v.extents() != null && !v.extents().isBlank()
        ? ExtentSyntax.parse(v.extents())
        : between != null ? between.scope() : ExtentSet.of(0, p.size());
    long lastCompared = -1;
    List<long[]> differing = new ArrayList<>();
    long compared = 0;
    long differ = 0;
    for (Extent e : region.extents()) {
      if (e.end() > p.size()) {
        throw new InvalidArgumentException("extent " + e + " reaches past the end of '"
            + p.name() + "' (" + p.size() + " bytes)");
      }
      long firstTrack = e.start() / track;
      long endTrack = (e.end() + track - 1) / track;
      int perChunk = Math.max(1, VERIFY_CHUNK / track);
      for (long t = firstTrack; t < endTrack; t += perChunk) {
        long tracks = Math.min(perChunk, endTrack - t);
        long from = Math.max(e.start(), t * track);
        long to = Math.min(e.end(), (t + tracks) * track);
        byte[] a = new byte[(int) (to - from)];
        byte[] b = new byte[(int) (to - from)];
        p.read(from, ByteBuffer.wrap(a));
        s.read(from, ByteBuffer.wrap(b));
        for (long k = 0; k < tracks; k++) {
          long ts = Math.max(from, (t + k) * track) - from;
          long te = Math.min(to, (t + k + 1) * track) - from;
          if (ts >= te || t + k <= lastCompared) {
            continue; // outside the extent, or a track an earlier extent already compared
          }
          lastCompared = t + k;
          compared++;
          if (!Arrays.equals(a, (int) ts, (int) te, b, (int) ts, (int) te)) {
            differ++;
            long trackNo = t + k;
            long[] last = differing.isEmpty() ? null : differing.get(differing.size() - 1);
            if (last != null && last[1] == trackNo) {
              last[1] = trackNo + 1;
            } else {
              differing.add(new long[] {trackNo, trackNo + 1});
            }
          }
        }
      }
    }
    return new ControlApi.VerifyResult(p.name(), s.name(), track, compared, differ, differing);
  }
}
