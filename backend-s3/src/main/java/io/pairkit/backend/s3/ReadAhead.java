package io.pairkit.backend.s3;

/**
 * Tells sequential reading of one volume from random reading, so that only a sequential reader
 * makes the volume fetch chunks ahead.
 *
 * <p>A read is sequential when it starts exactly where an earlier one ended. Readers of a block
 * device rarely have one stream in flight in order: {@code nbdcopy} reads with two threads, each
 * through its own part of the disk with many requests in flight, and the server runs those
 * requests on a pool, so they reach the volume slightly out of order. So the last
 * {@link #STREAMS} read ends are remembered (the one left alone the longest is replaced first),
 * and a read that continues any of them extends it. A read that lands a little ahead of a
 * stream's end (within {@link #REORDER} reads of its size: it overtook the ones between) starts
 * a new stream that inherits the old one's progress, so overtaking does not reset it (only from a
 * stream extended within the last {@link #REORDER} reads: one left behind is not inherited).
 *
 * <p>A stream reads ahead once it has been continued {@link #TRIGGER} times in a row and covers
 * at least {@link #MIN_BYTES}. In random reading an exact continuation happens by chance (a
 * small volume, or a small region read at random, makes it likely), but 128 KiB of them in a
 * row, 32 for 4 KiB reads, does not, and an inherited count is never raised by landing ahead,
 * so a random reader does not read ahead.
 *
 * <p>Threading: thread-safe (one monitor; a read costs a scan of {@link #STREAMS} slots).
 */
final class ReadAhead {
  /** Read ends remembered. */
  static final int STREAMS = 32;
  /** Continuations in a row after which a stream may read ahead. */
  static final int TRIGGER = 2;
  /** Bytes a stream must cover (continuations included) before it reads ahead. */
  static final long MIN_BYTES = 128 << 10;
  /** How far, in reads of its size, a read may overtake its stream and still belong to it. */
  static final int REORDER = 32;

  private final int window;
  private final long[] ends = new long[STREAMS];
  private final int[] runs = new int[STREAMS];
  private final long[] bytes = new long[STREAMS];
  private final long[] lastRead = new long[STREAMS];
  private long reads;

  /**
   * @param window chunks to read ahead of a sequential stream
   */
  ReadAhead(int window) {
    this.window = window;
    java.util.Arrays.fill(ends, -1);
  }

  /**
   * Records a read of {@code [offset, offset + length)}.
   *
   * @return how many chunks to fetch ahead from its end: 0 if the read is not part of a
   *     sequential stream
   */
  synchronized int onRead(long offset, long length) {
    long now = ++reads;
    long end = offset + length;
    int match = -1;
    int behind = -1;
    int oldest = 0;
    for (int i = 0; i < STREAMS; i++) {
      if (ends[i] == offset && match < 0) {
        match = i;
      } else if (ends[i] >= 0 && ends[i] < offset && offset - ends[i] <= REORDER * length
          && now - lastRead[i] <= REORDER && (behind < 0 || bytes[i] > bytes[behind])) {
        behind = i;
      }
      if (lastRead[i] < lastRead[oldest]) {
        oldest = i;
      }
    }
    int s;
    if (match >= 0) {
      s = match;
      runs[s]++;
      bytes[s] += length;
    } else { // a new stream; it replaces the one left alone the longest
      s = oldest;
      runs[s] = behind < 0 ? 0 : runs[behind];
      bytes[s] = behind < 0 ? length : bytes[behind];
    }
    ends[s] = end;
    lastRead[s] = now;
    return runs[s] >= TRIGGER && bytes[s] >= MIN_BYTES ? window : 0;
  }
}
