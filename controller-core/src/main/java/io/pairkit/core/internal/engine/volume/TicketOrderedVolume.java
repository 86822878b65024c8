package io.pairkit.core.internal.engine.volume;

import io.pairkit.api.spi.Volume;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * A volume that takes a write at once and keeps it from its backend until a metadata record is
 * durable (ordering rule 1 of docs/RELIABILITY.md), so the writer does not wait for the record:
 * a write-back track cache, which destages in that order. {@link BackendVolume#writeAfter} uses
 * it where the volume offers it, and waits for the record itself where not.
 */
public interface TicketOrderedVolume extends Volume {
  /**
   * Writes {@code src} at {@code offset}; none of it reaches the backend before the record of
   * {@code ticket} is durable.
   */
  void write(long offset, ByteBuffer src, long ticket) throws IOException;
}
