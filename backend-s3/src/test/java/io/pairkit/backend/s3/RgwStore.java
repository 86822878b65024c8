package io.pairkit.backend.s3;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The Ceph RGW that {@code src/test/ceph/ceph-rgw.sh start} runs (and {@code .ci/run} starts
 * before the build): its endpoint and keys come from the env file the script writes
 * ({@code $PAIRKIT_RGW_ENV}, default {@code /var/tmp/pairkit-ceph/rgw.env}). Tests call
 * {@link #assume()}, which skips them, printing why, when the file is missing or the store does
 * not answer.
 */
final class RgwStore {
  static final Path DEFAULT_ENV = Path.of("/var/tmp/pairkit-ceph/rgw.env");
  private static Optional<TestStore> store;
  private static String why;

  private RgwStore() {
  }

  /** The running RGW; skips the calling test (with the reason) when there is none. */
  static synchronized TestStore assume() {
    if (store == null) {
      store = find();
      if (store.isEmpty()) {
        System.err.println("[backend-s3] Ceph RGW tests skipped: " + why);
      }
    }
    Assumptions.assumeTrue(store.isPresent(), () -> "Ceph RGW tests skipped: " + why);
    return store.get();
  }

  private static Optional<TestStore> find() {
    String named = System.getenv("PAIRKIT_RGW_ENV");
    Path env = named != null && !named.isBlank() ? Path.of(named) : DEFAULT_ENV;
    Map<String, String> values = new HashMap<>();
    try {
      for (String line : Files.readAllLines(env)) {
        int eq = line.indexOf('=');
        if (eq > 0) {
          values.put(line.substring(0, eq).trim(), line.substring(eq + 1).trim());
        }
      }
    } catch (IOException e) {
      why = env + " cannot be read (" + e + "): no Ceph RGW was started; run "
          + "backend-s3/src/test/ceph/ceph-rgw.sh start as root (.ci/run does)";
      return Optional.empty();
    }
    TestStore s = new TestStore("Ceph RGW (" + values.getOrDefault("PAIRKIT_CEPH_OSDS", "?")
        + " OSDs)", URI.create(values.get("PAIRKIT_S3_ENDPOINT")),
        values.get("PAIRKIT_S3_ACCESS_KEY"), values.get("PAIRKIT_S3_SECRET_KEY"), true);
    try (S3Client c = s.client()) {
      c.listBuckets();
    } catch (RuntimeException e) {
      why = "the RGW of " + env + " at " + s.endpoint() + " does not answer (" + e.getMessage()
          + "); restart it with backend-s3/src/test/ceph/ceph-rgw.sh start";
      return Optional.empty();
    }
    return Optional.of(s);
  }
}
