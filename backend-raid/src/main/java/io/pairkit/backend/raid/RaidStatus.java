package io.pairkit.backend.raid;

import java.util.List;
import java.util.Optional;

/**
 * A snapshot of a RAID volume's health, as {@code /proc/mdstat} would show it.
 *
 * @param level        the array level
 * @param stripeUnit   bytes per stripe unit
 * @param members      each member's state, in member order
 * @param dirtyBitmapChunks write-intent bitmap chunks set now
 * @param failure      why the array refuses I/O, if it does
 */
public record RaidStatus(RaidLevel level, int stripeUnit, List<Member> members,
    int dirtyBitmapChunks, Optional<String> failure) {

  /**
   * One member.
   *
   * @param index         position in the array
   * @param name          the member volume's name
   * @param state         its state
   * @param rebuiltBytes  for a member being rebuilt, bytes of it in sync; else its data size
   * @param dataBytes     bytes of array data and parity it holds when in sync
   * @param lastError     why it failed, if it did
   */
  public record Member(int index, String name, MemberState state, long rebuiltBytes,
      long dataBytes, Optional<String> lastError) {
  }

  /** Whether some member is not in sync (failed or being rebuilt). */
  public boolean degraded() {
    return members.stream().anyMatch(m -> m.state() != MemberState.ACTIVE);
  }
}
