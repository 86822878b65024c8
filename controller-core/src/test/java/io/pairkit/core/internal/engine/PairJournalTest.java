package io.pairkit.core.internal.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.ExtentSet;
import io.pairkit.core.internal.engine.intent.WriteIntent;
import io.pairkit.core.internal.metadata.MetadataStore;
import io.pairkit.core.internal.metadata.PairInfo;
import io.pairkit.core.internal.metadata.VolumeRef;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.roaringbitmap.longlong.Roaring64Bitmap;

/**
 * What a host write must wait for, at the journal: nothing in a durably dirty region, one sync
 * for the first write to a clean region, and the record that dropped a split track's pending
 * bit while that record is not durable (a crash would bring the bit back, and recovery would then
 * copy the primary's new data over the point-in-time image; the crash enumeration found this).
 */
class PairJournalTest {
  private static final int TRACKS = 64;

  private static MetadataStore storeWithSplitPair() {
    MetadataStore store = MetadataStore.open(new RecordingStorage(null));
    VolumeRef p = new VolumeRef("p", "mem", Map.of(), TRACKS * 4096L, null);
    VolumeRef s = new VolumeRef("s", "mem", Map.of(), TRACKS * 4096L, null);
    Roaring64Bitmap all = new Roaring64Bitmap();
    all.addRange(0, TRACKS);
    store.create(new PairInfo("x", "VOLUME_PAIR", 4096, ExtentSet.of(0, TRACKS * 4096L), true,
        p, s, Map.of()), 1, all);
    // Split with every track's copy still recorded due.
    store.instant("x", 2, "SPLIT", ExtentSet.of(0, TRACKS * 4096L), false, "FREEZE", all, all);
    store.sync();
    return store;
  }

  @Test
  void onlyTheFirstWriteToACleanRegionWaits() {
    MetadataStore store = storeWithSplitPair();
    store.clearCopied("x", new Roaring64Bitmap()); // every split copy is durable: bits dropped
    store.sync();
    PairJournal journal = new PairJournal(store, "x", new WriteIntent(TRACKS, 16));
    long first = journal.frozenWritten(3);
    assertTrue(first > 0, "the first write to region 0 waits for its dirty mark");
    assertEquals(first, journal.frozenWritten(5), "a second one waits for the same record");
    store.awaitDurable(first);
    assertEquals(0, journal.frozenWritten(7), "once it is durable, nothing to wait for");
    assertEquals(0, journal.mirroredWritten(9));
    assertTrue(journal.frozenWritten(20) > first, "region 1 is clean: its own mark");
  }

  @Test
  void aWriteWaitsForTheRecordThatDroppedItsTracksPendingBit() {
    MetadataStore store = storeWithSplitPair();
    PairJournal journal = new PairJournal(store, "x", new WriteIntent(TRACKS, 16));
    store.markDirty("x", 0, 16);
    store.sync();
    assertEquals(0, journal.mirroredWritten(1), "region 0 is durably dirty");
    // A lazy round records the split copies cleared; the record is not synced yet.
    store.clearCopied("x", new Roaring64Bitmap());
    long wait = journal.frozenWritten(4);
    assertTrue(wait > 0, "track 4's pending bit comes back if the clear is lost: the write "
        + "must wait for the clear");
    store.awaitDurable(wait);
    assertEquals(0, journal.frozenWritten(4), "the clear is durable: the region covers it");
  }
}
