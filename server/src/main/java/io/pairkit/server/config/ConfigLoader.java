package io.pairkit.server.config;

import io.pairkit.control.MirrorModeWords;
import io.pairkit.api.spi.VolumeProvider;
import io.pairkit.api.spi.VolumeSpec;
import io.pairkit.core.cache.TrackCacheConfig;
import io.pairkit.core.registry.VolumeProviders;
import java.io.IOException;
import java.io.Reader;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Loads a {@code pairkitd} configuration: a Java properties file (see
 * {@code examples/config/*.properties}). Properties, not YAML, because a volume spec is already a
 * flat map of backend properties ({@code member.0.path} and the like): the file maps onto specs
 * one to one, needs no parser dependency, and its syntax (comments, escapes) is standard.
 *
 * <p>Everything is checked before anything is opened: unknown keys, a volume without a type or of
 * a type no backend on the class path provides, two backends claiming one type, malformed sizes,
 * numbers and booleans, a non-loopback address without {@code server.allowRemote=true}, and
 * secrets written inline. A secret (a property the volume's backend lists in
 * {@link VolumeProvider#secretProperties()}) must be a reference, {@code ${env:NAME}}, resolved
 * from the environment at load time; or left out, for the backend's own default chain. Every
 * error is a {@link ConfigException} naming the file, the key and the fix.
 *
 * <p>Keys:
 * <pre>
 * controller.trackSize=64k              controller.copyThreads=8
 * controller.copyBytesPerSecond=0       (0: no cap)
 * controller.cache=off | SIZE           controller.cache.writeThrough=false
 * controller.metadataDirectory=DIR      (required: pairs are durable)
 * controller.mirrorMode=auto            (auto | sync | async: how pairs created with
 *                                        pairctl's default --mirror auto mirror)
 * controller.writeIntentRegionSize=8m   (durable write-intent regions: docs/RELIABILITY.md)
 * server.nbd.address=127.0.0.1          server.nbd.port=10809
 * server.control.address=127.0.0.1      server.control.port=10810
 * server.control.tokenFile=FILE         (default METADATA_DIRECTORY/../control.token: the bearer
 *                                        token every call needs, mode 0600, made if missing)
 * server.control.openReads=false        (true: list and display need no token)
 * server.control.tls.dir=DIR            (the control endpoint serves HTTPS: server-cert.pem,
 *                                        server-key.pem; pairctl trusts DIR/ca-cert.pem)
 * server.control.allowPlaintext=false   (true: a non-loopback control address without TLS)
 * server.control.url=URL                (for pairctl --config only: the URL that reaches this
 *                                        endpoint under the name its certificate carries, such as
 *                                        https://store1.example.com:10810; default from the
 *                                        address and port, 127.0.0.1 for a wildcard address)
 * server.allowRemote=false              (true: the addresses above may be non-loopback)
 * server.nbd.tls.dir=DIR                (NBD requires TLS, NBD_OPT_STARTTLS: server-cert.pem,
 *                                        server-key.pem, ca-cert.pem as QEMU's tls-creds-x509)
 * server.nbd.tls.verifyClients=false    (true: clients present a certificate ca-cert.pem signed)
 * server.nbd.allowPlaintext=false       (true: a non-loopback NBD address without TLS)
 * server.nbd.socket=PATH                (NBD on a Unix socket too: nbd+unix:///NAME?socket=PATH)
 * server.nbd.socketMode=rw-rw----       (the socket file's mode: who may connect)
 * server.nbd.socketGroup=GROUP          (the socket file's group; default the process's)
 * server.nbd.tcp=true                   (false: NBD on the Unix socket only)
 * volume.NAME.type=file|raid|s3|...     volume.NAME.PROPERTY=VALUE (the backend's properties)
 * volume.NAME.export=true               volume.NAME.exportReadOnly=false
 * volume.NAME.exportAllow=RULES          (which NBD clients it serves: 10.0.0.0/8, 192.0.2.7,
 *                                        cert:CN=NAME, user:NAME, comma-separated; default all)
 * </pre>
 *
 * <p>Over 500 lines: every pairkitd setting is parsed and checked here, each with the message that
 * names the key and the way out; one list of keys is easier to keep complete than several.
 */
public final class ConfigLoader {
  private static final Pattern REFERENCE = Pattern.compile("\\$\\{env:([A-Za-z_][A-Za-z0-9_]*)}");
  private static final Set<String> CONTROLLER_KEYS = Set.of("controller.trackSize",
      "controller.copyThreads", "controller.copyBytesPerSecond", "controller.cache",
      "controller.cache.writeThrough", "controller.metadataDirectory", "controller.mirrorMode",
      "controller.writeIntentRegionSize");
  private static final Set<String> SERVER_KEYS = Set.of("server.nbd.address", "server.nbd.port",
      "server.control.address", "server.control.port", "server.allowRemote",
      "server.control.tokenFile", "server.control.openReads", "server.nbd.tls.dir",
      "server.nbd.tls.verifyClients", "server.nbd.allowPlaintext", "server.nbd.socket",
      "server.control.tls.dir", "server.control.allowPlaintext", "server.control.url",
      "server.nbd.socketMode", "server.nbd.socketGroup", "server.nbd.tcp");

  private final Function<String, String> environment;

  /** A loader that resolves {@code ${env:NAME}} from the process environment. */
  public ConfigLoader() {
    this(System::getenv);
  }

  /** A loader with its own environment (tests). */
  public ConfigLoader(Function<String, String> environment) {
    this.environment = environment;
  }

  public DaemonConfig load(Path file) {
    // Keys in file order, and a key given twice is an error rather than a silent last-one-wins.
    Map<String, String> ordered = new LinkedHashMap<>();
    List<String> duplicates = new ArrayList<>();
    Properties p = new Properties() {
      private static final long serialVersionUID = 1L;

      @Override
      public synchronized Object put(Object key, Object value) {
        String k = key.toString().trim();
        if (ordered.containsKey(k)) {
          duplicates.add(k);
        }
        ordered.put(k, value.toString().trim());
        return super.put(key, value);
      }
    };
    try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      p.load(r);
    } catch (java.nio.file.NoSuchFileException e) {
      throw new ConfigException(file + ": no such file; pass the configuration with --config "
          + "FILE (examples in examples/config/)");
    } catch (IOException | IllegalArgumentException e) {
      throw new ConfigException(file + ": cannot read it (" + e.getMessage() + "); it must be a "
          + "Java properties file in UTF-8", e);
    }
    if (!duplicates.isEmpty()) {
      throw new ConfigException(file + ": key '" + duplicates.get(0) + "' is set more than "
          + "once; keep one line for it");
    }
    Map<String, String> all = ordered;
    try (VolumeProviders providers = loadProviders(file)) {
      return parse(file, all, providers);
    }
  }

  private static VolumeProviders loadProviders(Path file) {
    try {
      return VolumeProviders.load(ConfigLoader.class.getClassLoader());
    } catch (RuntimeException e) {
      throw new ConfigException(file + ": the volume backends on the class path conflict: "
          + e.getMessage(), e);
    }
  }

  private DaemonConfig parse(Path file, Map<String, String> all, VolumeProviders providers) {
    Map<String, Map<String, String>> volumes = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : all.entrySet()) {
      String key = e.getKey();
      if (CONTROLLER_KEYS.contains(key) || SERVER_KEYS.contains(key)) {
        continue;
      }
      if (key.startsWith("volume.")) {
        int dot = key.indexOf('.', 7);
        if (dot < 0 || dot == 7 || dot == key.length() - 1) {
          throw new ConfigException(file + ": key '" + key + "' is not volume.NAME.PROPERTY, "
              + "e.g. volume.prod.type=file");
        }
        volumes.computeIfAbsent(key.substring(7, dot), n -> new LinkedHashMap<>())
            .put(key.substring(dot + 1), e.getValue());
        continue;
      }
      throw new ConfigException(file + ": unknown key '" + key + "'; known keys are "
          + new java.util.TreeSet<>(CONTROLLER_KEYS) + ", " + new java.util.TreeSet<>(SERVER_KEYS)
          + " and volume.NAME.PROPERTY");
    }
    Path meta = Optional.ofNullable(all.get("controller.metadataDirectory"))
        .map(v -> Path.of(v))
        .orElseThrow(() -> new ConfigException(file + ": key 'controller.metadataDirectory' is "
            + "missing; pairkitd keeps its pairs durable there, e.g. "
            + "controller.metadataDirectory=/var/lib/pairkit/meta"));
    int trackSize = (int) size(file, all, "controller.trackSize", 64 << 10, 4 << 10, 16 << 20);
    if (Integer.bitCount(trackSize) != 1) {
      throw new ConfigException(file + ": key 'controller.trackSize' is "
          + all.get("controller.trackSize") + ": give a power of two from 4k to 16m, e.g. 64k");
    }
    int copyThreads = (int) number(file, all, "controller.copyThreads", 8, 1, 256);
    long rate = size(file, all, "controller.copyBytesPerSecond", 0, 0, Long.MAX_VALUE);
    Optional<TrackCacheConfig> cache = Optional.empty();
    String cacheValue = all.getOrDefault("controller.cache", "off");
    if (!cacheValue.equalsIgnoreCase("off")) {
      long capacity = size(file, all, "controller.cache", 0, 1 << 20, Long.MAX_VALUE);
      cache = Optional.of(TrackCacheConfig.defaults().withCapacity(capacity)
          .withWriteThrough(bool(file, all, "controller.cache.writeThrough", false)));
    } else if (all.containsKey("controller.cache.writeThrough")) {
      throw new ConfigException(file + ": key 'controller.cache.writeThrough' is set but the "
          + "cache is off; set controller.cache=SIZE (e.g. 256m) or remove the key");
    }
    io.pairkit.api.MirrorMode mirrorMode;
    try {
      mirrorMode = MirrorModeWords.parse(all.getOrDefault("controller.mirrorMode", "auto"));
    } catch (IllegalArgumentException e) {
      throw new ConfigException(file + ": key 'controller.mirrorMode' is "
          + e.getMessage() + ": give auto (the default: sync for a local secondary, async for a "
          + "remote one), sync or async");
    }
    long regionSize = size(file, all, "controller.writeIntentRegionSize",
        io.pairkit.core.config.ControllerConfig.DEFAULT_WRITE_INTENT_REGION_SIZE, trackSize,
        1L << 40);
    if (Long.bitCount(regionSize) != 1) {
      throw new ConfigException(file + ": key 'controller.writeIntentRegionSize' is "
          + all.get("controller.writeIntentRegionSize") + ": give a power of two from the track "
          + "size to 1t, e.g. 8m");
    }
    boolean allowRemote = bool(file, all, "server.allowRemote", false);
    String nbdAddress = address(file, all, "server.nbd.address", allowRemote);
    int nbdPort = (int) number(file, all, "server.nbd.port", 10809, 0, 65535);
    String controlAddress = address(file, all, "server.control.address", allowRemote);
    int controlPort = (int) number(file, all, "server.control.port", 10810, 0, 65535);
    List<DaemonConfig.VolumeConfig> list = new ArrayList<>();
    for (Map.Entry<String, Map<String, String>> v : volumes.entrySet()) {
      list.add(volume(file, v.getKey(), new LinkedHashMap<>(v.getValue()), providers));
    }
    if (list.isEmpty()) {
      throw new ConfigException(file + ": no volumes; add at least volume.NAME.type and the "
          + "backend's properties");
    }
    Path tokenFile = Optional.ofNullable(all.get("server.control.tokenFile")).map(String::trim)
        .map(Path::of).orElse(defaultTokenFile(meta));
    boolean openReads = bool(file, all, "server.control.openReads", false);
    Optional<DaemonConfig.NbdTlsConfig> tls = Optional.ofNullable(all.get("server.nbd.tls.dir"))
        .map(String::trim).map(d -> new DaemonConfig.NbdTlsConfig(Path.of(d),
            bool(file, all, "server.nbd.tls.verifyClients", false)));
    if (tls.isEmpty() && all.containsKey("server.nbd.tls.verifyClients")) {
      throw new ConfigException(file + ": key 'server.nbd.tls.verifyClients' needs TLS: add "
          + "server.nbd.tls.dir (the directory of server-cert.pem, server-key.pem, ca-cert.pem)");
    }
    if (tls.isPresent() && !Files.isDirectory(tls.get().dir())) {
      throw new ConfigException(file + ": key 'server.nbd.tls.dir' is '" + tls.get().dir()
          + "', not a directory; give the directory of server-cert.pem, server-key.pem and "
          + "ca-cert.pem");
    }
    boolean allowPlaintext = bool(file, all, "server.nbd.allowPlaintext", false);
    if (tls.isEmpty() && !allowPlaintext && !loopback(nbdAddress)) {
      throw new ConfigException(file + ": key 'server.nbd.address' is '" + nbdAddress + "', "
          + "beyond this machine, and NBD has no TLS: anyone on the network could read and "
          + "write the volumes. Add server.nbd.tls.dir (clients use nbds://), or accept "
          + "plain NBD with server.nbd.allowPlaintext=true");
    }
    Optional<Path> controlTls = Optional.ofNullable(all.get("server.control.tls.dir"))
        .map(String::trim).map(Path::of);
    if (controlTls.isPresent() && !Files.isDirectory(controlTls.get())) {
      throw new ConfigException(file + ": key 'server.control.tls.dir' is '" + controlTls.get()
          + "', not a directory; give the directory of server-cert.pem and server-key.pem");
    }
    if (controlTls.isEmpty() && !bool(file, all, "server.control.allowPlaintext", false)
        && !loopback(controlAddress)) {
      throw new ConfigException(file + ": key 'server.control.address' is '" + controlAddress
          + "', beyond this machine, and the control endpoint has no TLS: its token would "
          + "cross the network in clear. Add server.control.tls.dir (pairctl then uses "
          + "https://), or accept plain HTTP with server.control.allowPlaintext=true");
    }
    checkControlUrl(file, all.get("server.control.url"), controlTls.isPresent());
    boolean nbdTcp = bool(file, all, "server.nbd.tcp", true);
    Optional<DaemonConfig.NbdSocketConfig> socket = Optional.ofNullable(
        all.get("server.nbd.socket")).map(String::trim).map(path -> {
          String mode = all.getOrDefault("server.nbd.socketMode", "rw-rw----").trim();
          try {
            java.nio.file.attribute.PosixFilePermissions.fromString(mode);
          } catch (IllegalArgumentException e) {
            throw new ConfigException(file + ": key 'server.nbd.socketMode' is '" + mode
                + "': give nine permission letters such as rw-rw----");
          }
          return new DaemonConfig.NbdSocketConfig(Path.of(path), mode,
              Optional.ofNullable(all.get("server.nbd.socketGroup")).map(String::trim));
        });
    if (socket.isEmpty() && (all.containsKey("server.nbd.socketMode")
        || all.containsKey("server.nbd.socketGroup"))) {
      throw new ConfigException(file + ": server.nbd.socketMode and socketGroup need "
          + "server.nbd.socket (the socket file's path)");
    }
    if (!nbdTcp && socket.isEmpty()) {
      throw new ConfigException(file + ": key 'server.nbd.tcp' is false and there is no "
          + "server.nbd.socket: NBD would not listen at all; add server.nbd.socket=PATH");
    }
    return new DaemonConfig(file, trackSize, copyThreads, rate, cache, meta, mirrorMode,
        regionSize, nbdAddress, nbdPort, controlAddress, controlPort, list, tokenFile, openReads,
        tls, nbdTcp, socket, controlTls);
  }

  /**
   * Where the control token lives unless configured: beside the metadata directory (not in it:
   * the directory is the controller's).
   */
  public static Path defaultTokenFile(Path metadataDirectory) {
    return io.pairkit.control.ControlApi.defaultTokenFile(metadataDirectory);
  }

  private DaemonConfig.VolumeConfig volume(Path file, String name, Map<String, String> props,
      VolumeProviders providers) {
    String type = props.remove("type");
    if (type == null) {
      throw new ConfigException(file + ": volume '" + name + "' has no type: add volume." + name
          + ".type (one of " + new java.util.TreeSet<>(providers.types()) + ")");
    }
    VolumeProvider provider;
    try {
      provider = providers.get(type, name);
    } catch (RuntimeException e) {
      throw new ConfigException(file + ": key 'volume." + name + ".type': " + e.getMessage(), e);
    }
    for (String key : props.keySet()) {
      for (String daemonKey : DAEMON_KEYS) {
        if (key.equalsIgnoreCase(daemonKey) && !key.equals(daemonKey)) {
          throw new ConfigException(file + ": key 'volume." + name + "." + key + "' is spelled "
              + "differently from 'volume." + name + "." + daemonKey + "'; did you mean that?");
        }
      }
    }
    checkKnown(file, name, "", provider, props.keySet(), props, providers);
    boolean export = parseBool(file, "volume." + name + ".export",
        props.remove("export"), true);
    boolean readOnly = parseBool(file, "volume." + name + ".exportReadOnly",
        props.remove("exportReadOnly"), false);
    String allow = props.remove("exportAllow");
    io.pairkit.nbd.NbdClientRules clients;
    try {
      clients = allow == null ? io.pairkit.nbd.NbdClientRules.all()
          : io.pairkit.nbd.NbdClientRules.parse(allow);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(file + ": key 'volume." + name + ".exportAllow': "
          + e.getMessage());
    }
    Set<String> secrets = provider.secretProperties();
    VolumeSpec.Builder spec = VolumeSpec.builder(name, type);
    for (Map.Entry<String, String> e : props.entrySet()) {
      String key = "volume." + name + "." + e.getKey();
      String value = e.getValue();
      Matcher m = REFERENCE.matcher(value);
      boolean reference = m.matches();
      if (isSecret(e.getKey(), secrets, props, providers) && !reference) {
        throw new ConfigException(file + ": key '" + key + "' holds a secret inline; write a "
            + "reference instead, " + e.getKey() + "=${env:SOME_VARIABLE}, or leave it out for "
            + "the backend's default credential chain");
      }
      if (reference) {
        String resolved = environment.apply(m.group(1));
        if (resolved == null) {
          throw new ConfigException(file + ": key '" + key + "' refers to environment variable "
              + m.group(1) + ", which is not set; export it before starting pairkitd");
        }
        value = resolved;
      } else if (value.contains("${")) {
        throw new ConfigException(file + ": key '" + key + "' has '" + value + "'; the only "
            + "reference form is ${env:NAME}");
      }
      spec.property(e.getKey(), value);
    }
    try {
      return new DaemonConfig.VolumeConfig(spec.build(), export, readOnly, clients);
    } catch (RuntimeException e) {
      throw new ConfigException(file + ": volume '" + name + "': " + e.getMessage(), e);
    }
  }

  /** Keys of a volume that pairkitd reads itself, whatever the backend. */
  private static final List<String> DAEMON_KEYS = List.of("export", "exportReadOnly",
      "exportAllow", "type");

  /**
   * Refuses a property the backend does not read (when it says which it reads), naming the
   * closest known one: a misspelt {@code direkt=true} must not be ignored silently. A composite
   * backend's {@code member.N.KEY} are checked against member N's own backend.
   */
  private static void checkKnown(Path file, String volume, String prefix,
      VolumeProvider provider, Set<String> keys, Map<String, String> all,
      VolumeProviders providers) {
    Set<String> known = provider.knownProperties();
    if (known == null) {
      return;
    }
    Map<String, Set<String>> members = new java.util.TreeMap<>();
    for (String key : keys) {
      if (prefix.isEmpty() && DAEMON_KEYS.contains(key) || known.contains(key)) {
        continue;
      }
      Matcher m = Pattern.compile("(member\\.\\d+)\\.(.+)").matcher(key);
      if (known.contains("member.*") && m.matches()) {
        members.computeIfAbsent(m.group(1), k -> new java.util.TreeSet<>()).add(m.group(2));
        continue;
      }
      List<String> choices = new ArrayList<>(new java.util.TreeSet<>(known));
      if (prefix.isEmpty()) {
        choices.addAll(DAEMON_KEYS);
      }
      String closest = closest(key, choices);
      throw new ConfigException(file + ": key 'volume." + volume + "." + prefix + key + "' is not "
          + "a property of " + provider.type() + " volumes"
          + (closest != null ? "; did you mean '" + prefix + closest + "'?" : "")
          + " (known: " + String.join(", ", choices) + ")");
    }
    for (Map.Entry<String, Set<String>> member : members.entrySet()) {
      String type = all.get(member.getKey() + ".type");
      if (type == null || !providers.types().contains(type)) {
        continue; // the composite backend names what is missing or wrong
      }
      Set<String> memberKeys = new java.util.TreeSet<>(member.getValue());
      memberKeys.remove("type");
      checkKnown(file, volume, member.getKey() + ".", providers.get(type, volume), memberKeys,
          all, providers);
    }
  }

  /** The choice within two edits of {@code key} (case ignored), or null. */
  private static String closest(String key, List<String> choices) {
    String best = null;
    int bestDistance = 3;
    for (String c : choices) {
      int d = distance(key.toLowerCase(java.util.Locale.ROOT), c.toLowerCase(java.util.Locale.ROOT));
      if (d < bestDistance) {
        best = c;
        bestDistance = d;
      }
    }
    return best;
  }

  /** Levenshtein distance. */
  private static int distance(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }

  /**
   * Whether a volume property holds a secret: the backend says so, or it is a member's property
   * ({@code member.N.KEY} of a composite volume) that the member's backend says so of.
   */
  private static boolean isSecret(String key, Set<String> secrets, Map<String, String> props,
      VolumeProviders providers) {
    if (secrets.contains(key)) {
      return true;
    }
    Matcher m = Pattern.compile("(member\\.\\d+)\\.(.+)").matcher(key);
    if (!m.matches()) {
      return false;
    }
    String memberType = props.get(m.group(1) + ".type");
    if (memberType == null || !providers.types().contains(memberType)) {
      return false;
    }
    return providers.get(memberType, key).secretProperties().contains(m.group(2));
  }

  private static long size(Path file, Map<String, String> all, String key, long dflt, long min,
      long max) {
    String raw = all.get(key);
    if (raw == null) {
      return dflt;
    }
    long v;
    try {
      v = VolumeSpec.builder("config", "config").property("v", raw).build()
          .sizeProperty("v").orElseThrow();
    } catch (RuntimeException e) {
      throw new ConfigException(file + ": key '" + key + "' is '" + raw + "': give a byte count "
          + "such as 65536 or 64k");
    }
    if (v < min || v > max) {
      throw new ConfigException(file + ": key '" + key + "' is " + raw + ": give " + min
          + " bytes to " + max);
    }
    return v;
  }

  private static long number(Path file, Map<String, String> all, String key, long dflt,
      long min, long max) {
    String raw = all.get(key);
    if (raw == null) {
      return dflt;
    }
    try {
      long v = Long.parseLong(raw);
      if (v >= min && v <= max) {
        return v;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new ConfigException(file + ": key '" + key + "' is '" + raw + "': give a whole number "
        + "from " + min + " to " + max);
  }

  private static boolean bool(Path file, Map<String, String> all, String key, boolean dflt) {
    return parseBool(file, key, all.get(key), dflt);
  }

  private static boolean parseBool(Path file, String key, String raw, boolean dflt) {
    if (raw == null) {
      return dflt;
    }
    String s = raw.toLowerCase(Locale.ROOT);
    if (s.equals("true") || s.equals("false")) {
      return Boolean.parseBoolean(s);
    }
    throw new ConfigException(file + ": key '" + key + "' is '" + raw + "': use true or false");
  }

  /**
   * {@code server.control.url}, which only pairctl reads: an http or https URL with a host,
   * https exactly when the endpoint has TLS, so a typo fails at the daemon's start, not at the
   * first pairctl call.
   */
  private static void checkControlUrl(Path file, String value, boolean tls) {
    if (value == null) {
      return;
    }
    String want = tls ? "https" : "http";
    java.net.URI uri;
    try {
      uri = new java.net.URI(value.trim());
    } catch (java.net.URISyntaxException e) {
      throw new ConfigException(file + ": key 'server.control.url' is '" + value + "', not a "
          + "URL (" + e.getReason() + "); give " + want + "://HOST:PORT");
    }
    if (!want.equals(uri.getScheme()) || uri.getHost() == null) {
      throw new ConfigException(file + ": key 'server.control.url' is '" + value + "'; the "
          + "control endpoint serves " + want.toUpperCase(java.util.Locale.ROOT)
          + (tls ? " (server.control.tls.dir is set)" : " (no server.control.tls.dir)")
          + ", so give " + want + "://HOST:PORT");
    }
  }

  private static boolean loopback(String address) {
    try {
      return InetAddress.getByName(address).isLoopbackAddress();
    } catch (UnknownHostException e) {
      return false;
    }
  }

  private static String address(Path file, Map<String, String> all, String key,
      boolean allowRemote) {
    String raw = all.getOrDefault(key, "127.0.0.1");
    InetAddress a;
    try {
      a = InetAddress.getByName(raw);
    } catch (UnknownHostException e) {
      throw new ConfigException(file + ": key '" + key + "' is '" + raw + "', which does not "
          + "resolve; give an IP address such as 127.0.0.1");
    }
    if (!a.isLoopbackAddress() && !allowRemote) {
      throw new ConfigException(file + ": key '" + key + "' is '" + raw + "', not a loopback "
          + "address; serving beyond this machine needs server.allowRemote=true (and TLS: "
          + "server.nbd.tls.dir, server.control.tls.dir)");
    }
    return raw;
  }
}
