package io.pairkit.api.spi;

import java.io.IOException;

/**
 * Opens volumes of one backend type. Found with {@link java.util.ServiceLoader}; each backend
 * module lists its provider in {@code META-INF/services/io.pairkit.api.spi.VolumeProvider}.
 *
 * <p>Implementations must be thread-safe and have a public no-argument constructor. Two providers
 * with the same {@link #type()} on one class path is a configuration error the engine reports.
 */
public interface VolumeProvider {

  /** The type name a {@link VolumeSpec} selects this backend by, such as {@code "file"}. */
  String type();

  /**
   * Opens (or creates, as the spec says) the volume.
   *
   * @throws io.pairkit.api.error.VolumeConfigException if the spec is wrong: a missing or
   *     malformed property, a missing volume, a size that does not match, a read-only target
   * @throws IOException if the backend fails while opening
   */
  Volume open(VolumeSpec spec) throws IOException;
}
