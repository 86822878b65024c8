package io.pairkit.backend.s3;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The Ceph RGW that {@code src/test/ceph/ceph-rgw.sh start} runs (and {@code .ci/run} starts
 * before the build): its endpoint and keys come from the env file the script writes
 * ({@code $PAIRKIT_RGW_ENV}, default {@code /var/tmp/pairkit-ceph/rgw.env}). Tests call
 * {@link #assume()}, which skips them, printing why, when the file is missing or the store does
 * not answer, unless {@code PAIRKIT_REQUIRE_RGW=1} (as {@code .ci/run} sets): then they fail.
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
    if (store.isEmpty() && "1".equals(System.getenv("PAIRKIT_REQUIRE_RGW"))) {
      throw new AssertionError("PAIRKIT_REQUIRE_RGW=1 but no Ceph RGW answers: " + why);
    }
    Assumptions.assumeTrue(store.isPresent(), () -> "Ceph RGW tests skipped: " + why);
    return store.get();
  }

  private static Optional<TestStore> find() {
    String named = System.getenv("PAIRKIT_RGW_ENV");
    Path env = named != null && !named.isBlank() ? Path.of(named) : DEFAULT_ENV;
    TestStore s;
    try {
      s = TestStore.fromRgwEnvFile(env);
    } catch (IOException e) {
      why = env + " cannot be read (" + e + "): no Ceph RGW was started; run "
          + "backend-s3/src/test/ceph/ceph-rgw.sh start as root (.ci/run does)";
      return Optional.empty();
    }
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
