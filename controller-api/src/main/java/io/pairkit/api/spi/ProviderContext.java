package io.pairkit.api.spi;

import java.io.IOException;

/**
 * What the engine lends a {@link VolumeProvider} while it opens a volume: access to the other
 * backends, so a composite volume (a RAID set over file volumes, say) can open its members by
 * spec without depending on the engine.
 *
 * <p>Threading: thread-safe. Valid only during {@link VolumeProvider#open}; a volume opened
 * through it belongs to the caller, who must close it (a composite volume closes its members when
 * it is closed itself, and when its own open fails).
 */
public interface ProviderContext {

  /**
   * Opens a backend volume by spec through the provider of its type, bypassing the pair engine
   * (the result is a raw {@link Volume}, not registered with the controller).
   *
   * @throws io.pairkit.api.error.VolumeConfigException for an unknown type or a bad spec
   * @throws io.pairkit.api.error.VolumeInUseException if another writer holds the volume
   * @throws io.pairkit.api.error.AlreadyClosedException if the providers were closed
   * @throws IOException if the backend fails while opening; nothing stays open then
   */
  Volume openVolume(VolumeSpec spec) throws IOException;
}
