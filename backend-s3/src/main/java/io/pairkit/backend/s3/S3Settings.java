package io.pairkit.backend.s3;

import io.pairkit.api.error.VolumeConfigException;
import io.pairkit.api.spi.VolumeSpec;
import java.net.URI;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;

/**
 * A volume spec's {@code s3} properties, parsed and checked; see the package documentation for
 * each. Immutable. {@link #toString()} shows everything but the secret key (and the access key is
 * shortened), so it can go into messages.
 *
 * @param name        the volume's name
 * @param endpoint    the S3 endpoint, or empty for AWS's regional endpoint
 * @param region      signing region
 * @param bucket      the bucket (must exist)
 * @param prefix      key prefix of this volume's objects, empty or ending in {@code /}
 * @param pathStyle   path-style addressing ({@code endpoint/bucket/key})
 * @param accessKey   static credentials, or empty for the SDK's default credential chain
 * @param secretKey   goes with {@code accessKey}
 * @param size        bytes; required to create, checked on open; -1 when not given
 * @param chunkSize   bytes per chunk object; -1 when not given (create uses the default)
 * @param create      {@code mode=create} (the volume must not exist) or {@code open} (it must)
 * @param concurrency S3 requests in flight per volume
 * @param fencing     whether a lease fences other writers ({@code fencing=lease})
 * @param leaseTime   how long a lease stays valid without renewal
 */
record S3Settings(String name, Optional<URI> endpoint, String region, String bucket,
    String prefix, boolean pathStyle, Optional<String> accessKey, Optional<String> secretKey,
    long size, long chunkSize, boolean create, int concurrency, boolean fencing,
    Duration leaseTime) {

  /** Default chunk object size: 4 MiB. */
  static final int DEFAULT_CHUNK_SIZE = 4 << 20;
  /** Largest chunk: the engine's largest preferred I/O size. */
  static final int MAX_CHUNK_SIZE = 16 << 20;
  static final int MIN_CHUNK_SIZE = 4096;
  static final int DEFAULT_CONCURRENCY = 16;
  static final Duration DEFAULT_LEASE_TIME = Duration.ofSeconds(30);

  static S3Settings parse(VolumeSpec spec) {
    String name = spec.name();
    if (spec.property("trackSize").isPresent()) {
      throw new VolumeConfigException("volume '" + name + "' sets property 'trackSize', but the "
          + "track size is a controller setting: remove it and set PairKit.builder().trackSize()");
    }
    Optional<URI> endpoint = spec.property("endpoint").map(String::trim).map(e -> {
      try {
        URI uri = URI.create(e);
        if (uri.getScheme() == null || uri.getHost() == null) {
          throw new IllegalArgumentException("no scheme or host");
        }
        return uri;
      } catch (IllegalArgumentException ex) {
        throw new VolumeConfigException("volume '" + name + "' property 'endpoint' is '" + e
            + "': give a URL such as http://127.0.0.1:9000", ex);
      }
    });
    String region = spec.property("region").map(String::trim).orElse("us-east-1");
    String bucket = spec.requireProperty("bucket").trim();
    if (bucket.isEmpty() || bucket.contains("/")) {
      throw new VolumeConfigException("volume '" + name + "' property 'bucket' is '" + bucket
          + "': give a bucket name without slashes (put folders into 'prefix')");
    }
    String prefix = spec.property("prefix").map(String::trim).orElse(name);
    while (prefix.startsWith("/")) {
      prefix = prefix.substring(1);
    }
    if (!prefix.isEmpty() && !prefix.endsWith("/")) {
      prefix = prefix + "/";
    }
    Optional<String> accessKey = spec.property("accessKey").filter(s -> !s.isBlank());
    Optional<String> secretKey = spec.property("secretKey").filter(s -> !s.isBlank());
    if (accessKey.isPresent() != secretKey.isPresent()) {
      throw new VolumeConfigException("volume '" + name + "' sets only one of 'accessKey' and "
          + "'secretKey': give both, or neither to use the SDK's default credential chain");
    }
    String mode = spec.property("mode").orElse("open").trim().toLowerCase(Locale.ROOT);
    boolean create = switch (mode) {
      case "open" -> false;
      case "create" -> true;
      default -> throw new VolumeConfigException("volume '" + name + "' mode '" + mode
          + "' is not one of open, create");
    };
    long size = spec.sizeProperty("size").orElse(-1L);
    if (create && size <= 0) {
      throw new VolumeConfigException("volume '" + name + "': mode=create needs a positive size "
          + "(property size, e.g. 64GiB)");
    }
    long chunkSize = spec.sizeProperty("chunkSize").orElse(-1L);
    if (chunkSize != -1 && (chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE
        || Long.bitCount(chunkSize) != 1)) {
      throw new VolumeConfigException("volume '" + name + "' property 'chunkSize' is "
          + chunkSize + ": give a power of two from 4KiB to 16MiB (default 4MiB)");
    }
    int concurrency = intProperty(spec, "concurrency", DEFAULT_CONCURRENCY, 1, 1024,
        "S3 requests in flight");
    String fencingMode = spec.property("fencing").orElse("lease").trim()
        .toLowerCase(Locale.ROOT);
    boolean fencing = switch (fencingMode) {
      case "lease" -> true;
      case "none" -> false;
      default -> throw new VolumeConfigException("volume '" + name + "' property 'fencing' is '"
          + fencingMode + "': use lease (default) or none");
    };
    int leaseSeconds = intProperty(spec, "leaseSeconds", (int) DEFAULT_LEASE_TIME.toSeconds(), 2,
        3600, "seconds a lease stays valid without renewal");
    return new S3Settings(name, endpoint, region, bucket, prefix,
        spec.booleanProperty("pathStyle", endpoint.isPresent()), accessKey, secretKey, size,
        chunkSize, create, concurrency, fencing, Duration.ofSeconds(leaseSeconds));
  }

  private static int intProperty(VolumeSpec spec, String key, int dflt, int min, int max,
      String what) {
    String raw = spec.property(key).orElse(null);
    if (raw == null) {
      return dflt;
    }
    try {
      int n = Integer.parseInt(raw.trim());
      if (n >= min && n <= max) {
        return n;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new VolumeConfigException("volume '" + spec.name() + "' property '" + key + "' is '"
        + raw + "': give the " + what + ", " + min + ".." + max + " (default " + dflt + ")");
  }

  /** Where the volume lives, for messages: {@code s3://bucket/prefix at endpoint}. */
  String location() {
    return "s3://" + bucket + "/" + prefix + endpoint.map(e -> " at " + e).orElse("");
  }

  /** The key of {@code object} under this volume's prefix. */
  String key(String object) {
    return prefix + object;
  }

  @Override
  public String toString() {
    return "S3Settings[" + location() + ", region " + region + ", pathStyle " + pathStyle
        + ", credentials " + accessKey.map(k -> "static (access key " + redact(k) + ")")
            .orElse("from the default chain")
        + ", size " + size + ", chunkSize " + chunkSize + ", " + (create ? "create" : "open")
        + ", concurrency " + concurrency + ", fencing " + (fencing ? "lease" : "none") + "]";
  }

  /** An access key shortened to its first four characters. */
  static String redact(String accessKey) {
    return accessKey.length() <= 4 ? "****" : accessKey.substring(0, 4) + "****";
  }
}
