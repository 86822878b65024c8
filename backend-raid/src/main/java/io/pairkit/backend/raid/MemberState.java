package io.pairkit.backend.raid;

/** A member's state as the superblocks record it. */
public enum MemberState {
  /** In sync and in use. */
  ACTIVE,
  /** Lost (an I/O error, a missing or unreadable image): neither read nor written. */
  FAILED,
  /** A replacement being rebuilt: rows below the rebuild cursor are in sync, the rest are not. */
  REBUILDING;

  static MemberState ofCode(int code) {
    return values()[code];
  }
}
