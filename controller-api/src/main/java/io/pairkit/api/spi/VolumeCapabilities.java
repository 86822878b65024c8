package io.pairkit.api.spi;

import io.pairkit.api.error.VolumeConfigException;

/**
 * What a backend volume can do and how it likes to be driven, declared once per volume and
 * checked by the volume contract suite. Immutable; the constructor and every {@code with...} call
 * validate and throw {@link VolumeConfigException} naming the bad value.
 *
 * @param alignment       the backend's native block size in bytes (a power of two): I/O at
 *                        offsets and lengths that are multiples of it needs no read-modify-write.
 *                        Any offset and length still work; this is a performance hint, except that
 *                        a controller refuses a volume whose alignment is larger than its track
 *                        size (the track size is the controller's, not the volume's)
 * @param preferredIoSize the I/O size (a multiple of {@code alignment}) at which the backend moves
 *                        bytes fastest; background copies coalesce consecutive tracks into runs
 *                        of this size (the larger of the pair's two volumes', in whole tracks, at
 *                        least one track), one read and one write per run
 * @param concurrency     how many I/Os in flight still pay off (1 for a device that serialises
 *                        everything); a pair's background copies keep up to this many runs in
 *                        flight (the lesser of its two volumes', within the controller's copy
 *                        threads and tracks-in-flight cap)
 * @param thin            whether {@link Volume#discard} frees space and {@link Volume#allocated}
 *                        reports real holes; when false, discard writes zeros and every byte counts
 *                        as allocated
 * @param durableFlush    whether {@link Volume#flush} is a real durability barrier (false for a
 *                        volume that lives in memory only)
 * @param fencing         whether the backend refuses a second writer of the same volume (a lock
 *                        or a lease), so two controllers cannot both write it
 * @param remote          whether the volume is reached over a network (an object store, a
 *                        remote array), so that waiting for it in every host write and flush
 *                        would put network round trips there: a pair chooses the asynchronous
 *                        mirror for such a secondary unless told otherwise
 */
public record VolumeCapabilities(int alignment, int preferredIoSize, int concurrency,
    boolean thin, boolean durableFlush, boolean fencing, boolean remote) {

  /** Largest preferred I/O size the engine honours: 16 MiB. */
  public static final int MAX_PREFERRED_IO_SIZE = 16 << 20;

  public VolumeCapabilities {
    if (alignment < 1 || Integer.bitCount(alignment) != 1 || alignment > MAX_PREFERRED_IO_SIZE) {
      throw new VolumeConfigException("volume capability alignment " + alignment
          + " is not a power of two from 1 byte to 16 MiB; a backend declares its native block "
          + "size, e.g. 512 or 4096");
    }
    if (preferredIoSize < alignment || preferredIoSize % alignment != 0
        || preferredIoSize > MAX_PREFERRED_IO_SIZE) {
      throw new VolumeConfigException("volume capability preferredIoSize " + preferredIoSize
          + " must be a multiple of the alignment (" + alignment + ") and at most 16 MiB");
    }
    if (concurrency < 1 || concurrency > 1024) {
      throw new VolumeConfigException("volume capability concurrency " + concurrency
          + " must be 1..1024");
    }
  }

  /** As the full constructor, for a local volume ({@code remote = false}). */
  public VolumeCapabilities(int alignment, int preferredIoSize, int concurrency, boolean thin,
      boolean durableFlush, boolean fencing) {
    this(alignment, preferredIoSize, concurrency, thin, durableFlush, fencing, false);
  }

  /**
   * Byte-addressable, 1 MiB preferred I/O, 4 I/Os in flight, not thin, durable flush, no fencing,
   * local: a starting point for {@code with...} calls.
   */
  public static VolumeCapabilities defaults() {
    return new VolumeCapabilities(1, 1 << 20, 4, false, true, false, false);
  }

  public VolumeCapabilities withAlignment(int bytes) {
    return new VolumeCapabilities(bytes, Math.max(preferredIoSize, bytes), concurrency, thin,
        durableFlush, fencing, remote);
  }

  public VolumeCapabilities withPreferredIoSize(int bytes) {
    return new VolumeCapabilities(alignment, bytes, concurrency, thin, durableFlush, fencing,
        remote);
  }

  public VolumeCapabilities withConcurrency(int ios) {
    return new VolumeCapabilities(alignment, preferredIoSize, ios, thin, durableFlush, fencing,
        remote);
  }

  public VolumeCapabilities withThin(boolean value) {
    return new VolumeCapabilities(alignment, preferredIoSize, concurrency, value, durableFlush,
        fencing, remote);
  }

  public VolumeCapabilities withDurableFlush(boolean value) {
    return new VolumeCapabilities(alignment, preferredIoSize, concurrency, thin, value, fencing,
        remote);
  }

  public VolumeCapabilities withFencing(boolean value) {
    return new VolumeCapabilities(alignment, preferredIoSize, concurrency, thin, durableFlush,
        value, remote);
  }

  public VolumeCapabilities withRemote(boolean value) {
    return new VolumeCapabilities(alignment, preferredIoSize, concurrency, thin, durableFlush,
        fencing, value);
  }
}
