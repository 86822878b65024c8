package io.pairkit.core.internal.metadata;

import io.pairkit.api.ExtentSet;
import io.pairkit.api.RecoveryReport;
import io.pairkit.api.error.MetadataException;
import io.pairkit.core.internal.metadata.DurableState.DurablePair;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.roaringbitmap.longlong.Roaring64Bitmap;

/**
 * The durable metadata of a controller's pairs: a journal of records plus checkpoints, in a
 * {@link MetaStorage} (docs/RELIABILITY.md has the format and the ordering rules). Every record
 * is applied to a {@link DurableState} as it is appended, so the state is always what replaying
 * the journal gives, and a checkpoint is that state written out.
 *
 * <p>This class is the typed records and what they mean for the engine; the files, group commit
 * and checkpoints are {@link JournalWriter}'s; the tickets a host write may have to wait for are
 * {@link UnsyncedTickets}; opening and replay are {@link MetadataRecovery}'s. An append returns
 * a ticket, the record's sequence number; 0 means there was nothing to write.
 *
 * <p>Threading: thread-safe. Appends are short and take this object's monitor; syncs and
 * checkpoints never hold the monitor across I/O, so callers may append under their own locks
 * (the bitmaps' monitor) without waiting for a disk.
 */
public final class MetadataStore implements AutoCloseable {
  /** The on-disk format this code writes. */
  public static final int FORMAT_VERSION = 4;
  /** The oldest format this code still reads (a version 1 directory opens, then moves to 2). */
  public static final int OLDEST_READABLE_VERSION = 1;

  private final DurableState state;
  private final ReportBuilder report;
  /** Guarded by this. */
  private final UnsyncedTickets tickets = new UnsyncedTickets();
  private final JournalWriter journal;

  MetadataStore(MetaStorage storage, DurableState state, long generation,
      ReportBuilder report) {
    this.state = state;
    this.report = report;
    this.journal = new JournalWriter(storage, this, generation, state::checkpointRecords,
        tickets::durableUpTo);
  }

  /** The names of a generation's files. */
  static String checkpointFile(long gen) {
    return JournalWriter.checkpointFile(gen);
  }

  static String journalFile(long gen) {
    return JournalWriter.journalFile(gen);
  }

  /**
   * Opens the metadata in {@code storage}: reads the newest complete checkpoint and replays the
   * journals after it (a torn tail of the last one is left out and reported), then starts a new
   * generation, so the directory is consistent whatever happens next.
   *
   * @throws MetadataException naming the file and what is wrong if the metadata cannot be trusted
   */
  public static MetadataStore open(MetaStorage storage) {
    try {
      return MetadataRecovery.recover(storage);
    } catch (IOException e) {
      throw new MetadataException("the metadata in " + storage.describe() + " cannot be read ("
          + e.getMessage() + "); restore the directory from a backup, or move it away and "
          + "recreate the pairs (each then copies in full)", e);
    }
  }

  /** Writes generation {@code gen}'s checkpoint: the header, then {@code records}. */
  void writeCheckpoint(long gen, List<byte[]> records) throws IOException {
    journal.writeCheckpoint(gen, records);
  }

  // ---------------------------------------------------------------- appends

  /** Appends a record and applies it; returns its ticket. */
  private synchronized long append(int type, byte[] payload) {
    journal.checkWritable();
    try {
      state.apply(type, payload, FORMAT_VERSION);
    } catch (IOException e) {
      throw new IllegalStateException("the engine wrote a record it cannot read back", e);
    }
    return journal.add(RecordCodec.frame(type, payload));
  }

  /** A new pair, with every track of its scope pending and its initial copy running. */
  public long create(PairInfo info, long createRequestId, Roaring64Bitmap scope) {
    return append(DurableState.CREATE, encode(out -> {
      DurableState.writeInfo(out, info);
      out.i64(createRequestId).bitmap(scope);
    }));
  }

  /**
   * Records a pair created without an initial copy ({@code PairOptions.initialCopy} false): as
   * {@link #create}, then nothing pending and the create request done. A crash between these
   * records finds the pair created with its copy to make: safe, only slower. Returns the ticket
   * of the last.
   */
  public synchronized long createWithoutCopy(PairInfo info, long createRequestId,
      Roaring64Bitmap scope) {
    create(info, createRequestId, scope);
    append(DurableState.CLEAR, encode(out -> out.str(info.id()).bitmap(scope)));
    return done(info.id(), createRequestId, true);
  }

  /**
   * A host write is about to land in tracks {@code [first, end)} of {@code pair}, a write-intent
   * region: records the region dirty unless the metadata says so already. Returns 0 if that is
   * durable, else the ticket of the record that says so (appended now, or earlier and not yet
   * synced).
   */
  public synchronized long markDirty(String pair, long first, long end) {
    DurablePair p = state.pairs.get(pair);
    if (p == null) {
      return 0;
    }
    if (countIn(p.dirty, first, end) == end - first) {
      return tickets.region(pair, first, journal.durable());
    }
    Roaring64Bitmap region = new Roaring64Bitmap();
    if (end - first > 2048) {
      region.addRange(first, end);
    } else {
      for (long t = first; t < end; t++) { // addRange is slow for small ranges (engine's Bits)
        region.addLong(t);
      }
    }
    long ticket = append(DurableState.MARK_DIRTY, encode(out -> out.str(pair).bitmap(region)));
    tickets.rememberRegion(pair, first, ticket);
    return ticket;
  }

  /** Bits of {@code bitmap} in {@code [a, b)}, by rank. */
  private static long countIn(Roaring64Bitmap bitmap, long a, long b) {
    return bitmap.rankLong(b - 1) - (a == 0 ? 0 : bitmap.rankLong(a - 1));
  }

  /**
   * Frozen track {@code t} of {@code pair} was written (on either side). If the metadata records
   * it pending (its point-in-time copy due), that is now false: records it changed, exactly, and
   * returns the ticket; the caller made the copy durable first. If an exact record already says
   * it changed, returns that record's ticket if it is not synced yet, else 0. Otherwise the
   * region's write intent must cover the write: returns {@code -1 - d}, where {@code d} is the
   * ticket of a record not synced yet that dropped the track's pending bit (0 if none), which
   * the write must wait for as well.
   */
  public synchronized long markChanged(String pair, long t) {
    DurablePair p = state.pairs.get(pair);
    if (p == null) {
      return 0;
    }
    if (p.frozen.contains(t) && p.pending.contains(t)) {
      return tickets.rememberMark(pair, t, append(DurableState.MARK_CHANGED, encode(out ->
          out.str(pair).bitmap(Roaring64Bitmap.bitmapOf(t)))));
    }
    long drop = tickets.drop(pair, t, journal.durable());
    if (p.changed.contains(t)) {
      return Math.max(tickets.mark(pair, t, journal.durable()), drop);
    }
    return -1 - drop;
  }

  /** Whether the metadata records track {@code t} of {@code pair} pending. */
  public synchronized boolean pendingRecorded(String pair, long t) {
    DurablePair p = state.pairs.get(pair);
    return p != null && p.pending.contains(t);
  }

  /**
   * A request's instant: its transition ({@code FREEZE}, {@code UPDATE}, ...), its region, and
   * {@code pendingAfter}, the tracks of the region that may still need a copy (the engine's
   * pending ones and those whose copy is not durable yet).
   */
  public long instant(String pair, long requestId, String kind, ExtentSet region,
      boolean drainsMirror, String transition, Roaring64Bitmap tracks,
      Roaring64Bitmap pendingAfter) {
    byte[] payload = encode(out -> out.str(pair).i64(requestId).str(kind)
        .extents(region).bool(drainsMirror).str(transition).bitmap(tracks)
        .bitmap(pendingAfter));
    synchronized (this) {
      DurablePair p = state.pairs.get(pair);
      Roaring64Bitmap before = p == null ? null : p.pending.clone();
      long ticket = append(DurableState.INSTANT, payload);
      if (p != null) {
        tickets.rememberDrops(pair, before, p.pending, ticket, journal.durable());
      }
      return ticket;
    }
  }

  /** One member's instant in {@link #instants}: the arguments of {@link #instant}. */
  public record InstantRecord(String pair, long requestId, String kind, ExtentSet region,
      boolean drainsMirror, String transition, Roaring64Bitmap tracks,
      Roaring64Bitmap pendingAfter) {
  }

  /**
   * A consistency group's instant: every member's instant in one record, so that recovery finds
   * all of them or none (a torn record is dropped whole). Returns its ticket.
   */
  public long instants(List<InstantRecord> members) {
    byte[] payload = encode(out -> {
      out.i32(members.size());
      for (InstantRecord r : members) {
        out.i32(DurableState.INSTANT).blob(encode(o -> o.str(r.pair()).i64(r.requestId())
            .str(r.kind()).extents(r.region()).bool(r.drainsMirror()).str(r.transition())
            .bitmap(r.tracks()).bitmap(r.pendingAfter())));
      }
    });
    synchronized (this) {
      Map<String, Roaring64Bitmap> before = new java.util.HashMap<>();
      for (InstantRecord r : members) {
        DurablePair p = state.pairs.get(r.pair());
        if (p != null) {
          before.put(r.pair(), p.pending.clone());
        }
      }
      long ticket = append(DurableState.BATCH, payload);
      for (Map.Entry<String, Roaring64Bitmap> e : before.entrySet()) {
        DurablePair p = state.pairs.get(e.getKey());
        if (p != null) {
          tickets.rememberDrops(e.getKey(), e.getValue(), p.pending, ticket,
              journal.durable());
        }
      }
      return ticket;
    }
  }

  /** A consistency group created with these member pairs. */
  public long group(String name, List<String> members) {
    return append(DurableState.GROUP, encode(out -> {
      out.str(name).i32(members.size());
      for (String m : members) {
        out.str(m);
      }
    }));
  }

  /** A consistency group dissolved. */
  public long groupDeleted(String name) {
    return append(DurableState.GROUP_DELETE, encode(out -> out.str(name)));
  }

  /** The recorded consistency groups: name to member pair ids. */
  public synchronized Map<String, List<String>> groups() {
    return new java.util.LinkedHashMap<>(state.groups);
  }

  /** A pair's options, replaced (its mirror mode, ...). */
  public long options(String pair, Map<String, String> options) {
    return append(DurableState.OPTIONS, encode(out -> out.str(pair).map(options)));
  }

  /** A request's copy ended ({@code completed}: all copied, not cancelled or failed). */
  /**
   * A restore copied {@code done} back to the primary of {@code pair}, and the primary was
   * flushed: they are no longer to restore, and {@code equal} (the tracks its extents covered
   * whole) hold the same data on both sides. Returns the ticket.
   */
  public long restored(String pair, Roaring64Bitmap done, Roaring64Bitmap equal) {
    return append(DurableState.RESTORED, encode(out -> out.str(pair).bitmap(done)
        .bitmap(equal)));
  }

  public long done(String pair, long requestId, boolean completed) {
    return append(DurableState.DONE, encode(out ->
        out.str(pair).i64(requestId).bool(completed)));
  }

  public long suspend(String pair, String because) {
    return append(DurableState.SUSPEND, encode(out -> out.str(pair).str(because)));
  }

  public synchronized long delete(String pair) {
    tickets.forget(pair);
    return append(DurableState.DELETE, encode(out -> out.str(pair)));
  }

  /** The next request id not used by the metadata. */
  public synchronized long nextRequestId() {
    return state.nextRequestId;
  }

  @FunctionalInterface
  private interface Writer {
    void write(RecordCodec.Out out) throws IOException;
  }

  private static byte[] encode(Writer w) {
    try {
      RecordCodec.Out out = new RecordCodec.Out();
      w.write(out);
      return out.bytes();
    } catch (IOException e) {
      throw new IllegalStateException(e); // in-memory streams do not fail
    }
  }

  // ---------------------------------------------------------------- lazy clearing

  /**
   * Clears the pending bits the metadata holds for {@code pair} outside {@code keep} (call under
   * the pair's bitmaps monitor, with {@code keep} = what the engine has pending plus the tracks
   * whose copies are not durable yet, after the copies before were made durable). Returns how
   * many tracks were cleared.
   */
  public synchronized long clearCopied(String pair, Roaring64Bitmap keep) {
    DurablePair p = state.pairs.get(pair);
    if (p == null) {
      return 0;
    }
    Roaring64Bitmap clear = Roaring64Bitmap.andNot(p.pending, keep);
    if (clear.isEmpty()) {
      return 0;
    }
    long ticket = append(DurableState.CLEAR, encode(out -> out.str(pair).bitmap(clear)));
    tickets.rememberDrops(pair, clear.clone(), new Roaring64Bitmap(), ticket,
        journal.durable());
    return clear.getLongCardinality();
  }

  /**
   * Whether the metadata records pending tracks of {@code pair} that {@code enginePending} does
   * not hold: a lazy round could clear them once their copies are durable.
   */
  public synchronized boolean recordsPendingBeyond(String pair, Roaring64Bitmap enginePending) {
    DurablePair p = state.pairs.get(pair);
    return p != null && !p.pending.isEmpty()
        && Roaring64Bitmap.andNot(p.pending, enginePending).getLongCardinality() > 0;
  }

  /** The tracks of {@code pair}'s dirty write-intent regions (a copy). */
  public synchronized Roaring64Bitmap dirtyTracks(String pair) {
    DurablePair p = state.pairs.get(pair);
    return p == null ? new Roaring64Bitmap() : p.dirty.clone();
  }

  /**
   * Records write-intent regions {@code tracks} of {@code pair} exactly again: they are no
   * longer dirty, and their frozen tracks that changed are {@code changedThere}. The caller holds
   * the regions' track locks (no host write is under way there), every mirrored track there is
   * copied and the copies are durable. Returns the ticket.
   */
  public synchronized long clean(String pair, Roaring64Bitmap tracks,
      Roaring64Bitmap changedThere) {
    if (!state.pairs.containsKey(pair)) {
      return 0;
    }
    tickets.forgetRegions(pair, tracks);
    return append(DurableState.CLEAN, encode(out -> out.str(pair).bitmap(tracks)
        .bitmap(changedThere)));
  }

  /** Pairs the metadata holds, by id. */
  public synchronized List<String> pairIds() {
    return new ArrayList<>(state.pairs.keySet());
  }

  // ---------------------------------------------------------------- durability

  /**
   * Returns once the record of {@code ticket} (and every one before it) is durable (group
   * commit, see {@link JournalWriter}).
   *
   * @throws MetadataException if the metadata cannot be written; the engine then refuses the
   *     write or request that needed it
   */
  public void awaitDurable(long ticket) {
    journal.awaitDurable(ticket);
  }

  /** Makes everything appended so far durable. */
  public void sync() {
    journal.sync();
  }

  /**
   * Writes a checkpoint and starts a new journal once the journal has grown past its limit;
   * call from a background thread.
   */
  public void checkpointIfDue() {
    journal.checkpointIfDue();
  }

  /** What opening found. */
  public RecoveryReport report(List<RecoveryReport.PairRecovery> pairs) {
    return report.build(pairs);
  }

  /**
   * Closes cleanly: the caller made every volume durable and the engine's bits exact first, so a
   * checkpoint of the state says all there is, and the next open has nothing to redo.
   */
  public void closeClean(Map<String, ExactBits> exact) {
    journal.closeClean(() -> {
      for (Map.Entry<String, ExactBits> e : exact.entrySet()) {
        DurablePair p = state.pairs.get(e.getKey());
        if (p != null) {
          p.pending.clear();
          p.pending.or(e.getValue().pending());
          p.changed.clear();
          p.changed.or(Roaring64Bitmap.and(e.getValue().changed(), p.frozen));
          p.dirty.clear(); // every write is durable on both sides and in these bits
        }
      }
    });
  }

  /** A pair's exact pending and changed bits at a clean close (every copy durable). */
  public record ExactBits(Roaring64Bitmap pending, Roaring64Bitmap changed) {
  }

  /** Closes without a final checkpoint (the controller could not make its volumes durable). */
  public void closeDirty() {
    journal.closeDirty();
  }

  @Override
  public void close() {
    closeDirty();
  }

  /** The recorded pairs as recovery found them, for the controller to rebuild. */
  public synchronized Map<String, DurablePairView> pairs() {
    Map<String, DurablePairView> out = new java.util.LinkedHashMap<>();
    for (DurablePair p : state.pairs.values()) {
      DurableState.Effective e = DurableState.effective(p);
      out.put(p.info.id(), new DurablePairView(p.info, p.scope.clone(), e.pending(),
          e.changed(), p.frozen.clone(), p.dirty.clone(), e.impliedTracks(),
          p.initialCopyDone, p.suspendedBecause, List.copyOf(p.requests.values()),
          p.restoring.clone(), p.splitBytes));
    }
    return out;
  }

  /**
   * A copy of one recorded pair, as the engine resumes it: {@code pending} and {@code changed}
   * include what the dirty write-intent regions imply ({@code impliedTracks} of them), and
   * {@code dirty} holds those regions' tracks; {@code restoring}, the tracks a restore has still
   * to copy back; {@code splitBytes}, the bytes split requests named (null: not recorded, an
   * older format).
   */
  public record DurablePairView(PairInfo info, Roaring64Bitmap scope, Roaring64Bitmap pending,
      Roaring64Bitmap changed, Roaring64Bitmap frozen, Roaring64Bitmap dirty,
      long impliedTracks, boolean initialCopyDone, String suspendedBecause,
      List<RequestInfo> requests, Roaring64Bitmap restoring, ExtentSet splitBytes) {
  }
}
