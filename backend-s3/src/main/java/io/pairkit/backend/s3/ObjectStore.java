package io.pairkit.backend.s3;

import io.pairkit.api.spi.TransientIOException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.time.Duration;
import java.util.concurrent.Semaphore;
import software.amazon.awssdk.awscore.AwsRequestOverrideConfiguration;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * The few S3 calls a volume makes, on one bucket, with at most {@code concurrency} chunk and
 * metadata calls in flight (lease calls take a path of their own, outside that bound, with a short
 * timeout, so a renewal never waits behind uploads), and the SDK's exceptions turned into {@link IOException}s once: throttling (503
 * SlowDown), server errors and connection failures that remain after the SDK's own retries become
 * {@link TransientIOException}; a failed precondition becomes {@link ConditionFailedException}.
 * Thread-safe. Messages name the volume and the key, never credentials.
 */
final class ObjectStore {
  private final S3Client s3;
  private final S3Client chunkWrites;
  private final String volume;
  private final String bucket;
  private final Semaphore inFlight;
  /** Per-request timeout of lease calls (the SDK's retries included). */
  private volatile Duration leaseCallTimeout = Duration.ofSeconds(10);

  ObjectStore(S3Client s3, String volume, String bucket, int concurrency) {
    this(s3, s3, volume, bucket, concurrency);
  }

  /**
   * @param chunkWrites the client for chunk PUTs and DELETEs: without the SDK's retries, which
   *     the caller does itself, checking the lease before each attempt
   */
  ObjectStore(S3Client s3, S3Client chunkWrites, String volume, String bucket, int concurrency) {
    this.s3 = s3;
    this.chunkWrites = chunkWrites;
    this.volume = volume;
    this.bucket = bucket;
    this.inFlight = new Semaphore(concurrency);
  }

  /** Sets the whole-call timeout of lease calls ({@link #getLease}, {@link #putLease}). */
  void leaseCallTimeout(Duration timeout) {
    this.leaseCallTimeout = timeout;
  }

  /**
   * What a chunk PUT or DELETE checks after it has its permit, right before the request goes
   * out: the lease.
   */
  interface Guard {
    /**
     * @return nanoseconds the caller may still store chunks for (the whole call, the SDK's
     *     retries included, must end within them)
     * @throws IOException (not transient) if it may not store chunks at all
     */
    long remainingNanos() throws IOException;
  }

  /** No lease: chunk calls are bounded by {@code cap} alone. */
  static final Guard UNGUARDED = () -> Long.MAX_VALUE;

  String bucket() {
    return bucket;
  }

  /** A small object's bytes and ETag (quotes removed). */
  record Stored(byte[] bytes, String etag) {
  }

  /** A PUT whose precondition ({@code If-None-Match} or {@code If-Match}) did not hold. */
  static final class ConditionFailedException extends IOException {
    private static final long serialVersionUID = 1L;

    ConditionFailedException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** The whole object, or empty if there is none. For small objects (manifest, lease). */
  Optional<Stored> get(String key) throws IOException {
    return call("GET " + key, () -> doGet(key, null));
  }

  /** {@link #get} on the lease path: no permit, the short lease timeout. */
  Optional<Stored> getLease(String key) throws IOException {
    return callDirect("GET " + key, () -> doGet(key, leaseOverride()));
  }

  /** {@link #put} on the lease path: no permit, the short lease timeout. */
  String putLease(String key, byte[] bytes, Condition condition, String etag)
      throws IOException {
    return put(key, bytes, bytes.length, condition, etag, null, leaseOverride());
  }

  private AwsRequestOverrideConfiguration leaseOverride() {
    Duration t = leaseCallTimeout;
    return AwsRequestOverrideConfiguration.builder().apiCallTimeout(t).apiCallAttemptTimeout(t)
        .build();
  }

  private Optional<Stored> doGet(String key, AwsRequestOverrideConfiguration o)
      throws IOException {
    {
      try (ResponseInputStream<GetObjectResponse> in = s3.getObject(
          GetObjectRequest.builder().bucket(bucket).key(key).overrideConfiguration(o).build())) {
        byte[] bytes = in.readAllBytes();
        return Optional.of(new Stored(bytes, unquote(in.response().eTag())));
      } catch (NoSuchKeyException e) {
        return Optional.empty();
      }
    }
  }

  /**
   * Reads {@code dst.remaining()} bytes of object {@code key} from {@code start} into {@code dst}.
   * The object must be exactly {@code objectLength} bytes.
   *
   * @return false if the object does not exist (nothing read)
   * @throws WrongSizeException if it has another size
   */
  boolean read(String key, long start, ByteBuffer dst, long objectLength) throws IOException {
    int want = dst.remaining();
    if (want == 0) {
      return true;
    }
    return call("GET " + key, () -> {
      GetObjectRequest request = GetObjectRequest.builder().bucket(bucket).key(key)
          .range("bytes=" + start + "-" + (start + want - 1)).build();
      try (ResponseInputStream<GetObjectResponse> in = s3.getObject(request)) {
        int status = in.response().sdkHttpResponse().statusCode();
        boolean whole = start == 0 && want == objectLength;
        if (status != 206 && !(status == 200 && whole) || in.response().contentRange() == null
            && !whole) {
          throw new PermanentIOException("volume '" + volume + "': ranged GET s3://" + bucket + "/" + key
              + " (bytes " + start + "-" + (start + want - 1) + ") was answered with HTTP "
              + status + (in.response().contentRange() == null ? " and no Content-Range"
                  : " " + in.response().contentRange()) + ": the store ignores ranges");
        }
        long total = totalLength(in.response());
        if (total != objectLength) {
          throw new WrongSizeException("volume '" + volume + "': chunk object s3://" + bucket
              + "/" + key + " is " + total + " bytes, expected " + objectLength + " (the chunk "
              + "size of the manifest): it was not written by this volume; restore or delete it");
        }
        readFully(in, dst, key);
        return true;
      } catch (NoSuchKeyException e) {
        return false;
      }
    });
  }

  /**
   * A failure that retrying does not cure (lease lost, a chunk changed by another writer, an
   * object of the wrong size): never turned into a {@link TransientIOException}.
   */
  static class PermanentIOException extends IOException {
    private static final long serialVersionUID = 1L;

    PermanentIOException(String message) {
      super(message);
    }

    PermanentIOException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** An object whose size does not fit the volume's manifest. */
  static final class WrongSizeException extends PermanentIOException {
    private static final long serialVersionUID = 1L;

    WrongSizeException(String message) {
      super(message);
    }
  }

  private static long totalLength(GetObjectResponse r) {
    String range = r.contentRange();
    if (range != null) {
      int slash = range.lastIndexOf('/');
      if (slash >= 0 && !range.endsWith("*")) {
        return Long.parseLong(range.substring(slash + 1).trim());
      }
    }
    return r.contentLength() == null ? -1 : r.contentLength();
  }

  private void readFully(InputStream in, ByteBuffer dst, String key) throws IOException {
    byte[] buf = dst.hasArray() ? null : new byte[Math.min(dst.remaining(), 256 * 1024)];
    while (dst.hasRemaining()) {
      int n;
      if (buf == null) {
        n = in.read(dst.array(), dst.arrayOffset() + dst.position(), dst.remaining());
        if (n > 0) {
          dst.position(dst.position() + n);
        }
      } else {
        n = in.read(buf, 0, Math.min(buf.length, dst.remaining()));
        if (n > 0) {
          dst.put(buf, 0, n);
        }
      }
      if (n < 0) {
        throw new TransientIOException("volume '" + volume + "': GET s3://" + bucket + "/" + key
            + " ended early with " + dst.remaining() + " bytes missing");
      }
    }
  }

  /** The conditions a PUT may carry. */
  enum Condition {
    NONE, IF_ABSENT, IF_MATCH
  }

  /**
   * Stores {@code bytes[0, length)} as object {@code key}; with {@link Condition#IF_ABSENT} only
   * if there is none ({@code If-None-Match: *}), with {@link Condition#IF_MATCH} only if its ETag
   * is {@code etag}. The array must not change until this returns (a retry resends it).
   *
   * @return the new object's ETag, quotes removed
   * @throws ConditionFailedException if the condition did not hold (412, or 409/500 for a
   *     conditional PUT that lost a race: RGW answers a losing compare-and-swap with 500)
   */
  String put(String key, byte[] bytes, int length, Condition condition, String etag)
      throws IOException {
    return put(key, bytes, length, condition, etag, null, null);
  }

  /**
   * {@link #put} of a chunk, one attempt on the client without retries: after the permit is
   * taken, {@code guard} is checked and bounds the call to the time it leaves, and to
   * {@code attemptCap}.
   */
  String putChunk(String key, byte[] bytes, int length, Condition condition, String etag,
      Guard guard, Duration attemptCap) throws IOException {
    return put(key, bytes, length, condition, etag, new Bound(guard, attemptCap), null);
  }

  /** {@link #delete} of a chunk, bounded as {@link #putChunk}. */
  void deleteChunk(String key, Guard guard, Duration attemptCap) throws IOException {
    Bound bound = new Bound(guard, attemptCap);
    call("DELETE " + key, () -> {
      AwsRequestOverrideConfiguration o = bound.override(); // the lease, with the permit held
      return chunkWrites.deleteObject(b -> b.bucket(bucket).key(key).overrideConfiguration(o));
    });
  }

  /** A guard and a per-attempt cap; {@link #override} checks the guard. */
  private record Bound(Guard guard, Duration attemptCap) {
    AwsRequestOverrideConfiguration override() throws IOException {
      long left = guard.remainingNanos();
      Duration call = Duration.ofNanos(Math.min(left, attemptCap.toNanos()));
      return AwsRequestOverrideConfiguration.builder().apiCallTimeout(call)
          .apiCallAttemptTimeout(call).build();
    }
  }

  private String put(String key, byte[] bytes, int length, Condition condition, String etag,
      Bound bound, AwsRequestOverrideConfiguration leaseOverride) throws IOException {
    PutObjectRequest.Builder b = PutObjectRequest.builder().bucket(bucket).key(key)
        .contentLength((long) length);
    if (condition == Condition.IF_ABSENT) {
      b.ifNoneMatch("*");
    } else if (condition == Condition.IF_MATCH) {
      b.ifMatch(unquote(etag)); // RGW compares the ETag unquoted
    }
    RequestBody body = RequestBody.fromContentProvider(
        () -> new ByteArrayInputStream(bytes, 0, length), length, "application/octet-stream");
    try {
      Call<String> c = () -> {
        if (bound != null) {
          b.overrideConfiguration(bound.override()); // the lease, checked with the permit held
        } else if (leaseOverride != null) {
          b.overrideConfiguration(leaseOverride);
        }
        return unquote((bound != null ? chunkWrites : s3).putObject(b.build(), body).eTag());
      };
      return leaseOverride != null ? callDirect("PUT " + key, c) : call("PUT " + key, c);
    } catch (IOException e) {
      int status = e.getCause() instanceof S3Exception s ? s.statusCode() : 0;
      if (status == 412 || (condition != Condition.NONE && (status == 409 || status == 500))) {
        throw new ConditionFailedException("volume '" + volume + "': conditional PUT s3://"
            + bucket + "/" + key + " failed (HTTP " + status + ")", e.getCause());
      }
      throw e;
    }
  }

  /** Deletes the object; a missing one is no error. */
  void delete(String key) throws IOException {
    call("DELETE " + key, () -> s3.deleteObject(b -> b.bucket(bucket).key(key)));
  }

  /** Every object under {@code prefix}, ascending by key. */
  List<S3Object> list(String prefix) throws IOException {
    List<S3Object> all = new ArrayList<>();
    String token = null;
    do {
      String t = token;
      ListObjectsV2Response page = call("LIST " + prefix, () -> s3.listObjectsV2(
          ListObjectsV2Request.builder().bucket(bucket).prefix(prefix).continuationToken(t)
              .build()));
      all.addAll(page.contents());
      token = Boolean.TRUE.equals(page.isTruncated()) ? page.nextContinuationToken() : null;
    } while (token != null);
    return all;
  }

  /** Checks that the bucket exists and the credentials may use it. */
  void headBucket() throws IOException {
    call("HEAD bucket", () -> s3.headBucket(b -> b.bucket(bucket)));
  }

  interface Call<T> {
    T run() throws IOException;
  }

  /** Runs one S3 call within the in-flight bound and translates its failure. */
  <T> T call(String what, Call<T> call) throws IOException {
    try {
      inFlight.acquire();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("volume '" + volume + "': interrupted before " + what);
    }
    try {
      return callDirect(what, call);
    } finally {
      inFlight.release();
    }
  }

  /** Runs one S3 call outside the in-flight bound and translates its failure. */
  <T> T callDirect(String what, Call<T> call) throws IOException {
    try {
      return call.run();
    } catch (SdkException e) {
      throw translate(what, e);
    } catch (PermanentIOException | TransientIOException | InterruptedIOException e) {
      throw e;
    } catch (IOException | java.io.UncheckedIOException e) {
      // The body stream broke (a reset mid-transfer): the SDK does not retry that part.
      throw new TransientIOException("volume '" + volume + "': " + what.replaceFirst(" ",
          " s3://" + bucket + "/") + " failed: " + e.getMessage(), e);
    }
  }

  /** The typed {@link IOException} for a failed call; the SDK exception is its cause. */
  IOException translate(String what, SdkException e) {
    String where = "volume '" + volume + "': " + what.replaceFirst(" ", " s3://" + bucket + "/");
    if (e instanceof S3Exception s) {
      int status = s.statusCode();
      String code = s.awsErrorDetails() == null ? null : s.awsErrorDetails().errorCode();
      String msg = where + " failed after the SDK's retries: HTTP " + status
          + (code == null ? "" : " " + code);
      if (status == 503 || status == 500 || status == 502 || status == 504 || status == 429
          || "SlowDown".equals(code) || "RequestTimeout".equals(code)) {
        return new TransientIOException(msg + " (the store is busy or briefly failing)", e);
      }
      return new IOException(msg, e);
    }
    if (e instanceof SdkClientException && e.retryable() || hasIoCause(e)
        || e instanceof software.amazon.awssdk.core.exception.ApiCallTimeoutException
        || e instanceof software.amazon.awssdk.core.exception.ApiCallAttemptTimeoutException) {
      return new TransientIOException(where + " failed after the SDK's retries: "
          + e.getMessage(), e);
    }
    return new IOException(where + " failed: " + e.getMessage(), e);
  }

  private static boolean hasIoCause(Throwable t) {
    for (Throwable c = t.getCause(); c != null; c = c.getCause()) {
      if (c instanceof IOException) {
        return true;
      }
    }
    return false;
  }

  static String unquote(String etag) {
    if (etag == null) {
      return null;
    }
    String s = etag.trim();
    if (s.startsWith("W/")) {
      s = s.substring(2);
    }
    if (s.length() >= 2 && s.startsWith("\"") && s.endsWith("\"")) {
      s = s.substring(1, s.length() - 1);
    }
    return s;
  }
}
