package io.pairkit.core.internal.engine;

import io.pairkit.core.internal.engine.bitmap.Bits;
import io.pairkit.core.internal.engine.bitmap.TrackBitmaps;
import io.pairkit.core.internal.engine.intent.WriteIntent;
import io.pairkit.core.internal.engine.track.TrackLocks;
import io.pairkit.core.internal.metadata.MetadataStore;
import java.util.ArrayList;
import java.util.List;
import org.roaringbitmap.longlong.PeekableLongIterator;
import org.roaringbitmap.longlong.Roaring64Bitmap;

/**
 * One lazy round of a durable pair (md's bitmap daemon), run every {@code lazyClearDelay}. When
 * there is something to record (pending bits the metadata holds beyond the engine's, or dirty
 * regions that went quiet):
 * <ol>
 *   <li><b>settle</b>: the copies made and the synchronous mirror writes that landed since the
 *       last round are made durable by one flush of the primary and the secondary (the primary
 *       too: a copy may have read data the primary had not made durable);</li>
 *   <li><b>clear</b> (ordering rule 2): pending bits the metadata holds for tracks the engine no
 *       longer has pending, whose copies are durable now, are recorded cleared;</li>
 *   <li><b>clean</b> (rule 5): each dirty write-intent region not written during this round and
 *       the one before, with every mirrored track copied and every copy and synchronous write
 *       there durable, is recorded exact again (its changed tracks listed), under its track
 *       locks so no host write is under way there. The next write to it waits for one sync.</li>
 * </ol>
 * Nothing here waits for the records it appends: a record lost in a crash leaves bits set or a
 * region dirty, which costs copying, never a difference.
 */
final class LazyRound {
  private final AbstractPair pair;

  LazyRound(AbstractPair pair) {
    this.pair = pair;
  }

  void run() {
    MetadataStore store = pair.engine.store;
    WriteIntent intent = pair.intent;
    TrackBitmaps bitmaps = pair.bitmaps;
    intent.beginRound();
    List<Long> quiet = quietDirtyRegions(store.dirtyTracks(pair.id()), intent);
    boolean clearable;
    synchronized (bitmaps) {
      clearable = store.recordsPendingBeyond(pair.id(), bitmaps.pendingSnapshot());
    }
    // A flush is only worth its cost (writing back everything dirty on both volumes) when it
    // lets the round record something: pending bits to clear, or quiet regions to clean. Under
    // steady writes neither holds, and the copies stay in the next settle.
    if (!clearable && quiet.isEmpty()) {
      return;
    }
    pair.settle();
    synchronized (bitmaps) {
      store.clearCopied(pair.id(), bitmaps.mayNeedCopy());
    }
    for (long r : quiet) {
      clean(r, store, intent, bitmaps);
    }
  }

  /** Regions holding dirty tracks that were not written lately. */
  private List<Long> quietDirtyRegions(Roaring64Bitmap dirty, WriteIntent intent) {
    List<Long> out = new ArrayList<>();
    PeekableLongIterator it = dirty.getLongIterator();
    while (it.hasNext()) {
      long r = intent.regionOf(it.next());
      if (r >= intent.regionCount()) {
        break;
      }
      if (!intent.writtenLately(r)) {
        out.add(r);
      }
      it.advanceIfNeeded(intent.endTrack(r));
    }
    return out;
  }

  private void clean(long r, MetadataStore store, WriteIntent intent, TrackBitmaps bitmaps) {
    long first = intent.firstTrack(r);
    long end = Math.min(intent.endTrack(r), pair.geometry.trackCount());
    try (TrackLocks.Held held = pair.primary.trackLocks.lock(first, end)) {
      synchronized (bitmaps) {
        if (intent.writtenLately(r) || intent.unsettled(r) || !bitmaps.settledIn(first, end)) {
          return;
        }
        intent.clearDurablyDirty(r);
        Roaring64Bitmap region = Bits.range(first, intent.endTrack(r));
        store.clean(pair.id(), region, bitmaps.changedIn(first, end));
      }
    }
  }
}
