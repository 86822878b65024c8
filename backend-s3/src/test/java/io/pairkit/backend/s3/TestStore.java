package io.pairkit.backend.s3;

import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.VolumeSpec;
import java.io.IOException;
import java.net.URI;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * An S3 store the tests use (S3Proxy in this JVM, Ceph RGW, MinIO): where it is, its keys, and
 * whether it honours conditional writes (so volumes on it can use {@code fencing=lease}).
 */
public record TestStore(String description, URI endpoint, String accessKey, String secretKey,
    boolean conditionalWrites) {
  private static final AtomicInteger BUCKETS = new AtomicInteger();
  /** One provider for every test volume of the JVM (its clients are shared, as in a product). */
  static final S3VolumeProvider PROVIDER = new S3VolumeProvider();

  /**
   * The store an env file of {@code ceph-rgw.sh} describes ({@code PAIRKIT_S3_ENDPOINT},
   * {@code PAIRKIT_S3_ACCESS_KEY}, {@code PAIRKIT_S3_SECRET_KEY}, {@code PAIRKIT_CEPH_OSDS}).
   *
   * @throws IOException if the file cannot be read
   */
  public static TestStore fromRgwEnvFile(java.nio.file.Path env) throws IOException {
    java.util.Map<String, String> values = new java.util.HashMap<>();
    for (String line : java.nio.file.Files.readAllLines(env)) {
      int eq = line.indexOf('=');
      if (eq > 0) {
        values.put(line.substring(0, eq).trim(), line.substring(eq + 1).trim());
      }
    }
    return new TestStore("Ceph RGW 16.2.15 (" + values.getOrDefault("PAIRKIT_CEPH_OSDS", "?")
        + " OSD)", URI.create(values.get("PAIRKIT_S3_ENDPOINT")),
        values.get("PAIRKIT_S3_ACCESS_KEY"), values.get("PAIRKIT_S3_SECRET_KEY"), true);
  }

  /** Never prints the secret key. */
  @Override
  public String toString() {
    return "TestStore[" + description + ", " + endpoint + ", access key "
        + S3Settings.redact(accessKey) + "]";
  }

  /** A spec for volume {@code name} in {@code bucket}: endpoint, keys, path style. */
  public VolumeSpec.Builder spec(String name, String bucket) {
    return VolumeSpec.builder(name, "s3")
        .property("endpoint", endpoint.toString())
        .property("accessKey", accessKey)
        .property("secretKey", secretKey)
        .property("bucket", bucket)
        .property("fencing", conditionalWrites ? "lease" : "none");
  }

  /** The same store reached through {@code proxy}. */
  public TestStore through(FaultProxy proxy) {
    return new TestStore(description + " through a fault proxy", proxy.endpoint(), accessKey,
        secretKey, conditionalWrites);
  }

  /** A client configured as the backend's. */
  public S3Client client() {
    return S3VolumeProvider.newClient(S3Settings.parse(spec("client", "any").build()));
  }

  /** Creates a new, empty bucket with a unique name. */
  public String newBucket() {
    String bucket = "pairkit-" + BUCKETS.incrementAndGet() + "-"
        + UUID.randomUUID().toString().substring(0, 8).toLowerCase(Locale.ROOT);
    try (S3Client c = client()) {
      c.createBucket(b -> b.bucket(bucket));
    }
    return bucket;
  }

  /**
   * Creates volume {@code name} of {@code size} bytes in {@code chunk}-byte chunks under a fresh
   * prefix of {@code bucket}.
   */
  public Volume create(String bucket, String name, long size, int chunk) throws IOException {
    return open(spec(name, bucket).property("prefix", name + "-" + UUID.randomUUID())
        .property("mode", "create").property("size", size).property("chunkSize", chunk).build());
  }

  /** Opens a volume with the shared provider. */
  public static Volume open(VolumeSpec spec) throws IOException {
    return PROVIDER.open(spec, null);
  }
}
