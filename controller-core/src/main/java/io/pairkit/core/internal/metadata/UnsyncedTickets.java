package io.pairkit.core.internal.metadata;

import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import org.roaringbitmap.longlong.Roaring64Bitmap;

/**
 * Which record a track's durable state waits for, until the journal has synced it: the ticket of
 * the exact mark of a changed track, of a write-intent region's dirty mark, and of the records
 * that dropped frozen tracks' pending bits (docs/RELIABILITY.md, ordering rules 2 and 5). A host
 * write asks here whether a record it depends on is on disk yet, and waits for that ticket if
 * not; once the journal reports a ticket durable, everything up to it is forgotten.
 *
 * <p>Threading: not thread-safe; the {@link MetadataStore}'s monitor guards it, as it guards the
 * records these tickets belong to. {@code durable} is the journal's durable ticket, read by the
 * caller: an entry at or below it is as good as gone.
 */
final class UnsyncedTickets {
  /** Per pair, the ticket of the last exact mark of each track whose record is not synced yet. */
  private final Map<String, Map<Long, Long>> marks = new TreeMap<>();
  /** Per pair, by first track, the ticket of each region's dirty mark not synced yet. */
  private final Map<String, Map<Long, Long>> regions = new TreeMap<>();
  /**
   * Per pair, frozen tracks whose pending bit a record not synced yet dropped (a clear, a
   * request's instant), with the newest such record's ticket: until it is durable a crash brings
   * the bit back, and a copy from the primary would then overwrite the point-in-time image, so a
   * write there waits for that record.
   */
  private final Map<String, Dropped> drops = new TreeMap<>();

  /** Pending bits dropped by records up to {@code ticket}. */
  private static final class Dropped {
    final Roaring64Bitmap tracks = new Roaring64Bitmap();
    long ticket;
  }

  /** The ticket of the unsynced record that marked the region at {@code first}, or 0. */
  long region(String pair, long first, long durable) {
    Map<Long, Long> m = regions.get(pair);
    Long ticket = m == null ? null : m.get(first);
    return ticket == null || ticket <= durable ? 0 : ticket;
  }

  void rememberRegion(String pair, long first, long ticket) {
    regions.computeIfAbsent(pair, k -> new HashMap<>()).put(first, ticket);
  }

  /** Forgets the dirty marks of the regions starting at {@code tracks}: they are clean again. */
  void forgetRegions(String pair, Roaring64Bitmap tracks) {
    Map<Long, Long> m = regions.get(pair);
    if (m != null) {
      m.keySet().removeIf(tracks::contains);
    }
  }

  /** The ticket of the unsynced record that last marked {@code t}, or 0 if it is synced. */
  long mark(String pair, long t, long durable) {
    Map<Long, Long> m = marks.get(pair);
    Long ticket = m == null ? null : m.get(t);
    return ticket == null || ticket <= durable ? 0 : ticket;
  }

  long rememberMark(String pair, long t, long ticket) {
    marks.computeIfAbsent(pair, k -> new HashMap<>()).put(t, ticket);
    return ticket;
  }

  /** The ticket of the unsynced record that dropped {@code t}'s pending bit, or 0. */
  long drop(String pair, long t, long durable) {
    Dropped d = drops.get(pair);
    if (d == null || d.ticket <= durable) {
      return 0;
    }
    return d.tracks.contains(t) ? d.ticket : 0;
  }

  /**
   * Records that the record of {@code ticket} dropped pending bits {@code before - now}
   * ({@code before} is changed).
   */
  void rememberDrops(String pair, Roaring64Bitmap before, Roaring64Bitmap now, long ticket,
      long durable) {
    before.andNot(now);
    if (before.isEmpty()) {
      return;
    }
    Dropped d = drops.get(pair);
    if (d == null || d.ticket <= durable) {
      d = new Dropped();
      drops.put(pair, d);
    }
    d.tracks.or(before);
    d.ticket = ticket;
  }

  /** Forgets everything of a deleted pair. */
  void forget(String pair) {
    marks.remove(pair);
    regions.remove(pair);
    drops.remove(pair);
  }

  /** Forgets every ticket up to {@code upTo}: those records are durable now. */
  void durableUpTo(long upTo) {
    for (Map<Long, Long> m : marks.values()) {
      m.values().removeIf(ticket -> ticket <= upTo);
    }
    for (Map<Long, Long> m : regions.values()) {
      m.values().removeIf(ticket -> ticket <= upTo);
    }
    drops.values().removeIf(d -> d.ticket <= upTo);
  }
}
