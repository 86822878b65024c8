package io.pairkit.core.internal.metadata;

import java.io.IOException;
import java.util.List;

/**
 * Opening the metadata: the newest complete checkpoint is read, the journals after it are
 * replayed (a torn tail of the last one is left out and reported, damage anywhere else refuses
 * to open, naming the file), files a crash left behind are removed, and a new generation starts
 * from what was recovered (docs/RELIABILITY.md has the format).
 */
final class MetadataRecovery {
  private MetadataRecovery() {
  }

  /**
   * Recovers {@code storage}'s metadata and returns a store on a fresh generation.
   *
   * @throws IOException naming the file and what is wrong if the metadata cannot be trusted
   */
  static MetadataStore recover(MetaStorage storage) throws IOException {
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
      byte[] journal = storage.read(MetadataStore.journalFile(gen));
      if (journal == null) {
        break;
      }
      boolean last = storage.read(MetadataStore.journalFile(gen + 1)) == null;
      replay(journal, gen, last, state, report);
      gen++;
    }
    for (String f : files) {
      boolean journal = f.startsWith("journal-") && f.endsWith(".pkm");
      if (journal && parseGeneration(f) > gen) {
        throw new IOException(f + " is newer than the newest checkpoint ("
            + MetadataStore.checkpointFile(newest) + ") and the journals that follow it, so a checkpoint or "
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

  static long parseGeneration(String file) throws IOException {
    String digits = file.substring(file.indexOf('-') + 1, file.indexOf('.'));
    try {
      return Long.parseLong(digits);
    } catch (NumberFormatException e) {
      throw new IOException("a metadata file named " + file + " that this version did not write");
    }
  }

  private static boolean readCheckpoint(MetaStorage storage, long gen, DurableState state)
      throws IOException {
    String name = MetadataStore.checkpointFile(gen);
    byte[] bytes = storage.read(name);
    RecordCodec.Scan scan = RecordCodec.scan(bytes);
    if (!scan.clean()) {
      throw new IOException(name + " has " + scan.stoppedBecause());
    }
    List<RecordCodec.Frame> frames = scan.frames();
    if (frames.isEmpty() || frames.get(0).type() != DurableState.HEADER) {
      throw new IOException(name + " does not start with a header");
    }
    int version = checkHeader(name, frames.get(0), gen);
    RecordCodec.Frame end = frames.get(frames.size() - 1);
    if (end.type() != DurableState.END) {
      throw new IOException(name + " has no end record (it was cut short)");
    }
    try {
      for (RecordCodec.Frame f : frames.subList(1, frames.size() - 1)) {
        if (f.type() == DurableState.GROUP && version >= 3) {
          state.apply(f.type(), f.payload(), version);
          continue;
        }
        if (f.type() != DurableState.PAIR) {
          throw new IOException("record type " + f.type() + " at byte " + f.offset());
        }
        state.readPair(f.payload(), version);
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

  /** Checks a file's header record; returns the format version it was written in. */
  static int checkHeader(String name, RecordCodec.Frame header, long gen)
      throws IOException {
    if (header.type() != DurableState.HEADER) {
      throw new IOException(name + " does not start with a header record (type "
          + header.type() + " at byte 0)");
    }
    RecordCodec.In in = new RecordCodec.In(header.payload());
    int version = in.i32();
    long g = in.i64();
    if (version < MetadataStore.OLDEST_READABLE_VERSION || version > MetadataStore.FORMAT_VERSION) {
      throw new IOException(name + " is format version " + version + "; this PairKit reads "
          + "versions " + MetadataStore.OLDEST_READABLE_VERSION + " to " + MetadataStore.FORMAT_VERSION
          + (version > MetadataStore.FORMAT_VERSION ? " (the directory was written by a newer PairKit)" : ""));
    }
    if (g != gen) {
      throw new IOException(name + " says it is generation " + g + ", its name says " + gen);
    }
    return version;
  }

  private static void replay(byte[] journal, long gen, boolean last, DurableState state,
      ReportBuilder report) throws IOException {
    String name = MetadataStore.journalFile(gen);
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
    int version = checkHeader(name, frames.get(0), gen);
    for (RecordCodec.Frame f : frames.subList(1, frames.size())) {
      try {
        state.apply(f.type(), f.payload(), version);
      } catch (IOException e) {
        throw new IOException(name + " at byte " + f.offset() + ": " + e.getMessage(), e);
      }
      report.replayed();
    }
  }
}
