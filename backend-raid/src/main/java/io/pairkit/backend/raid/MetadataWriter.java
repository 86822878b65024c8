package io.pairkit.backend.raid;

import java.io.IOException;

/** How the bitmap and the log reach the members: writes to the live ones, with a flush. */
interface MetadataWriter {

  /**
   * Writes {@code data} at {@code offset} of every live member, then flushes them if
   * {@code durable}. A member that fails is marked failed; an array left without enough members
   * throws.
   */
  void writeToLiveMembers(long offset, byte[] data, boolean durable) throws IOException;

  /** Writes {@code data} at {@code offset} of member {@code member} and flushes it. */
  void writeToMember(int member, long offset, byte[] data) throws IOException;

  /** Makes every completed member write durable (the array's flush). */
  void flushMembers() throws IOException;
}
