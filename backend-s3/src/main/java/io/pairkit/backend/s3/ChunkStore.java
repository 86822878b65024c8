package io.pairkit.backend.s3;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * What a {@link ChunkBuffer} stores whole chunks into: the volume's chunk objects. The volume
 * implements it over its {@code ObjectStore} and {@code Lease}; tests put failing or gated
 * stores in its place.
 */
interface ChunkStore {
  /** Reads {@code dst.remaining()} bytes of stored chunk {@code index} from {@code offset}. */
  void readStored(long index, int offset, ByteBuffer dst) throws IOException;

  /** Stores the whole chunk (a PUT); checks the lease first. */
  void put(long index, byte[] data, int length) throws IOException;

  /** Removes the stored chunk (a DELETE); checks the lease first. */
  void delete(long index) throws IOException;
}
