package io.pairkit.backend.s3;

import io.pairkit.api.error.AlreadyClosedException;
import io.pairkit.api.spi.ProviderContext;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.VolumeProvider;
import io.pairkit.api.spi.VolumeSpec;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.client.config.ClientOverrideConfiguration;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.http.SdkHttpClient;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3Configuration;

/**
 * Opens {@code "s3"} volumes; see the package documentation for the properties. Volumes with the
 * same endpoint, region, addressing and credentials share one {@link S3Client} (its connection
 * pool), which {@link #close()} releases. Thread-safe.
 */
public final class S3VolumeProvider implements VolumeProvider {
  /** The backend type name. */
  public static final String TYPE = "s3";
  /** Connections per shared client: enough for several volumes at the default concurrency. */
  static final int MAX_CONNECTIONS = 256;

  private final Map<ClientKey, Clients> clients = new HashMap<>();

  /**
   * The clients of one key, on one connection pool: {@code retrying} with the SDK's retries (for
   * reads, listings, the manifest and the lease), {@code chunkWrites} without them: a chunk PUT or
   * DELETE is retried by the volume's buffer, which re-checks the lease before each attempt.
   */
  record Clients(S3Client retrying, S3Client chunkWrites, SdkHttpClient http) {
    void close() {
      retrying.close();
      chunkWrites.close();
      http.close();
    }
  }
  private boolean closed;

  /** What makes two volumes' clients interchangeable. Never printed (it holds the secret). */
  private record ClientKey(Optional<URI> endpoint, String region, boolean pathStyle,
      Optional<String> accessKey, Optional<String> secretKey) {
    @Override
    public String toString() {
      return "ClientKey[" + endpoint + ", " + region + "]";
    }
  }

  /** {@code trackSize} is known so that its own message explains it belongs to the controller. */
  @Override
  public java.util.Set<String> knownProperties() {
    return java.util.Set.of("endpoint", "region", "bucket", "prefix", "accessKey", "secretKey",
        "pathStyle", "size", "chunkSize", "mode", "concurrency", "fencing", "leaseSeconds",
        "trackSize");
  }

  @Override
  public String type() {
    return TYPE;
  }

  /** Once the volume exists, {@code mode=create} becomes {@code open}. */
  @Override
  public VolumeSpec reopenSpec(VolumeSpec opened) {
    return VolumeSpec.builder(opened.name(), opened.type()).properties(opened.properties())
        .property("mode", "open").build();
  }

  /** {@code accessKey} and {@code secretKey}: a reopen without them uses the default chain. */
  @Override
  public Set<String> secretProperties() {
    return Set.of("accessKey", "secretKey");
  }

  @Override
  public Volume open(VolumeSpec spec, ProviderContext context) throws IOException {
    S3Settings settings = S3Settings.parse(spec);
    Clients c = client(settings);
    return S3Volume.open(settings, new ObjectStore(c.retrying(), c.chunkWrites(),
        settings.name(), settings.bucket(), settings.concurrency()));
  }

  private synchronized Clients client(S3Settings s) {
    if (closed) {
      throw new AlreadyClosedException("the s3 volume provider is closed; open volumes through "
          + "a new controller");
    }
    ClientKey key = new ClientKey(s.endpoint(), s.region(), s.pathStyle(), s.accessKey(),
        s.secretKey());
    return clients.computeIfAbsent(key, k -> newClients(s));
  }

  /** Both clients of {@link Clients} for {@code s}, sharing one connection pool. */
  static Clients newClients(S3Settings s) {
    SdkHttpClient http = httpClient().build();
    return new Clients(build(s, http, true), build(s, http, false), http);
  }

  private static ApacheHttpClient.Builder httpClient() {
    return ApacheHttpClient.builder()
        .maxConnections(MAX_CONNECTIONS)
        .connectionTimeout(Duration.ofSeconds(5))
        .socketTimeout(Duration.ofSeconds(30))
        .connectionAcquisitionTimeout(Duration.ofSeconds(60));
  }

  /**
   * A client as the stores here need it: checksums only where required (S3Proxy and Ceph RGW
   * reject the SDK's default streaming checksum trailer), no chunked payload encoding, the SDK's
   * standard retry strategy (its back-off and throttling retries) or none, the Apache HTTP
   * client (its own, or {@code http}).
   */
  static S3Client newClient(S3Settings s) {
    return build(s, null, true);
  }

  private static S3Client build(S3Settings s, SdkHttpClient http, boolean retries) {
    AwsCredentialsProvider credentials = s.accessKey().isPresent()
        ? StaticCredentialsProvider.create(AwsBasicCredentials.create(s.accessKey().get(),
            s.secretKey().get()))
        : DefaultCredentialsProvider.builder().build();
    var builder = S3Client.builder()
        .region(Region.of(s.region()))
        .credentialsProvider(credentials)
        .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
        .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
        .serviceConfiguration(S3Configuration.builder()
            .pathStyleAccessEnabled(s.pathStyle())
            .chunkedEncodingEnabled(false)
            .build())
        .overrideConfiguration(ClientOverrideConfiguration.builder()
            .retryStrategy(retries ? AwsRetryStrategy.standardRetryStrategy()
                : AwsRetryStrategy.doNotRetry())
            .apiCallAttemptTimeout(Duration.ofSeconds(30))
            .build());
    if (http != null) {
      builder.httpClient(http); // shared: closed by Clients.close
    } else {
      builder.httpClientBuilder(httpClient());
    }
    s.endpoint().ifPresent(builder::endpointOverride);
    return builder.build();
  }

  @Override
  public synchronized void close() {
    closed = true;
    for (Clients c : clients.values()) {
      c.close();
    }
    clients.clear();
  }
}
