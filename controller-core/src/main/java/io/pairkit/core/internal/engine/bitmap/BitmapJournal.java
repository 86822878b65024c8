package io.pairkit.core.internal.engine.bitmap;

/**
 * Where a pair's difference bits are made durable (the durable-metadata journal), told of every
 * host write to a track of the pair, under the bitmaps' monitor. Each call returns a ticket to
 * wait for before the written data may reach a backend (0: nothing to wait for, what covers the
 * write is durable already). A write is covered by its write-intent region being durably dirty,
 * or by an exact record of its track. Must be quick (an append to a buffer, never I/O; the
 * common case is one lock-free read) and must not call back into the bitmaps. {@link #NONE} is
 * used when the controller has no metadata directory.
 */
public interface BitmapJournal {
  /** Records nothing: bits live in memory only. */
  BitmapJournal NONE = new BitmapJournal() {
    @Override
    public long mirroredWritten(long t) {
      return 0;
    }

    @Override
    public long frozenWritten(long t) {
      return 0;
    }

    @Override
    public boolean durable() {
      return false;
    }

    @Override
    public void awaitDurable(long ticket) {
    }

    @Override
    public boolean pendingRecorded(long t) {
      return false;
    }

    @Override
    public void awaitAllAppended() {
    }
  };

  /**
   * A host write to mirrored track {@code t} is about to land (on the primary, and with a
   * synchronous mirror on the secondary too): its region must be durably dirty. Returns the
   * ticket of the record that says so if it is not synced yet (appending one if there is none),
   * else 0.
   */
  long mirroredWritten(long t);

  /**
   * Frozen track {@code t}, holding its point-in-time copy, is about to be written on either
   * side: it is changed. If the metadata still records its copy due, that is recorded false,
   * exactly, for this track (the caller made the copy durable first); otherwise the region's
   * write intent covers it. Returns the ticket to wait for, else 0.
   */
  long frozenWritten(long t);

  /**
   * Whether bits are made durable at all; if so, copies that a bit's change relies on (a
   * copy-on-write) must be durable on the secondary before the change is recorded.
   */
  boolean durable();

  /**
   * Returns once the record of {@code ticket} is durable (at once for 0). Called without any
   * engine monitor held (track locks may be held).
   *
   * @throws io.pairkit.api.error.MetadataException if the journal cannot be written
   */
  void awaitDurable(long ticket);

  /**
   * Returns once every record appended so far is durable. A background copy calls it under its
   * track locks before it writes the secondary: the primary data it read may be guarded by a bit
   * whose record is not durable yet (a write-back cache lets the host write complete before),
   * and the copy must not put that data on the secondary's backend ahead of its bit.
   */
  void awaitAllAppended();

  /**
   * Whether the journal still records track {@code t} pending: a copy put it on the secondary,
   * but the clear is not recorded yet (lazy clearing). Marking such a frozen track changed records
   * its pending bit cleared, so the copy must be durable on the secondary first (rule 2). Quick
   * (no I/O); call under the track's lock.
   */
  boolean pendingRecorded(long t);
}
