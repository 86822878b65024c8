package io.pairkit.api.spi;

import java.io.IOException;

/**
 * Opens volumes of one backend type. Found with {@link java.util.ServiceLoader}; each backend
 * module lists its provider in {@code META-INF/services/io.pairkit.api.spi.VolumeProvider}.
 *
 * <p>Implementing classes must comply with:
 * <ul>
 *   <li>a public no-argument constructor; {@link #type()} is constant;
 *   <li>thread-safety: {@link #open} may be called from many threads at once;
 *   <li>life cycle: the controller that loaded the provider calls {@link #close()} once, after it
 *       closed every volume; the provider then releases what its volumes shared (an HTTP client, a
 *       thread pool). Volumes it opened are already closed by then.
 * </ul>
 * Two providers with the same {@link #type()} on one class path is a configuration error the engine
 * reports, never a random pick.
 */
public interface VolumeProvider extends AutoCloseable {

  /** The type name a {@link VolumeSpec} selects this backend by, such as {@code "file"}. */
  String type();

  /**
   * Opens (or creates, as the spec says) the volume.
   *
   * @param spec    the volume's configuration
   * @param context access to other backends, for volumes made of other volumes
   * @throws io.pairkit.api.error.VolumeConfigException if the spec is wrong: a missing or
   *     malformed property, a missing volume, a size that does not match, a read-only target
   * @throws io.pairkit.api.error.VolumeInUseException if another writer holds the volume
   * @throws IOException if the backend fails while opening; nothing stays open then
   */
  Volume open(VolumeSpec spec, ProviderContext context) throws IOException;

  /**
   * The spec that reopens the volume {@code opened} opened, once it exists: durable metadata
   * records it, and a controller rebuilt after a restart opens the volume with it. A provider
   * whose specs may create volumes returns one that only opens (a file backend's
   * {@code mode=create} becomes {@code mode=open}). Default: {@code opened} as it is.
   */
  default VolumeSpec reopenSpec(VolumeSpec opened) {
    return opened;
  }

  /**
   * Spec properties that hold secrets (keys, passwords). Durable metadata never records them: a
   * controller reopening a pair passes the recorded spec without them, and the provider resolves
   * them again from its own configuration (environment, default credential chain). Default: none.
   */
  default java.util.Set<String> secretProperties() {
    return java.util.Set.of();
  }

  /**
   * The properties this backend reads, so that a configuration can refuse a misspelt one
   * ({@code direkt=true}) instead of ignoring it; null if the backend does not say (default).
   * A name ending in {@code .*} stands for every property under that prefix: a composite
   * backend's {@code member.*} are its members' own properties ({@code member.N.type} and what
   * that member's backend reads).
   */
  default java.util.Set<String> knownProperties() {
    return null;
  }

  /** Releases what the provider's volumes shared; harmless when repeated. Default: nothing. */
  @Override
  default void close() {
  }
}
