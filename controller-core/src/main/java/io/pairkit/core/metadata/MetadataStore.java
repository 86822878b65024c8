package io.pairkit.core.metadata;

import io.pairkit.api.ExtentSet;
import io.pairkit.api.RecoveryReport;
import io.pairkit.api.error.MetadataException;
import io.pairkit.core.metadata.DurableState.DurablePair;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.roaringbitmap.longlong.Roaring64Bitmap;

/**
 * The durable metadata of a controller's pairs: a journal of records plus checkpoints, in a
 * {@link MetaStorage} (docs/RELIABILITY.md has the format and the ordering rules). Every record
 * is applied to a {@link DurableState} as it is appended, so the state is always what replaying
 * the journal gives, and a checkpoint is that state written out.
 *
 * <p>Appends only copy bytes into a buffer; {@link #awaitDurable} writes and syncs it (group
 * commit: one sync covers every record appended before it started, whoever waits for it). An
 * append returns a ticket, the record's sequence number; 0 means there was nothing to write.
 *
 * <p>Threading: thread-safe. Appends are short and take this object's monitor; syncs and
 * checkpoints take {@code syncLock} and never hold the monitor across I/O, so callers may append
 * under their own locks (the bitmaps' monitor) without waiting for a disk.
 */
public final class MetadataStore implements AutoCloseable {
  /** The on-disk format this code writes and reads. */
  public static final int FORMAT_VERSION = 1;
  private static final long CHECKPOINT_AFTER_BYTES = 32L << 20;

  private final MetaStorage storage;
  private final DurableState state;
  private final ReportBuilder report;
  private final Object syncLock = new Object();

  // Guarded by this.
  private long generation;
  private ByteArrayOutputStream buffer = new ByteArrayOutputStream();
  private long appended;
  private long journalBytes;
  private final Map<String, Cleaning> cleaning = new TreeMap<>();
  private boolean closed;

  /** Per pair, the ticket of the last mark of each track whose record is not synced yet. */
  private final Map<String, Map<Long, Long>> unsyncedMarks = new TreeMap<>();
  /** A journal write that failed: every later append and wait fails too, until a reopen. */
  private volatile MetadataException failed;

  // Written under syncLock; read anywhere.
  private volatile long durable;
  /** Bytes of the current journal file written and synced (a marker records it per batch). */
  private long fileSynced;

  private MetadataStore(MetaStorage storage, DurableState state, long generation,
      ReportBuilder report) {
    this.storage = storage;
    this.state = state;
    this.generation = generation;
    this.report = report;
  }

  /** The names of a generation's files. */
  static String checkpointFile(long gen) {
    return String.format("checkpoint-%016d.pkm", gen);
  }

  static String journalFile(long gen) {
    return String.format("journal-%016d.pkm", gen);
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
      return recover(storage);
    } catch (IOException e) {
      throw new MetadataException("the metadata in " + storage.describe() + " cannot be read ("
          + e.getMessage() + "); restore the directory from a backup, or move it away and "
          + "recreate the pairs (each then copies in full)", e);
    }
  }

  private static MetadataStore recover(MetaStorage storage) throws IOException {
    List<String> files = storage.list();
    long newest = -1;
    for (String f : files) {
      if (f.startsWith("checkpoint-") && f.endsWith(".pkm")) {
        newest = Math.max(newest, parseGeneration(f));
      }
    }
    ReportBuilder report = new ReportBuilder();
    DurableState state = new DurableState();
    if (newest < 0) {
      if (files.stream().anyMatch(f -> f.startsWith("journal-"))) {
        throw new IOException("journal files but no checkpoint: the directory was damaged");
      }
      MetadataStore fresh = new MetadataStore(storage, state, 0, report.clean(true).checkpoint(0));
      // Not marked clean: only a clean close writes that, so a process killed before it made
      // its first pair is reported as the crash it was.
      fresh.writeCheckpoint(0, state.checkpointRecords(false));
      return fresh;
    }
    boolean clean = readCheckpoint(storage, newest, state);
    report.clean(clean).checkpoint(newest);
    long gen = newest;
    while (true) {
      byte[] journal = storage.read(journalFile(gen));
      if (journal == null) {
        break;
      }
      boolean last = storage.read(journalFile(gen + 1)) == null;
      replay(journal, gen, last, state, report);
      gen++;
    }
    for (String f : files) {
      boolean journal = f.startsWith("journal-") && f.endsWith(".pkm");
      if (journal && parseGeneration(f) > gen) {
        throw new IOException(f + " is newer than the newest checkpoint ("
            + checkpointFile(newest) + ") and the journals that follow it, so a checkpoint or "
            + "journal in between is missing (a stale or lost checkpoint)");
      }
    }
    if (gen > newest && report.records() > 0) {
      report.clean(false);
    }
    // Start a fresh generation from what was recovered, so the next crash replays from here.
    MetadataStore store = new MetadataStore(storage, state, gen, report);
    store.writeCheckpoint(gen, state.checkpointRecords(false));
    for (String f : storage.list()) { // older generations, including any a crash left behind
      if ((f.startsWith("checkpoint-") || f.startsWith("journal-")) && f.endsWith(".pkm")
          && parseGeneration(f) < gen) {
        storage.delete(f);
      }
    }
    for (String f : files) { // left by a crash in the middle of a checkpoint: superseded
      if ((f.startsWith("journal-") || f.startsWith("checkpoint-")) && f.endsWith(".pkm")
          && parseGeneration(f) < newest) {
        storage.delete(f);
      }
    }
    return store;
  }

  private static long parseGeneration(String file) throws IOException {
    String digits = file.substring(file.indexOf('-') + 1, file.indexOf('.'));
    try {
      return Long.parseLong(digits);
    } catch (NumberFormatException e) {
      throw new IOException("a metadata file named " + file + " that this version did not write");
    }
  }

  private static boolean readCheckpoint(MetaStorage storage, long gen, DurableState state)
      throws IOException {
    String name = checkpointFile(gen);
    byte[] bytes = storage.read(name);
    RecordCodec.Scan scan = RecordCodec.scan(bytes);
    if (!scan.clean()) {
      throw new IOException(name + " has " + scan.stoppedBecause());
    }
    List<RecordCodec.Frame> frames = scan.frames();
    if (frames.isEmpty() || frames.get(0).type() != DurableState.HEADER) {
      throw new IOException(name + " does not start with a header");
    }
    checkHeader(name, frames.get(0), gen);
    RecordCodec.Frame end = frames.get(frames.size() - 1);
    if (end.type() != DurableState.END) {
      throw new IOException(name + " has no end record (it was cut short)");
    }
    try {
      for (RecordCodec.Frame f : frames.subList(1, frames.size() - 1)) {
        if (f.type() != DurableState.PAIR) {
          throw new IOException("record type " + f.type() + " at byte " + f.offset());
        }
        state.readPair(f.payload());
      }
      RecordCodec.In in = new RecordCodec.In(end.payload());
      int count = in.i32();
      boolean clean = in.bool();
      state.nextRequestId = in.i64();
      if (count != state.pairs.size()) {
        throw new IOException("its end record counts " + count + " pairs, " + state.pairs.size()
            + " were read");
      }
      return clean;
    } catch (IOException e) {
      throw new IOException(name + ": " + e.getMessage(), e);
    }
  }

  private static void checkHeader(String name, RecordCodec.Frame header, long gen)
      throws IOException {
    if (header.type() != DurableState.HEADER) {
      throw new IOException(name + " does not start with a header record (type "
          + header.type() + " at byte 0)");
    }
    RecordCodec.In in = new RecordCodec.In(header.payload());
    int version = in.i32();
    long g = in.i64();
    if (version != FORMAT_VERSION) {
      throw new IOException(name + " is format version " + version + "; this PairKit reads "
          + "version " + FORMAT_VERSION);
    }
    if (g != gen) {
      throw new IOException(name + " says it is generation " + g + ", its name says " + gen);
    }
  }

  private static void replay(byte[] journal, long gen, boolean last, DurableState state,
      ReportBuilder report) throws IOException {
    String name = journalFile(gen);
    RecordCodec.Scan scan = RecordCodec.scan(journal);
    if (!scan.clean()) {
      if (!last) {
        throw new IOException(name + " has " + scan.stoppedBecause() + ", and a later journal "
            + "follows it, so records are missing in the middle");
      }
      long synced = RecordCodec.syncedAfter(journal, scan.validBytes());
      if (synced > scan.validBytes()) {
        // A crash tears only what was not yet synced; a marker saying the damaged bytes had been
        // synced means synced records were damaged, and leaving them out could lose a difference.
        throw new IOException(name + " has " + scan.stoppedBecause() + ", but a later marker "
            + "says its first " + synced + " bytes had been synced, so the journal is damaged "
            + "in the middle, not torn at its end");
      }
      report.discarded(journal.length - scan.validBytes(), scan.stoppedBecause());
    }
    List<RecordCodec.Frame> frames = scan.frames();
    if (frames.isEmpty()) {
      return; // created but nothing reached the disk: a crash right at the start
    }
    checkHeader(name, frames.get(0), gen);
    for (RecordCodec.Frame f : frames.subList(1, frames.size())) {
      try {
        state.apply(f.type(), f.payload());
      } catch (IOException e) {
        throw new IOException(name + " at byte " + f.offset() + ": " + e.getMessage(), e);
      }
      report.replayed();
    }
  }

  private void writeCheckpoint(long gen, List<byte[]> records) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(header(gen));
    for (byte[] r : records) {
      out.write(r);
    }
    storage.replace(checkpointFile(gen), out.toByteArray());
  }

  private static byte[] header(long gen) throws IOException {
    return RecordCodec.frame(DurableState.HEADER,
        new RecordCodec.Out().i32(FORMAT_VERSION).i64(gen).bytes());
  }

  // ---------------------------------------------------------------- appends

  /** Appends a record and applies it; returns its ticket. */
  private synchronized long append(int type, byte[] payload) {
    checkOpen();
    if (failed != null) {
      throw failed;
    }
    try {
      state.apply(type, payload);
    } catch (IOException e) {
      throw new IllegalStateException("the engine wrote a record it cannot read back", e);
    }
    byte[] framed = RecordCodec.frame(type, payload);
    if (buffer.size() == 0 && journalBytes == 0) {
      try {
        buffer.write(header(generation));
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    }
    buffer.writeBytes(framed);
    journalBytes += framed.length;
    return ++appended;
  }

  private void checkOpen() {
    if (closed) {
      throw new MetadataException("the metadata store is closed (its controller was closed)");
    }
  }

  /** A new pair, with every track of its scope pending and its initial copy running. */
  public long create(PairInfo info, long createRequestId, Roaring64Bitmap scope) {
    return append(DurableState.CREATE, encode(out -> {
      DurableState.writeInfo(out, info);
      out.i64(createRequestId).bitmap(scope);
    }));
  }

  /**
   * Mirrored track {@code t} of {@code pair} became pending. Returns 0 if the metadata already
   * says so (a hot track: no record, no wait), else the ticket of the record.
   */
  public synchronized long markPending(String pair, long t) {
    DurablePair p = state.pairs.get(pair);
    Cleaning c = cleaning.get(pair);
    if (c != null) {
      c.rewritten.addLong(t);
    }
    if (p == null) {
      return 0;
    }
    if (p.pending.contains(t)) {
      return outstanding(pair, t); // recorded, but maybe not synced yet: wait for that record
    }
    return remember(pair, t, append(DurableState.MARK_PENDING, encode(out ->
        out.str(pair).bitmap(Roaring64Bitmap.bitmapOf(t)))));
  }

  /** The ticket of the unsynced record that last marked {@code t}, or 0 if it is synced. */
  private long outstanding(String pair, long t) {
    Map<Long, Long> marks = unsyncedMarks.get(pair);
    Long ticket = marks == null ? null : marks.get(t);
    return ticket == null || ticket <= durable ? 0 : ticket;
  }

  private long remember(String pair, long t, long ticket) {
    unsyncedMarks.computeIfAbsent(pair, k -> new java.util.HashMap<>()).put(t, ticket);
    return ticket;
  }

  /**
   * Frozen track {@code t} of {@code pair} was written (on either side) and no longer waits for
   * its point-in-time copy. Returns 0 if the metadata already says so.
   */
  public synchronized long markChanged(String pair, long t) {
    DurablePair p = state.pairs.get(pair);
    if (p == null) {
      return 0;
    }
    if (p.changed.contains(t) && !p.pending.contains(t)) {
      return outstanding(pair, t);
    }
    return remember(pair, t, append(DurableState.MARK_CHANGED, encode(out ->
        out.str(pair).bitmap(Roaring64Bitmap.bitmapOf(t)))));
  }

  /** Whether the metadata records track {@code t} of {@code pair} pending. */
  public synchronized boolean pendingRecorded(String pair, long t) {
    DurablePair p = state.pairs.get(pair);
    return p != null && p.pending.contains(t);
  }

  /** A request's instant: its transition ({@code FREEZE}, {@code UPDATE}, ...) and its region. */
  public long instant(String pair, long requestId, String kind, ExtentSet region,
      boolean drainsMirror, String transition, Roaring64Bitmap tracks) {
    return append(DurableState.INSTANT, encode(out -> out.str(pair).i64(requestId).str(kind)
        .extents(region).bool(drainsMirror).str(transition).bitmap(tracks)));
  }

  /** A request's copy ended ({@code completed}: all copied, not cancelled or failed). */
  public long done(String pair, long requestId, boolean completed) {
    return append(DurableState.DONE, encode(out ->
        out.str(pair).i64(requestId).bool(completed)));
  }

  public long suspend(String pair, String because) {
    return append(DurableState.SUSPEND, encode(out -> out.str(pair).str(because)));
  }

  public synchronized long delete(String pair) {
    cleaning.remove(pair);
    unsyncedMarks.remove(pair);
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
   * Lazy clearing of one pair, across rounds (md's write-intent bitmap clears a bit only after
   * seconds of quiet): a track is cleared only if it was copied (not pending) at two rounds in a
   * row and no host write made it pending in between, so a bit stays set at least one round
   * ({@code lazyClearDelay}) after its track's last write, and a hot track costs no sync.
   */
  private static final class Cleaning {
    /** Candidates at the last round's start. */
    Roaring64Bitmap previous = new Roaring64Bitmap();
    /** Tracks made pending since the last round's start. */
    Roaring64Bitmap rewritten = new Roaring64Bitmap();
    /** What the running round may clear, or null between rounds. */
    Roaring64Bitmap eligible;
  }

  /**
   * First half of a lazy clear round (call under the pair's bitmaps monitor): the tracks the
   * metadata holds pending that the engine has not held pending for a whole round. Returns them;
   * the caller flushes both volumes before {@link #finishClearing}.
   */
  public synchronized Roaring64Bitmap beginClearing(String pair, Roaring64Bitmap pendingNow) {
    DurablePair p = state.pairs.get(pair);
    if (p == null) {
      return new Roaring64Bitmap();
    }
    Cleaning c = cleaning.computeIfAbsent(pair, k -> new Cleaning());
    Roaring64Bitmap candidates = Roaring64Bitmap.andNot(p.pending, pendingNow);
    Roaring64Bitmap eligible = Roaring64Bitmap.and(candidates, c.previous);
    eligible.andNot(c.rewritten);
    c.previous = candidates;
    c.rewritten = new Roaring64Bitmap();
    c.eligible = eligible;
    return eligible.clone();
  }

  /**
   * Second half (call under the pair's bitmaps monitor, after both volumes were flushed): clears
   * the eligible tracks that are still not pending and were not written since the first half.
   * Returns how many tracks were cleared.
   */
  public synchronized long finishClearing(String pair, Roaring64Bitmap pendingNow) {
    Cleaning c = cleaning.get(pair);
    if (c == null || c.eligible == null || !state.pairs.containsKey(pair)) {
      return 0;
    }
    Roaring64Bitmap clear = Roaring64Bitmap.andNot(c.eligible, pendingNow);
    clear.andNot(c.rewritten);
    c.eligible = null;
    if (clear.isEmpty()) {
      return 0;
    }
    append(DurableState.CLEAR, encode(out -> out.str(pair).bitmap(clear)));
    return clear.getLongCardinality();
  }

  /** Pairs the metadata holds, by id. */
  public synchronized List<String> pairIds() {
    return new ArrayList<>(state.pairs.keySet());
  }

  // ---------------------------------------------------------------- durability

  /**
   * Returns once the record of {@code ticket} (and every one before it) is durable. Group
   * commit: whoever finds no sync running writes out everything appended so far and syncs it;
   * the others wait for that.
   *
   * @throws MetadataException if the metadata cannot be written; the engine then refuses the
   *     write or request that needed it
   */
  public void awaitDurable(long ticket) {
    if (ticket <= 0) {
      return;
    }
    MetadataException f = failed;
    if (f != null) {
      throw f;
    }
    synchronized (syncLock) {
      while (durable < ticket) {
        writeOutLocked();
      }
    }
  }

  /** Writes and syncs everything appended so far; the caller holds syncLock. */
  private void writeOutLocked() {
    byte[] bytes;
    long upTo;
    long gen;
    synchronized (this) {
      bytes = buffer.toByteArray();
      buffer = new ByteArrayOutputStream();
      upTo = appended;
      gen = generation;
    }
    try {
      if (bytes.length > 0) {
        byte[] batch = bytes;
        if (fileSynced > 0) {
          byte[] marker = RecordCodec.frame(DurableState.SYNCED,
              encode(out -> out.i64(fileSynced)));
          batch = new byte[marker.length + bytes.length];
          System.arraycopy(marker, 0, batch, 0, marker.length);
          System.arraycopy(bytes, 0, batch, marker.length, bytes.length);
        }
        storage.append(journalFile(gen), batch);
        storage.sync(journalFile(gen));
        fileSynced += batch.length;
      } else {
        storage.sync(journalFile(gen));
      }
    } catch (IOException e) {
      // Sticky: the batch is lost from the disk but its bits are in the state, so nothing may
      // count on this journal any more (a retried write would find its bit "recorded").
      failed = new MetadataException("the metadata journal in " + storage.describe()
          + " could not be written (" + e.getMessage() + "); every write and request that needs "
          + "it is refused from now on: fix the disk, then close and reopen the controller "
          + "(recovery reads what reached the disk)", e);
      throw failed;
    }
    durable = upTo;
    synchronized (this) {
      for (Map<Long, Long> marks : unsyncedMarks.values()) {
        marks.values().removeIf(ticket -> ticket <= upTo);
      }
    }
  }

  /** Makes everything appended so far durable. */
  public void sync() {
    long ticket;
    synchronized (this) {
      ticket = appended;
    }
    awaitDurable(ticket);
  }

  /**
   * Writes a checkpoint and starts a new journal once the journal has grown past its limit;
   * call from a background thread.
   */
  public void checkpointIfDue() {
    synchronized (this) {
      if (journalBytes < CHECKPOINT_AFTER_BYTES || closed) {
        return;
      }
    }
    checkpoint(false);
  }

  private void checkpoint(boolean clean) {
    synchronized (syncLock) {
      List<byte[]> records;
      byte[] oldTail;
      long old;
      long upTo;
      synchronized (this) {
        // One cut: records up to here are in the old journal and in the checkpoint's state.
        try {
          records = state.checkpointRecords(clean);
        } catch (IOException e) {
          throw new IllegalStateException(e);
        }
        oldTail = buffer.toByteArray();
        buffer = new ByteArrayOutputStream();
        upTo = appended;
        old = generation;
        generation = old + 1;
        journalBytes = 0;
      }
      try {
        // The old journal complete and durable first; then the checkpoint that replaces it.
        if (oldTail.length > 0) {
          storage.append(journalFile(old), oldTail);
        }
        storage.sync(journalFile(old));
        durable = upTo;
        fileSynced = 0; // the next batch starts the new generation's journal
        writeCheckpoint(old + 1, records);
        storage.delete(journalFile(old));
        storage.delete(checkpointFile(old));
      } catch (IOException e) {
        failed = new MetadataException("a metadata checkpoint in " + storage.describe()
            + " could not be written (" + e.getMessage() + "); the controller refuses what "
            + "needs the metadata from now on: fix the disk, then close and reopen it", e);
        throw failed;
      }
    }
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
    synchronized (syncLock) {
      synchronized (this) {
        for (Map.Entry<String, ExactBits> e : exact.entrySet()) {
          DurablePair p = state.pairs.get(e.getKey());
          if (p != null) {
            p.pending.clear();
            p.pending.or(e.getValue().pending());
          }
        }
      }
      try {
        checkpoint(true);
      } finally {
        closeStorage(); // the LOCK is released whatever happened
      }
    }
  }

  /** A pair's exact pending bits at a clean close (every copy durable). */
  public record ExactBits(Roaring64Bitmap pending) {
  }

  /** Closes without a final checkpoint (the controller could not make its volumes durable). */
  public void closeDirty() {
    synchronized (syncLock) {
      try {
        writeOutLocked();
      } catch (MetadataException e) {
        // Nothing more can be saved; the next open replays what reached the disk.
      }
      closeStorage();
    }
  }

  private void closeStorage() {
    synchronized (this) {
      closed = true;
    }
    try {
      storage.close();
    } catch (IOException e) {
      // Everything needed is synced; a failing close of the files loses nothing.
    }
  }

  @Override
  public void close() {
    closeDirty();
  }

  /** The recorded pairs as recovery found them, for the controller to rebuild. */
  public synchronized Map<String, DurablePairView> pairs() {
    Map<String, DurablePairView> out = new java.util.LinkedHashMap<>();
    for (DurablePair p : state.pairs.values()) {
      out.put(p.info.id(), new DurablePairView(p.info, p.scope.clone(), p.pending.clone(),
          p.changed.clone(), p.frozen.clone(), p.initialCopyDone, p.suspendedBecause,
          List.copyOf(p.requests.values())));
    }
    return out;
  }

  /** A copy of one recorded pair. */
  public record DurablePairView(PairInfo info, Roaring64Bitmap scope, Roaring64Bitmap pending,
      Roaring64Bitmap changed, Roaring64Bitmap frozen, boolean initialCopyDone,
      String suspendedBecause, List<RequestInfo> requests) {
  }
}
