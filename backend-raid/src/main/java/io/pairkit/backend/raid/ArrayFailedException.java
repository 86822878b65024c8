package io.pairkit.backend.raid;

import java.io.IOException;

/**
 * A RAID volume lost more members than its level survives (or a RAID-0 member failed): it holds
 * no complete copy of some data and refuses I/O rather than return wrong bytes. The message names
 * the lost members and why each was lost.
 */
public final class ArrayFailedException extends IOException {
  private static final long serialVersionUID = 1L;

  public ArrayFailedException(String message, Throwable cause) {
    super(message, cause);
  }
}
