package io.pairkit.core.internal.engine.bitmap;

import io.pairkit.api.TrackState;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import org.roaringbitmap.longlong.PeekableLongIterator;
import org.roaringbitmap.longlong.Roaring64Bitmap;

/**
 * One pair's difference bitmaps (docs/DESIGN.md section 4), and the only place they change, through the
 * named transitions ({@link Transition} names those of request instants). Per track of the scope:
 * <ul>
 *   <li><b>pending</b> — the secondary does not hold what it should. Stored in two disjoint maps
 *       by the track's frozen bit: {@code mirrorPending} (mirrored tracks: the mirror's backlog)
 *       and {@code frozenPending} (frozen tracks whose point-in-time copy is still due). Each
 *       pending bit lives in exactly one of them, so the mirror never scans frozen tracks;</li>
 *   <li><b>changed</b> — a frozen track written on either side since its freeze;</li>
 *   <li><b>frozen</b> — the track is split.</li>
 * </ul>
 * A frozen track is never both pending and changed.
 *
 * <p>Threading: every method is atomic (this object's monitor). Callers that make a decision on
 * a track's bits and then act on its data hold that track's lock (a
 * {@link io.pairkit.core.internal.engine.track.TrackLocks} of the primary) across both, so only request
 * instants, which run with host writes held off, change bits under them.
 *
 * <p>Over 500 lines: every transition of the three bitmaps (docs/DESIGN.md, the transition table)
 * is here, under one monitor, so that each is atomic and the invariants can be read in one
 * place; the journal of their durable side is {@link BitmapJournal}.
 */
public final class TrackBitmaps {
  private final Roaring64Bitmap scope;
  private final boolean wholeVolume;
  private final Roaring64Bitmap mirrorPending = new Roaring64Bitmap();
  private final Roaring64Bitmap frozenPending = new Roaring64Bitmap();
  private final Roaring64Bitmap changed = new Roaring64Bitmap();
  private final Roaring64Bitmap frozen = new Roaring64Bitmap();
  /**
   * Mirrored pending tracks that host writes changed only in part since their last copy: the
   * written sub-blocks (bit i: the i-th 1/64 of the track, at least 512 bytes), so the mirror
   * copies those, not the whole track. A pending track without an entry is pending whole.
   */
  private final HashMap<Long, Long> partial = new HashMap<>();
  private final int subBlock;
  private final int subBlocks;
  /** Durable pairs: tracks copied since the last settle began (maybe not durable yet). */
  private final Roaring64Bitmap unflushed = new Roaring64Bitmap();
  /** Durable pairs: tracks copied before the running settle began (durable once it ends). */
  private final Roaring64Bitmap settling = new Roaring64Bitmap();
  private final BitmapJournal journal;

  /**
   * Bitmaps with nothing pending.
   *
   * @param scope       the pair's tracks (kept; not modified)
   * @param wholeVolume whether the scope is every track of the volume (skips scope lookups)
   */
  public TrackBitmaps(Roaring64Bitmap scope, boolean wholeVolume, BitmapJournal journal) {
    this(scope, wholeVolume, journal, 0);
  }

  /**
   * Bitmaps with nothing pending, recording the part of {@code trackSize}-byte tracks that host
   * writes change (0: whole tracks only).
   */
  public TrackBitmaps(Roaring64Bitmap scope, boolean wholeVolume, BitmapJournal journal,
      int trackSize) {
    this.scope = scope;
    this.wholeVolume = wholeVolume;
    this.journal = journal;
    this.subBlock = trackSize == 0 ? 0 : Math.max(512, trackSize / 64);
    this.subBlocks = trackSize == 0 ? 0 : trackSize / subBlock;
  }

  /**
   * Bitmaps as durable metadata recorded them: {@code pending} (mirrored or frozen),
   * {@code changed} and {@code frozen}. A frozen track recorded both pending and changed counts as
   * changed (its point-in-time copy was made before it changed).
   */
  public TrackBitmaps(Roaring64Bitmap scope, boolean wholeVolume, BitmapJournal journal,
      int trackSize, Roaring64Bitmap pending, Roaring64Bitmap changed, Roaring64Bitmap frozen) {
    this(scope, wholeVolume, journal, trackSize);
    this.frozen.or(Roaring64Bitmap.and(frozen, scope));
    this.changed.or(Roaring64Bitmap.and(changed, this.frozen));
    Roaring64Bitmap p = Roaring64Bitmap.and(pending, scope);
    this.mirrorPending.or(Roaring64Bitmap.andNot(p, this.frozen));
    Roaring64Bitmap fp = Roaring64Bitmap.and(p, this.frozen);
    fp.andNot(this.changed);
    this.frozenPending.or(fp);
  }

  /** Result of {@link #markPrimaryWritten}. */
  public enum WriteMark {
    /** Outside the scope: the pair does not care. */
    OUT_OF_SCOPE,
    /** Mirrored and newly pending: the mirror has new work. */
    MIRROR_PENDING,
    /** Mirrored and already pending: the mirror knows. */
    ALREADY_PENDING,
    /** Frozen, already copied: now changed. */
    CHANGED,
    /** Frozen and not yet copied: nothing marked; copy it first, then {@link #copiedThenWritten}. */
    COPY_FIRST,
    /** Mirrored, and the write goes to the secondary too (synchronous mirror): no bit. */
    MIRROR_SYNC
  }

  // ------------------------------------------------------------------ transitions

  /** create: every track of the scope is pending (nothing is frozen yet). */
  public synchronized void pendScope() {
    mirrorPending.or(Roaring64Bitmap.andNot(scope, frozen));
    partial.clear();
  }

  /** create without a copy: nothing is pending (the caller asserts both sides are equal). */
  public synchronized void unpendScope() {
    mirrorPending.andNot(scope);
    partial.clear();
  }

  /**
   * The write rule's bookkeeping for a host write to the primary's track {@code t} (caller holds
   * its lock): marks it, or says it must be copied first. Adds the journal's ticket to
   * {@code tickets}.
   */
  public synchronized WriteMark markPrimaryWritten(long t, Tickets tickets) {
    return markPrimaryWritten(t, tickets, false, 0, -1);
  }

  /**
   * As {@link #markPrimaryWritten(long, Tickets)}, for a write of bytes {@code [from, to)} of
   * track {@code t} (offsets within the track; {@code to < 0}: all of it). With
   * {@code synchronous}, a mirrored track is not marked pending ({@link WriteMark#MIRROR_SYNC}):
   * the caller writes the secondary too. Otherwise a newly pending mirrored track records the
   * part written, and a pending one adds it, so the mirror copies only those parts.
   */
  public synchronized WriteMark markPrimaryWritten(long t, Tickets tickets,
      boolean synchronous, int from, int to) {
    if (!wholeVolume && !scope.contains(t)) {
      return WriteMark.OUT_OF_SCOPE;
    }
    if (frozen.contains(t)) {
      if (frozenPending.contains(t)) {
        return WriteMark.COPY_FIRST;
      }
      changed.addLong(t);
      tickets.add(journal.frozenWritten(t));
      return WriteMark.CHANGED;
    }
    tickets.add(journal.mirroredWritten(t)); // the region's intent: durable before the data
    if (synchronous) {
      return WriteMark.MIRROR_SYNC; // a pending bit (a backlog) stays: the mirror copies it too
    }
    long mask = mask(from, to);
    if (mirrorPending.contains(t)) { // a hot track stays set: no wake-up per write
      Long had = partial.get(t);
      if (had != null) {
        long now = had | mask;
        if (now == full()) {
          partial.remove(t);
        } else {
          partial.put(t, now);
        }
      }
      return WriteMark.ALREADY_PENDING;
    }
    mirrorPending.addLong(t);
    if (mask != full()) {
      partial.put(t, mask);
    }
    return WriteMark.MIRROR_PENDING;
  }

  /** The sub-blocks of bytes {@code [from, to)} of a track; all of them for {@code to < 0}. */
  private long mask(int from, int to) {
    if (subBlocks == 0 || to < 0) {
      return full();
    }
    int a = from / subBlock;
    int b = (to + subBlock - 1) / subBlock; // exclusive
    return b - a >= 64 ? -1L : ((1L << (b - a)) - 1) << a;
  }

  private long full() {
    return subBlocks == 0 || subBlocks >= 64 ? -1L : (1L << subBlocks) - 1;
  }

  /**
   * The byte ranges, relative to each track's start, that tracks {@code [first, end)} need
   * copied by the mirror: {@code out[i]} is null for a whole track, else pairs of
   * {@code [from, to)} offsets. Call under the tracks' locks.
   */
  public synchronized int[][] mirrorParts(long first, long end) {
    if (partial.isEmpty()) {
      return null;
    }
    int[][] out = null;
    for (long t = first; t < end; t++) {
      Long m = partial.get(t);
      if (m == null) {
        continue;
      }
      if (out == null) {
        out = new int[(int) (end - first)][];
      }
      out[(int) (t - first)] = ranges(m);
    }
    return out;
  }

  private int[] ranges(long mask) {
    int[] r = new int[2 * 32 + 2];
    int n = 0;
    int i = 0;
    while (i < subBlocks && i < 64) {
      if ((mask & (1L << i)) == 0) {
        i++;
        continue;
      }
      int j = i;
      while (j < subBlocks && j < 64 && (mask & (1L << j)) != 0) {
        j++;
      }
      if (n + 2 > r.length) {
        r = java.util.Arrays.copyOf(r, r.length * 2);
      }
      r[n++] = i * subBlock;
      r[n++] = j * subBlock;
      i = j;
    }
    return java.util.Arrays.copyOf(r, n);
  }

  /**
   * A frozen track holds its point-in-time copy on the secondary (copy-on-write, a secondary
   * write's base, or a secondary write over the whole track) and is written: not pending,
   * changed. Adds the journal's ticket to {@code tickets}.
   */
  public synchronized void copiedThenWritten(long t, Tickets tickets) {
    frozenPending.removeLong(t);
    changed.addLong(t);
    tickets.add(journal.frozenWritten(t));
  }

  /**
   * A copy put tracks {@code [first, end)} on the secondary: their pending bits clear. With
   * durable metadata the tracks count as not yet durable on the secondary until a settle (both
   * volumes flushed) covers them.
   */
  public synchronized void copied(long first, long end) {
    Bits.removeRange(mirrorPending, first, end);
    Bits.removeRange(frozenPending, first, end);
    dropParts(first, end);
    if (journal.durable()) {
      Bits.addRange(unflushed, first, end);
    }
  }

  /** Tracks {@code [first, end)} are pending whole from now on (or not pending). */
  private void dropParts(long first, long end) {
    if (partial.isEmpty()) {
      return;
    }
    if (end - first > partial.size()) {
      partial.keySet().removeIf(t -> t >= first && t < end);
    } else {
      for (long t = first; t < end; t++) {
        partial.remove(t);
      }
    }
  }

  // ------------------------------------------------------------------ settling (durable pairs)

  /**
   * Starts a settle: the copies made so far are the ones a flush of both volumes, started after
   * this, makes durable. Returns whether there are any.
   */
  public synchronized boolean beginSettle() {
    settling.or(unflushed);
    unflushed.clear();
    return !settling.isEmpty();
  }

  /** Both volumes were flushed after {@link #beginSettle}: those copies are durable. */
  public synchronized void settled() {
    settling.clear();
  }

  /** The flush failed: the copies stay not durable. */
  public synchronized void settleFailed() {
    unflushed.or(settling);
    settling.clear();
  }

  /**
   * What the metadata's pending bits must keep: the tracks pending here and those whose copy is
   * not durable yet. Call under this monitor (with the store's record of it).
   */
  public synchronized Roaring64Bitmap mayNeedCopy() {
    Roaring64Bitmap out = Roaring64Bitmap.or(mirrorPending, frozenPending);
    out.or(unflushed);
    out.or(settling);
    return out;
  }

  /** {@link #mayNeedCopy()} within {@code tracks}: a request's pending bits at its instant. */
  public synchronized Roaring64Bitmap mayNeedCopyIn(Roaring64Bitmap tracks) {
    Roaring64Bitmap out = mayNeedCopy();
    out.and(tracks);
    return out;
  }

  /**
   * Whether tracks {@code [first, end)} are recorded exactly by their bits here: no mirrored one
   * is pending and every copy there is durable (a region may then be cleaned).
   */
  public synchronized boolean settledIn(long first, long end) {
    return count(mirrorPending, first, end) == 0 && count(unflushed, first, end) == 0
        && count(settling, first, end) == 0;
  }

  /** The changed tracks in {@code [first, end)} (a copy). */
  public synchronized Roaring64Bitmap changedIn(long first, long end) {
    Roaring64Bitmap range = Bits.range(first, end);
    range.and(changed);
    return range;
  }

  /** The changed tracks among {@code tracks} (a copy). */
  public synchronized Roaring64Bitmap changedAmong(Roaring64Bitmap tracks) {
    return Roaring64Bitmap.and(changed, tracks);
  }

  /** Every frozen track (a copy). */
  public synchronized Roaring64Bitmap frozenSnapshot() {
    return frozen.clone();
  }

  /** Every changed track (a copy). */
  public synchronized Roaring64Bitmap changedSnapshot() {
    return changed.clone();
  }

  /**
   * A synchronous secondary write of the mirrored tracks of {@code [first, end)} failed, or the
   * primary's write did and the secondary's may have landed: they are pending, so the mirror
   * copies them. Returns whether any became pending.
   */
  public synchronized boolean markMirrorPending(long first, long end) {
    boolean any = false;
    for (long t = first; t < end; t++) {
      if (inScope(t) && !frozen.contains(t) && !mirrorPending.contains(t)) {
        mirrorPending.addLong(t);
        any = true;
      }
    }
    dropParts(first, end); // whatever the secondary holds there, all of the track is copied
    return any;
  }

  /** split: {@code tracks} (within the scope) freeze at this instant. */
  public synchronized void freeze(Roaring64Bitmap tracks) {
    Roaring64Bitmap t = Roaring64Bitmap.and(tracks, scope);
    Roaring64Bitmap moving = Roaring64Bitmap.and(mirrorPending, t);
    mirrorPending.andNot(t);
    frozenPending.or(moving);
    frozen.or(t);
    if (!partial.isEmpty()) {
      partial.keySet().removeIf(t::contains); // a split track's point-in-time copy is whole
    }
  }

  /**
   * extent update: changed tracks of the region become pending (copied again), the rest of the
   * region keeps its point in time.
   */
  public synchronized void update(Roaring64Bitmap tracks) {
    Roaring64Bitmap t = Roaring64Bitmap.and(tracks, frozen);
    frozenPending.or(Roaring64Bitmap.and(changed, t));
    changed.andNot(t);
  }

  /** join / resync: the region is mirrored again and its changed tracks pending. */
  public synchronized void join(Roaring64Bitmap tracks) {
    Roaring64Bitmap t = Roaring64Bitmap.and(tracks, frozen);
    Roaring64Bitmap back = Roaring64Bitmap.and(frozenPending, t);
    back.or(Roaring64Bitmap.and(changed, t));
    frozenPending.andNot(t);
    changed.andNot(t);
    frozen.andNot(t);
    mirrorPending.or(back);
  }

  /**
   * restore: frozen tracks {@code tracks} now hold the same data on both sides (the secondary's,
   * copied back): no longer changed.
   */
  public synchronized void restored(Roaring64Bitmap tracks) {
    changed.andNot(tracks);
  }

  // ------------------------------------------------------------------ queries

  /** Where these bits are made durable. */
  public BitmapJournal journal() {
    return journal;
  }

  public boolean inScope(long t) {
    return wholeVolume || scope.contains(t);
  }

  /** The scope's tracks (do not modify). */
  public Roaring64Bitmap scope() {
    return scope;
  }

  public synchronized boolean isPending(long t) {
    return mirrorPending.contains(t) || frozenPending.contains(t);
  }

  /** Frozen and holding its point-in-time copy on the secondary (not pending). */
  public synchronized boolean isFrozenCopied(long t) {
    return frozen.contains(t) && !frozenPending.contains(t);
  }

  /** Frozen tracks still waiting for their point-in-time copy, except those of {@code covered}. */
  public synchronized Roaring64Bitmap frozenPendingOutside(Roaring64Bitmap covered) {
    return Roaring64Bitmap.andNot(frozenPending, covered);
  }

  /** Frozen and not yet copied: reads of the secondary go to the primary. */
  public synchronized boolean isFrozenPending(long t) {
    return frozenPending.contains(t);
  }

  /** In the scope and not frozen: the secondary must not be written there. */
  public synchronized boolean isMirrored(long t) {
    return inScope(t) && !frozen.contains(t);
  }

  /** Whether every track of {@code [first, end)} is in the scope and not frozen. */
  public synchronized boolean allMirrored(long first, long end) {
    if (frozen.isEmpty() && wholeVolume) {
      return true;
    }
    for (long t = first; t < end; t++) {
      if (!inScope(t) || frozen.contains(t)) {
        return false;
      }
    }
    return true;
  }

  /** Every pending track (mirrored or frozen), a copy. */
  public synchronized Roaring64Bitmap pendingSnapshot() {
    return Roaring64Bitmap.or(mirrorPending, frozenPending);
  }

  /** The tracks of {@code region} that are pending now. */
  public synchronized Roaring64Bitmap pendingIn(Roaring64Bitmap region) {
    Roaring64Bitmap out = Roaring64Bitmap.and(mirrorPending, region);
    out.or(Roaring64Bitmap.and(frozenPending, region));
    return out;
  }

  /**
   * The still-pending runs of tracks {@code [first, end)}, as {@code [start, end)} pairs; only
   * mirrored ones if {@code mirrorOnly}.
   */
  public synchronized long[] pendingRuns(long first, long end, boolean mirrorOnly) {
    long want = end - first;
    long m = count(mirrorPending, first, end);
    long f = mirrorOnly ? 0 : count(frozenPending, first, end);
    if (m == want || f == want) {
      return new long[] {first, end}; // the common case of a whole run: no per-track lookups
    }
    if (m == 0 && f == 0) {
      return new long[0];
    }
    long[] out = new long[8];
    int n = 0;
    long runStart = -1;
    for (long t = first; t < end; t++) {
      boolean p = mirrorPending.contains(t) || (!mirrorOnly && frozenPending.contains(t));
      if (p && runStart < 0) {
        runStart = t;
      } else if (!p && runStart >= 0) {
        out = put(out, n, runStart, t);
        n += 2;
        runStart = -1;
      }
    }
    if (runStart >= 0) {
      out = put(out, n, runStart, end);
      n += 2;
    }
    return java.util.Arrays.copyOf(out, n);
  }

  /** Bits of {@code bitmap} in {@code [a, b)}, by rank: no per-bit work. */
  public static long count(Roaring64Bitmap bitmap, long a, long b) {
    if (bitmap.isEmpty()) {
      return 0;
    }
    return bitmap.rankLong(b - 1) - (a == 0 ? 0 : bitmap.rankLong(a - 1));
  }

  private static long[] put(long[] out, int n, long a, long b) {
    if (n + 2 > out.length) {
      out = java.util.Arrays.copyOf(out, out.length * 2);
    }
    out[n] = a;
    out[n + 1] = b;
    return out;
  }

  /**
   * The first run of mirrored pending tracks at or after {@code from}, at most {@code maxTracks}
   * long and skipping {@code exclude}, as {@code {start, end}}; null if there is none.
   */
  public synchronized long[] nextMirrorRun(long from, int maxTracks, Roaring64Bitmap exclude) {
    PeekableLongIterator it = mirrorPending.getLongIteratorFrom(from);
    while (it.hasNext()) {
      long start = it.next();
      if (exclude.contains(start)) {
        continue;
      }
      long end = start + 1;
      while (end - start < maxTracks && it.hasNext() && it.peekNext() == end
          && !exclude.contains(end)) {
        it.next();
        end++;
      }
      return new long[] {start, end};
    }
    return null;
  }

  /** Whether no mirrored track is pending (cheaper than counting them). */
  public synchronized boolean noMirrorBacklog() {
    return mirrorPending.isEmpty();
  }

  public synchronized long mirrorBacklog() {
    return mirrorPending.getLongCardinality();
  }

  public synchronized long pendingCount() {
    return mirrorPending.getLongCardinality() + frozenPending.getLongCardinality();
  }

  public synchronized long frozenPendingCount() {
    return frozenPending.getLongCardinality();
  }

  public synchronized long changedCount() {
    return changed.getLongCardinality();
  }

  public synchronized long frozenCount() {
    return frozen.getLongCardinality();
  }

  public synchronized boolean nothingFrozen() {
    return frozen.isEmpty();
  }

  public synchronized boolean anyFrozen(Roaring64Bitmap tracks) {
    return Roaring64Bitmap.intersects(frozen, tracks);
  }

  /** Tracks of {@code tracks} that are not frozen. */
  public synchronized Roaring64Bitmap notFrozen(Roaring64Bitmap tracks) {
    return Roaring64Bitmap.andNot(tracks, frozen);
  }

  /** Runs of frozen tracks, ascending, as {@code {start, end}} pairs. */
  public synchronized List<long[]> frozenRuns() {
    List<long[]> runs = new ArrayList<>();
    PeekableLongIterator it = frozen.getLongIterator();
    while (it.hasNext()) {
      long start = it.next();
      long end = start + 1;
      while (it.hasNext() && it.peekNext() == end) {
        it.next();
        end++;
      }
      runs.add(new long[] {start, end});
    }
    return runs;
  }

  /** Each track's {@link TrackState} ordinal for tracks {@code [first, end)}, atomically. */
  public synchronized byte[] states(long first, long end) {
    byte[] out = new byte[(int) (end - first)];
    for (long t = first; t < end; t++) {
      TrackState s;
      if (!inScope(t)) {
        s = TrackState.OUT_OF_SCOPE;
      } else if (frozen.contains(t)) {
        s = frozenPending.contains(t) ? TrackState.SPLIT_PENDING
            : changed.contains(t) ? TrackState.SPLIT_CHANGED : TrackState.SPLIT;
      } else {
        s = mirrorPending.contains(t) ? TrackState.PENDING : TrackState.IN_SYNC;
      }
      out[(int) (t - first)] = (byte) s.ordinal();
    }
    return out;
  }
}
