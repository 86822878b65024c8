package io.pairkit.core.internal.metadata;

import io.pairkit.api.error.MetadataException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.List;
import java.util.function.LongConsumer;

/**
 * The metadata's files: the journal the {@link MetadataStore}'s records are appended to, written
 * and synced in group commits, and the checkpoints that replace it once it has grown (a
 * generation is a checkpoint plus the journal after it). Appending only copies bytes into a
 * buffer; {@link #awaitDurable} writes out and syncs everything appended before it started,
 * whoever waits, and each batch after the first of a file starts with a marker saying how far the
 * file was synced, so recovery can tell a torn tail from damage in the middle.
 *
 * <p>A failed write is sticky: the records are applied in memory already, so nothing may count
 * on this journal any more; every later append and wait fails until the controller reopens.
 *
 * <p>Threading: the buffer, the ticket counter, the generation and the closed flag are guarded
 * by the store's monitor ({@code monitor}), which its callers hold to append; writes, syncs and
 * checkpoints take {@code syncLock} and never hold the monitor across I/O, so callers may append
 * under their own locks without waiting for a disk. Lock order: {@code syncLock}, then the
 * monitor.
 */
final class JournalWriter {
  private static final long CHECKPOINT_AFTER_BYTES = 32L << 20;

  /** The records of a checkpoint: the whole state, taken under the store's monitor. */
  @FunctionalInterface
  interface CheckpointRecords {
    List<byte[]> take(boolean clean) throws IOException;
  }

  private final MetaStorage storage;
  private final Object monitor;
  private final Object syncLock = new Object();
  private final CheckpointRecords checkpointRecords;
  /** Called under the monitor with the last ticket made durable. */
  private final LongConsumer onDurable;

  // Guarded by monitor.
  private long generation;
  private ByteArrayOutputStream buffer = new ByteArrayOutputStream();
  private long appended;
  private long journalBytes;
  private boolean closed;

  /** A journal write that failed: every later append and wait fails too, until a reopen. */
  private volatile MetadataException failed;
  // Written under syncLock; read anywhere.
  private volatile long durable;
  /** Bytes of the current journal file written and synced (a marker records it per batch). */
  private long fileSynced;

  JournalWriter(MetaStorage storage, Object monitor, long generation,
      CheckpointRecords checkpointRecords, LongConsumer onDurable) {
    this.storage = storage;
    this.monitor = monitor;
    this.generation = generation;
    this.checkpointRecords = checkpointRecords;
    this.onDurable = onDurable;
  }

  /** The names of a generation's files. */
  static String checkpointFile(long gen) {
    return String.format("checkpoint-%016d.pkm", gen);
  }

  static String journalFile(long gen) {
    return String.format("journal-%016d.pkm", gen);
  }

  /** Writes generation {@code gen}'s checkpoint: the header, then {@code records}. */
  void writeCheckpoint(long gen, List<byte[]> records) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(header(gen));
    for (byte[] r : records) {
      out.write(r);
    }
    storage.replace(checkpointFile(gen), out.toByteArray());
  }

  private static byte[] header(long gen) throws IOException {
    return RecordCodec.frame(DurableState.HEADER,
        new RecordCodec.Out().i32(MetadataStore.FORMAT_VERSION).i64(gen).bytes());
  }

  // ---------------------------------------------------------------- appends (under the monitor)

  /** Refuses an append after close or a failed write; the caller holds the monitor. */
  void checkWritable() {
    if (closed) {
      throw new MetadataException("the metadata store is closed (its controller was closed)");
    }
    if (failed != null) {
      throw failed;
    }
  }

  /** Buffers a framed record; returns its ticket. The caller holds the monitor. */
  long add(byte[] framed) {
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

  /** The ticket of the last record appended; the caller holds the monitor. */
  long appended() {
    return appended;
  }

  /** The last ticket whose record is durable. */
  long durable() {
    return durable;
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
  void awaitDurable(long ticket) {
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

  /** Makes everything appended so far durable. */
  void sync() {
    long ticket;
    synchronized (monitor) {
      ticket = appended;
    }
    awaitDurable(ticket);
  }

  /** Writes and syncs everything appended so far; the caller holds syncLock. */
  private void writeOutLocked() {
    byte[] bytes;
    long upTo;
    long gen;
    synchronized (monitor) {
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
              new RecordCodec.Out().i64(fileSynced).bytes());
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
    synchronized (monitor) {
      onDurable.accept(upTo);
    }
  }

  /**
   * Writes a checkpoint and starts a new journal once the journal has grown past its limit;
   * call from a background thread.
   */
  void checkpointIfDue() {
    synchronized (monitor) {
      if (journalBytes < CHECKPOINT_AFTER_BYTES || closed) {
        return;
      }
    }
    checkpoint(false);
  }

  /**
   * Writes the state as the next generation's checkpoint and starts its journal: the old journal
   * complete and durable first, then the checkpoint that replaces it, then the old files go.
   *
   * @param clean whether the caller made every volume durable and the bits exact (a clean close)
   */
  void checkpoint(boolean clean) {
    synchronized (syncLock) {
      List<byte[]> records;
      byte[] oldTail;
      long old;
      long upTo;
      synchronized (monitor) {
        // One cut: records up to here are in the old journal and in the checkpoint's state.
        try {
          records = checkpointRecords.take(clean);
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

  // ---------------------------------------------------------------- closing

  /**
   * Runs {@code beforeCheckpoint} under the monitor, then writes a clean checkpoint and closes,
   * all under syncLock, so no write-out comes between.
   */
  void closeClean(Runnable beforeCheckpoint) {
    synchronized (syncLock) {
      synchronized (monitor) {
        beforeCheckpoint.run();
      }
      try {
        checkpoint(true);
      } finally {
        closeStorage(); // the LOCK is released whatever happened
      }
    }
  }

  /** Closes without a final checkpoint (the controller could not make its volumes durable). */
  void closeDirty() {
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
    synchronized (monitor) {
      closed = true;
    }
    try {
      storage.close();
    } catch (IOException e) {
      // Everything needed is synced; a failing close of the files loses nothing.
    }
  }
}
