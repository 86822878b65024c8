package io.pairkit.backend.raid;

import io.pairkit.api.spi.Checksums;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;

/**
 * md's partial parity log (PPL) for RAID-5: before a partial-row write, the XOR of the row's data
 * that the write does <em>not</em> modify (the partial parity, over the byte range the write's
 * parity update covers) is logged durably on the row's parity member. After a crash, parity
 * recomputed as {@code partial parity XOR the modified chunks as they are now} matches the data on
 * the members, whatever subset of the write reached them. So if a member holding data the write
 * did not touch is also lost, that data is still reconstructed correctly: the write hole is
 * closed. As in md, data the interrupted write itself modified on the lost member is not
 * protected (it was never acknowledged).
 *
 * <p>Commit rules (the recovery depends on them):
 * <ol>
 *   <li>An entry is durable before its write's data and parity are issued.
 *   <li>Entries carry a sequence number and the sequence up to which every logged write was
 *       durable when the entry was made (the watermark). Recovery ignores entries at or below the
 *       highest watermark it finds, and replays the others row by row in sequence order. Every
 *       assembly then zeroes the log, and sequences continue above the highest one seen, so a
 *       later session never meets an entry of an earlier one.
 *   <li>A slot is reused only after its write is durable (a member flush since it completed).
 *   <li>Partial parity must come from durable data: the caller flushes first if a chunk it reads
 *       for the partial parity has an unflushed write ({@link RaidVolume} tracks them).
 *   <li>A write with no partial parity (a whole row) first invalidates the row's live entries,
 *       which would otherwise replay stale partial parity.
 *   <li>A partial write that changes bytes the partial parity of a replayable entry of its row
 *       holds first flushes, so its own entry carries a watermark above that one.
 * </ol>
 * Slot format: a 4 KiB header (magic {@code "PKPPL001"}, array id, sequence, watermark, row,
 * range {@code [lo, hi)} within the stripe unit, per data unit its modified range, partial parity
 * length, CRC-32C of header and partial parity), then the partial parity.
 *
 * <p>Threading: thread-safe; bookkeeping under this object's monitor, I/O outside it.
 */
final class PartialParityLog {
  static final long MAGIC = 0x504b50504c303031L; // "PKPPL001"

  /** A logged write; hand it back to {@link #complete}. */
  record Ticket(long seq, int member, int slot, long row) {
  }

  /** An entry read back at assembly. */
  record Entry(long seq, long watermark, long row, int lo, int hi, int[] from, int[] to,
      byte[] partialParity) {
  }

  private record Pending(int member, int slot, long epoch) {
  }

  /** What a logged write changed, kept until a flush makes it durable. */
  private record Logged(long seq, int lo, int hi, int[] from, int[] to) {
  }

  private final RaidGeometry geometry;
  private final UUID arrayId;
  private final MetadataWriter writer;
  private final List<ArrayDeque<Integer>> free = new ArrayList<>();
  private final List<Pending> waitingForFlush = new ArrayList<>();
  private final TreeSet<Long> inFlight = new TreeSet<>();
  /** Slots (member * slots + slot) holding an entry, per row. */
  private final Map<Long, Set<Integer>> liveByRow = new HashMap<>();
  private final Map<Integer, Long> rowOfSlot = new HashMap<>();
  /** Entries above the watermark, per row: recovery may replay them. */
  private final Map<Long, List<Logged>> notDurable = new HashMap<>();
  private long nextSeq;
  private long watermark;

  PartialParityLog(RaidGeometry geometry, UUID arrayId, MetadataWriter writer, long firstSeq) {
    this.geometry = geometry;
    this.arrayId = arrayId;
    this.writer = writer;
    this.nextSeq = firstSeq;
    this.watermark = firstSeq - 1;
    for (int m = 0; m < geometry.members; m++) {
      ArrayDeque<Integer> slots = new ArrayDeque<>();
      for (int s = 0; s < geometry.pplSlots; s++) {
        slots.add(s);
      }
      free.add(slots);
    }
  }

  /**
   * Logs partial parity {@code pp} (bytes {@code [lo, hi)} of the row's units) for a write to
   * {@code row} that modifies bytes {@code [from[k], to[k])} of data unit {@code k}. Durable on
   * return.
   */
  Ticket log(long row, int lo, int hi, int[] from, int[] to, byte[] pp) throws IOException {
    int member = geometry.parityMember(row);
    int slot;
    long seq;
    long mark;
    while (true) {
      synchronized (this) {
        Integer s = free.get(member).poll();
        if (s != null) {
          slot = s;
          seq = nextSeq++;
          mark = watermark;
          inFlight.add(seq);
          notDurable.computeIfAbsent(row, r -> new ArrayList<>())
              .add(new Logged(seq, lo, hi, from.clone(), to.clone()));
          forgetSlot(member * geometry.pplSlots + slot);
          liveByRow.computeIfAbsent(row, r -> new HashSet<>()).add(member * geometry.pplSlots
              + slot);
          rowOfSlot.put(member * geometry.pplSlots + slot, row);
          break;
        }
      }
      // Every slot of this member waits for its write to become durable: flush to free them.
      writer.flushMembers();
    }
    byte[] image = new byte[RaidGeometry.PPL_HEADER_SIZE + (hi - lo)];
    ByteBuffer b = ByteBuffer.wrap(image);
    b.putLong(MAGIC).putLong(arrayId.getMostSignificantBits())
        .putLong(arrayId.getLeastSignificantBits()).putLong(seq).putLong(mark).putLong(row)
        .putInt(lo).putInt(hi).putInt(from.length);
    for (int k = 0; k < from.length; k++) {
      b.putInt(from[k]).putInt(to[k]);
    }
    b.putInt(hi - lo);
    int crcAt = b.position();
    System.arraycopy(pp, 0, image, RaidGeometry.PPL_HEADER_SIZE, hi - lo);
    Checksums.seal(b, crcAt, RaidGeometry.PPL_HEADER_SIZE, hi - lo);
    Ticket ticket = new Ticket(seq, member, slot, row);
    try {
      writer.writeToMember(member, geometry.pplSlotOffset(slot), image);
    } catch (IOException | RuntimeException e) {
      complete(ticket, 0); // freed by the next flush; replaying it is harmless
      throw e;
    }
    return ticket;
  }

  /** Sequences of this session continue above {@code seq} (the highest found on the members). */
  synchronized void continueAfter(long seq) {
    if (seq >= nextSeq) {
      nextSeq = seq + 1;
      watermark = seq;
    }
  }

  /** The logged write finished (its member writes completed during {@code epoch}). */
  synchronized void complete(Ticket ticket, long epoch) {
    inFlight.remove(ticket.seq);
    waitingForFlush.add(new Pending(ticket.member, ticket.slot, epoch));
  }

  /** Sequence up to which every logged write has completed; read it when a flush starts. */
  synchronized long completedSeq() {
    return inFlight.isEmpty() ? nextSeq - 1 : inFlight.first() - 1;
  }

  /** A member flush that started at {@code epoch} (when {@code seq} was completed) finished. */
  synchronized void durable(long epoch, long seq) {
    watermark = Math.max(watermark, seq);
    notDurable.values().removeIf(list -> {
      list.removeIf(l -> l.seq <= watermark);
      return list.isEmpty();
    });
    waitingForFlush.removeIf(p -> {
      if (p.epoch <= epoch) {
        free.get(p.member).add(p.slot);
        return true;
      }
      return false;
    });
  }

  /**
   * Whether a write modifying bytes {@code [from[k], to[k])} of each data unit {@code k} of
   * {@code row} would make an entry of the row that recovery may still replay wrong: it changes
   * bytes that entry's partial parity holds (inside its band, not modified by it). The caller
   * then flushes first, which lifts the watermark above that entry (commit rule 6).
   */
  synchronized boolean wouldStale(long row, int[] from, int[] to) {
    List<Logged> list = notDurable.get(row);
    if (list == null) {
      return false;
    }
    for (Logged e : list) {
      if (e.seq <= watermark) {
        continue;
      }
      for (int k = 0; k < from.length; k++) {
        int a = Math.max(from[k], e.lo);
        int b = Math.min(to[k], e.hi);
        if (a >= b) {
          continue;
        }
        // [a, b) is inside e's band; stale unless e modified all of it on unit k itself.
        if (a < e.from[k] || b > e.to[k]) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * Invalidates the entries of {@code row} (zeroes their headers, durably), before a write that
   * logs no partial parity changes the row.
   */
  void invalidate(long row) throws IOException {
    // Under the monitor: a slot being zeroed must not be handed to a new entry meanwhile
    // (the zero header would erase that entry). Rare: only whole-row writes of logged rows.
    synchronized (this) {
      Set<Integer> slots = liveByRow.remove(row);
      if (slots == null) {
        return;
      }
      byte[] zero = new byte[RaidGeometry.PPL_HEADER_SIZE];
      for (int id : slots) {
        rowOfSlot.remove(id);
        int member = id / geometry.pplSlots;
        writer.writeToMember(member, geometry.pplSlotOffset(id % geometry.pplSlots), zero);
      }
    }
  }

  private void forgetSlot(int id) {
    Long row = rowOfSlot.remove(id);
    if (row != null) {
      Set<Integer> slots = liveByRow.get(row);
      if (slots != null) {
        slots.remove(id);
        if (slots.isEmpty()) {
          liveByRow.remove(row);
        }
      }
    }
  }

  /** Decodes one slot; null if it holds no valid entry of {@code arrayId}. */
  static Entry decode(byte[] slot, UUID arrayId, int dataMembers, int unit) {
    ByteBuffer b = ByteBuffer.wrap(slot);
    if (b.getLong() != MAGIC || b.getLong() != arrayId.getMostSignificantBits()
        || b.getLong() != arrayId.getLeastSignificantBits()) {
      return null;
    }
    long seq = b.getLong();
    long mark = b.getLong();
    long row = b.getLong();
    int lo = b.getInt();
    int hi = b.getInt();
    int units = b.getInt();
    if (units != dataMembers || lo < 0 || hi > unit || lo >= hi) {
      return null;
    }
    int[] from = new int[units];
    int[] to = new int[units];
    for (int k = 0; k < units; k++) {
      from[k] = b.getInt();
      to[k] = b.getInt();
    }
    int ppLen = b.getInt();
    if (ppLen != hi - lo || RaidGeometry.PPL_HEADER_SIZE + ppLen > slot.length) {
      return null;
    }
    int crcAt = b.position();
    if (!Checksums.isIntact(b, crcAt, RaidGeometry.PPL_HEADER_SIZE, ppLen)) {
      return null; // torn: its write never started
    }
    byte[] pp = new byte[ppLen];
    System.arraycopy(slot, RaidGeometry.PPL_HEADER_SIZE, pp, 0, ppLen);
    return new Entry(seq, mark, row, lo, hi, from, to, pp);
  }

  /**
   * The entries recovery must replay: those above every watermark, per row in sequence order
   * (each repairs the band it logged; a later one of the same row repairs its band again, from
   * partial parity that the flush rule kept durable).
   */
  static Map<Long, List<Entry>> toReplay(List<Entry> entries) {
    long mark = entries.stream().mapToLong(Entry::watermark).max().orElse(0);
    Map<Long, List<Entry>> byRow = new HashMap<>();
    for (Entry e : entries) {
      if (e.seq > mark) {
        byRow.computeIfAbsent(e.row, r -> new ArrayList<>()).add(e);
      }
    }
    for (List<Entry> list : byRow.values()) {
      list.sort(java.util.Comparator.comparingLong(Entry::seq));
    }
    return byRow;
  }

  /** Highest sequence among {@code entries}, or 0. */
  static long highestSeq(List<Entry> entries) {
    return entries.stream().mapToLong(Entry::seq).max().orElse(0);
  }
}
