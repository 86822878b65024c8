package io.pairkit.backend.s3;

import java.net.URI;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStoreContext;

/**
 * S3Proxy 2.6.0 in this JVM, on 127.0.0.1 and a free port, over jclouds' transient (in-memory)
 * blob store, with signature checks on. Started once per test JVM, on first use; it does not
 * honour conditional writes, so volumes on it use {@code fencing=none}. The benchmarks use it too
 * (backend-s3's test-jar).
 */
public final class S3ProxyServer {
  private static final String ACCESS_KEY = "pairkit-access";
  private static final String SECRET_KEY = "pairkit-secret-key";
  private static TestStore store;
  private static S3Proxy proxy;

  private S3ProxyServer() {
  }

  /** The running S3Proxy, started on first call. */
  public static synchronized TestStore get() {
    if (store == null) {
      try {
        BlobStoreContext context = ContextBuilder.newBuilder("transient")
            .credentials("identity", "credential")
            .build(BlobStoreContext.class);
        proxy = S3Proxy.builder()
            .blobStore(context.getBlobStore())
            .endpoint(URI.create("http://127.0.0.1:0"))
            .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY)
            .build();
        proxy.start();
      } catch (Exception e) {
        throw new IllegalStateException("S3Proxy did not start: " + e, e);
      }
      store = new TestStore("S3Proxy 2.6.0 (in-process, transient)",
          URI.create("http://127.0.0.1:" + proxy.getPort()), ACCESS_KEY, SECRET_KEY, false);
    }
    return store;
  }

  /** Stops S3Proxy if it runs (its threads would keep a program's JVM alive). */
  public static synchronized void stop() throws Exception {
    if (proxy != null) {
      proxy.stop();
      proxy = null;
      store = null;
    }
  }
}
