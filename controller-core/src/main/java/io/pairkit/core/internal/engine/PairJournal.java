package io.pairkit.core.internal.engine;

import io.pairkit.core.internal.engine.bitmap.BitmapJournal;
import io.pairkit.core.internal.engine.intent.WriteIntent;
import io.pairkit.core.internal.metadata.MetadataStore;

/**
 * One pair's view of the controller's metadata store, as its bitmaps' journal: a host write is
 * covered by its write-intent region (md's write-intent bitmap), so only the first write to a
 * clean region waits for a sync, and a write to a region the metadata durably holds dirty takes
 * no lock at all.
 */
final class PairJournal implements BitmapJournal {
  private final MetadataStore store;
  private final String pairId;
  private final WriteIntent intent;

  PairJournal(MetadataStore store, String pairId, WriteIntent intent) {
    this.store = store;
    this.pairId = pairId;
    this.intent = intent;
  }

  @Override
  public long mirroredWritten(long t) {
    return regionDirty(t);
  }

  @Override
  public long frozenWritten(long t) {
    long exact = store.markChanged(pairId, t);
    if (exact >= 0) {
      return exact;
    }
    return Math.max(-1 - exact, regionDirty(t)); // and a record that dropped its bit, if any
  }

  private long regionDirty(long t) {
    long r = intent.regionOf(t);
    intent.written(r);
    if (intent.durablyDirty(r)) {
      return 0;
    }
    long ticket = store.markDirty(pairId, intent.firstTrack(r), intent.endTrack(r));
    if (ticket == 0) {
      intent.markDurablyDirty(r); // the mark is synced: later writes skip the store
    }
    return ticket;
  }

  @Override
  public boolean durable() {
    return true;
  }

  @Override
  public void awaitDurable(long ticket) {
    store.awaitDurable(ticket);
  }

  @Override
  public void awaitAllAppended() {
    store.sync();
  }

  @Override
  public boolean pendingRecorded(long t) {
    return store.pendingRecorded(pairId, t);
  }
}
