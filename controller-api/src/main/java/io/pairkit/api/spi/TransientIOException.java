package io.pairkit.api.spi;

import java.io.IOException;

/**
 * A backend failure that is expected to pass by itself: throttling (S3 503 SlowDown), a connection
 * reset, a briefly unreachable server. The engine retries the operation with back-off up to its
 * configured limit ({@code PairKit.Builder.transientRetries}) before it treats the failure as
 * permanent: host I/O then gets a {@link io.pairkit.api.error.VolumeIOException}, and a
 * background copy suspends its pair. A backend
 * throws it only where a retry of the same call is safe: the failed call changed nothing, or
 * repeating it gives the same result.
 */
public class TransientIOException extends IOException {
  private static final long serialVersionUID = 1L;

  public TransientIOException(String message) {
    super(message);
  }

  public TransientIOException(String message, Throwable cause) {
    super(message, cause);
  }
}
