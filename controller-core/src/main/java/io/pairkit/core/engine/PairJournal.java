package io.pairkit.core.engine;

import io.pairkit.core.engine.bitmap.BitmapJournal;
import io.pairkit.core.metadata.MetadataStore;

/** One pair's view of the controller's metadata store, as its bitmaps' journal. */
final class PairJournal implements BitmapJournal {
  private final MetadataStore store;
  private final String pairId;

  PairJournal(MetadataStore store, String pairId) {
    this.store = store;
    this.pairId = pairId;
  }

  @Override
  public long pending(long t) {
    return store.markPending(pairId, t);
  }

  @Override
  public long changed(long t) {
    return store.markChanged(pairId, t);
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
