package io.pairkit.api.spi;

import java.util.List;
import java.util.Optional;

/**
 * How a volume's backend is doing, for an admin: whether it runs degraded and the state of each
 * part it is made of (a RAID set's members with their rebuild progress). A simple backend has no
 * parts and is never degraded.
 *
 * @param degraded   whether it serves with less redundancy than configured
 * @param summary    one line for people, e.g. {@code RAID-5, 4 members, member 2 rebuilding}
 * @param components its parts, in order (empty for a simple backend)
 */
public record VolumeHealth(boolean degraded, String summary, List<Component> components) {

  public VolumeHealth {
    components = List.copyOf(components);
  }

  /**
   * One part.
   *
   * @param name       the part's name (a member volume's)
   * @param state      its state in the backend's words ({@code ACTIVE}, {@code FAILED},
   *                   {@code REBUILDING}, ...)
   * @param doneBytes  bytes of it in sync (equal to {@code totalBytes} when in sync)
   * @param totalBytes bytes it holds when in sync
   * @param lastError  why it failed, if it did
   */
  public record Component(String name, String state, long doneBytes, long totalBytes,
      Optional<String> lastError) {
  }

  /** A backend with no parts, serving normally. */
  public static VolumeHealth healthy() {
    return new VolumeHealth(false, "ok", List.of());
  }
}
