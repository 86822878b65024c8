package io.pairkit.core.internal.metadata;

import io.pairkit.api.ExtentSet;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.roaringbitmap.longlong.Roaring64Bitmap;

/**
 * What the metadata says, as replaying its records gives it: the pair table and, per pair, the
 * durable difference bits (docs/RELIABILITY.md has the rules that make them safe). Per pair:
 * <ul>
 *   <li>{@code frozen}: exactly the split tracks of every request that returned;</li>
 *   <li>{@code pending}: tracks recorded one by one as possibly not yet on the secondary (the
 *       scope at create, what a request left to copy at its instant, copies not yet durable), a
 *       superset of what the engine had pending when the record was written. For a frozen track
 *       it means its point-in-time copy may be due, and then the primary still holds that data;</li>
 *   <li>{@code changed}: frozen tracks recorded one by one as written since their freeze;</li>
 *   <li>{@code dirty}: the tracks of write-intent regions (format version 2): a host write may
 *       have landed there since the region's bits were last recorded exactly. Recovery counts
 *       every mirrored track of a dirty region pending and every frozen one that is not pending
 *       changed ({@link #effective}).</li>
 * </ul>
 * The same {@link #apply} serves recovery and the running store, so a checkpoint is by
 * construction what replaying the journal would give.
 *
 * <p>Threading: not thread-safe; the store guards it.
 */
final class DurableState {
  /** One pair's durable state. */
  static final class DurablePair {
    PairInfo info;
    final Roaring64Bitmap scope;
    final Roaring64Bitmap pending = new Roaring64Bitmap();
    final Roaring64Bitmap changed = new Roaring64Bitmap();
    final Roaring64Bitmap frozen = new Roaring64Bitmap();
    final Roaring64Bitmap dirty = new Roaring64Bitmap();
    /**
     * Version 4: the bytes split requests named (within the scope), less those joined; null when
     * read from an older checkpoint (then the frozen tracks stand for them).
     */
    ExtentSet splitBytes = ExtentSet.empty();
    /** Version 4: frozen tracks a restore has still to copy back to the primary. */
    final Roaring64Bitmap restoring = new Roaring64Bitmap();
    final Map<Long, RequestInfo> requests = new LinkedHashMap<>();
    boolean initialCopyDone;
    String suspendedBecause;

    DurablePair(PairInfo info, Roaring64Bitmap scope) {
      this.info = info;
      this.scope = scope;
    }
  }

  /** A pair's bits as recovery hands them to the engine, dirty regions resolved. */
  record Effective(Roaring64Bitmap pending, Roaring64Bitmap changed, long impliedTracks) {
  }

  /**
   * What the engine resumes with: every mirrored track of a dirty region counts as pending,
   * every frozen one not pending as changed (a write there may have landed on one side only);
   * {@code impliedTracks} counts the tracks so added.
   */
  static Effective effective(DurablePair p) {
    Roaring64Bitmap dirtyInScope = Roaring64Bitmap.and(p.dirty, p.scope);
    Roaring64Bitmap pending = p.pending.clone();
    Roaring64Bitmap mirroredDirty = Roaring64Bitmap.andNot(dirtyInScope, p.frozen);
    mirroredDirty.andNot(p.pending);
    pending.or(mirroredDirty);
    Roaring64Bitmap changed = p.changed.clone();
    Roaring64Bitmap frozenDirty = Roaring64Bitmap.and(dirtyInScope, p.frozen);
    frozenDirty.andNot(p.pending);
    frozenDirty.andNot(p.changed);
    changed.or(frozenDirty);
    return new Effective(pending, changed,
        mirroredDirty.getLongCardinality() + frozenDirty.getLongCardinality());
  }

  final Map<String, DurablePair> pairs = new LinkedHashMap<>();
  long nextRequestId = 1;

  DurablePair pair(String id) throws IOException {
    DurablePair p = pairs.get(id);
    if (p == null) {
      throw new IOException("a record names pair '" + id + "', which the metadata does not have");
    }
    return p;
  }

  // Record types (the format's numbers; never reuse one).
  static final int HEADER = 1;
  static final int CREATE = 2;
  static final int MARK_PENDING = 3;
  static final int MARK_CHANGED = 4;
  static final int CLEAR = 5;
  static final int INSTANT = 6;
  static final int DONE = 7;
  static final int SUSPEND = 8;
  static final int DELETE = 9;
  static final int PAIR = 10;
  static final int END = 11;
  /**
   * Written at the start of each group commit's batch: the journal's first {@code n} bytes (every
   * earlier batch) were synced. Damage before such a marker hit synced records.
   */
  static final int SYNCED = 12;
  /** Version 2: write-intent regions marked dirty ({@code dirty |= tracks}). */
  static final int MARK_DIRTY = 13;
  /** Version 2: regions recorded exactly again: {@code dirty -= tracks}, their changed bits given. */
  static final int CLEAN = 14;
  /** Version 2: a pair's options replaced. */
  static final int OPTIONS = 15;
  /** Version 3: records applied together or not at all (a consistency group's instants). */
  static final int BATCH = 16;
  /** Version 3: a consistency group created: its name and member pairs. */
  static final int GROUP = 17;
  /** Version 3: a consistency group dissolved. */
  static final int GROUP_DELETE = 18;

  /**
   * Version 4: tracks a restore copied back, the primary flushed: {@code restoring -= done},
   * {@code changed -= equal}.
   */
  static final int RESTORED = 19;

  /** Consistency groups: name to member pair ids, in creation order. */
  final Map<String, List<String>> groups = new LinkedHashMap<>();

  /**
   * Applies one journal record written by format {@code version}; a malformed one is an
   * IOException naming what was wrong.
   */
  void apply(int type, byte[] payload, int version) throws IOException {
    RecordCodec.In in = new RecordCodec.In(payload);
    switch (type) {
      case CREATE -> {
        PairInfo info = readInfo(in, version);
        long createId = in.i64();
        Roaring64Bitmap scope = in.bitmap();
        if (pairs.containsKey(info.id())) {
          throw new IOException("pair '" + info.id() + "' is created twice");
        }
        DurablePair p = new DurablePair(info, scope);
        p.pending.or(scope);
        p.requests.put(createId, new RequestInfo(createId, "CREATE", info.scope(), true));
        pairs.put(info.id(), p);
        nextRequestId = Math.max(nextRequestId, createId + 1);
      }
      case MARK_PENDING -> pair(in.str()).pending.or(in.bitmap());
      case MARK_CHANGED -> {
        DurablePair p = pair(in.str());
        Roaring64Bitmap t = in.bitmap();
        p.changed.or(t);
        p.pending.andNot(Roaring64Bitmap.and(t, p.frozen)); // a changed frozen track is copied
      }
      case CLEAR -> pair(in.str()).pending.andNot(in.bitmap());
      case INSTANT -> {
        DurablePair p = pair(in.str());
        long requestId = in.i64();
        String kind = in.str();
        ExtentSet region = in.extents();
        boolean drainsMirror = in.bool();
        String transition = in.str();
        Roaring64Bitmap tracks = in.bitmap();
        Roaring64Bitmap pendingAfter = version >= 2 ? in.bitmap() : null;
        applyTransition(p, transition, tracks, pendingAfter);
        if (p.splitBytes != null && transition.equals("FREEZE")) {
          p.splitBytes = p.splitBytes.union(region.intersection(p.info.scope()));
        } else if (p.splitBytes != null && transition.equals("JOIN")) {
          p.splitBytes = p.splitBytes.minus(region);
        }
        p.requests.put(requestId, new RequestInfo(requestId, kind, region, drainsMirror));
        nextRequestId = Math.max(nextRequestId, requestId + 1);
      }
      case DONE -> {
        DurablePair p = pairs.get(in.str()); // a late DONE of a deleted pair is harmless
        long requestId = in.i64();
        boolean completed = in.bool();
        if (p != null) {
          RequestInfo r = p.requests.remove(requestId);
          if (r != null && completed
              && (r.kind().equals("CREATE") || r.kind().equals("RESUME"))) {
            p.initialCopyDone = true;
          }
        }
      }
      case SUSPEND -> {
        DurablePair p = pairs.get(in.str()); // a failure reported as the pair was deleted
        String because = in.str();
        if (p != null) {
          p.suspendedBecause = because;
        }
      }
      case DELETE -> {
        String id = in.str();
        pairs.remove(id);
        groups.replaceAll((g, members) -> members.stream().filter(m -> !m.equals(id)).toList());
        groups.values().removeIf(List::isEmpty);
      }
      case BATCH -> {
        int n = in.i32();
        if (n < 0 || n > 100_000) {
          throw new IOException("a batch of " + n + " records");
        }
        for (int i = 0; i < n; i++) {
          int childType = in.i32();
          if (childType == BATCH) {
            throw new IOException("a batch inside a batch");
          }
          apply(childType, in.blob(), version);
        }
      }
      case GROUP -> {
        String name = in.str();
        int n = in.i32();
        if (n <= 0 || n > 100_000) {
          throw new IOException("group '" + name + "' with " + n + " members");
        }
        List<String> members = new ArrayList<>();
        for (int i = 0; i < n; i++) {
          String id = in.str();
          pair(id); // a member the metadata does not have is a damaged record
          members.add(id);
        }
        groups.put(name, List.copyOf(members));
      }
      case GROUP_DELETE -> groups.remove(in.str());
      case SYNCED -> in.i64(); // says what was synced; changes nothing
      case MARK_DIRTY -> pair(in.str()).dirty.or(in.bitmap());
      case CLEAN -> {
        DurablePair p = pair(in.str());
        Roaring64Bitmap tracks = in.bitmap();
        Roaring64Bitmap changedThere = in.bitmap();
        p.dirty.andNot(tracks);
        p.changed.andNot(tracks);
        p.changed.or(Roaring64Bitmap.and(changedThere, Roaring64Bitmap.and(tracks, p.frozen)));
      }
      case RESTORED -> {
        DurablePair p = pair(in.str());
        p.restoring.andNot(in.bitmap());
        p.changed.andNot(in.bitmap());
      }
      case OPTIONS -> {
        DurablePair p = pair(in.str());
        p.info = p.info.withOptions(in.map());
      }
      default -> throw new IOException("an unknown record type " + type);
    }
  }

  /**
   * A request's transition. Version 1 derives the pending bits from the recorded ones; version 2
   * records them: {@code pendingAfter} is exactly what may still need a copy among the tracks
   * the transition touches (the engine's pending tracks there, plus copies not yet durable).
   */
  private static void applyTransition(DurablePair p, String transition, Roaring64Bitmap tracks,
      Roaring64Bitmap pendingAfter) throws IOException {
    Roaring64Bitmap touched;
    switch (transition) {
      case "FREEZE" -> {
        touched = Roaring64Bitmap.and(tracks, p.scope);
        p.frozen.or(touched);
      }
      case "UPDATE", "JOIN" -> {
        touched = Roaring64Bitmap.and(tracks, p.frozen);
        if (pendingAfter == null) {
          p.pending.or(Roaring64Bitmap.and(p.changed, touched));
        }
        p.changed.andNot(touched);
        if (transition.equals("JOIN")) {
          p.frozen.andNot(touched);
        }
      }
      case "RESUME" -> {
        p.suspendedBecause = null;
        return;
      }
      case "RESTORE" -> {
        p.restoring.or(Roaring64Bitmap.and(tracks, p.frozen));
        return;
      }
      case "NONE" -> {
        return;
      }
      default -> throw new IOException("an unknown transition " + transition);
    }
    if (pendingAfter != null) {
      p.pending.andNot(touched);
      p.pending.or(Roaring64Bitmap.and(pendingAfter, touched));
    }
  }

  // ---------------------------------------------------------------- encoding

  static void writeInfo(RecordCodec.Out out, PairInfo info) throws IOException {
    out.str(info.id()).str(info.strategy()).i32(info.trackSize()).extents(info.scope())
        .bool(info.wholeVolume());
    writeVolume(out, info.primary());
    writeVolume(out, info.secondary());
    out.map(info.options());
  }

  private static void writeVolume(RecordCodec.Out out, VolumeRef v) throws IOException {
    out.str(v.name()).str(v.type()).map(v.properties()).i64(v.size()).str(v.volumeId());
  }

  static PairInfo readInfo(RecordCodec.In in, int version) throws IOException {
    String id = in.str();
    String strategy = in.str();
    int trackSize = in.i32();
    ExtentSet scope = in.extents();
    boolean whole = in.bool();
    VolumeRef primary = readVolume(in);
    VolumeRef secondary = readVolume(in);
    Map<String, String> options = version >= 2 ? in.map() : Map.of();
    return new PairInfo(id, strategy, trackSize, scope, whole, primary, secondary, options);
  }

  private static VolumeRef readVolume(RecordCodec.In in) throws IOException {
    return new VolumeRef(in.str(), in.str(), in.map(), in.i64(), in.str());
  }

  /** The checkpoint's records (the current format): one PAIR per pair, then END. */
  List<byte[]> checkpointRecords(boolean clean) throws IOException {
    List<byte[]> out = new ArrayList<>();
    for (DurablePair p : pairs.values()) {
      RecordCodec.Out o = new RecordCodec.Out();
      writeInfo(o, p.info);
      o.bitmap(p.scope).bitmap(p.pending).bitmap(p.changed).bitmap(p.frozen)
          .bool(p.initialCopyDone).str(p.suspendedBecause).i32(p.requests.size());
      for (RequestInfo r : p.requests.values()) {
        o.i64(r.id()).str(r.kind()).extents(r.region()).bool(r.drainsMirror());
      }
      o.bitmap(p.dirty).bitmap(p.restoring).bool(p.splitBytes != null);
      if (p.splitBytes != null) {
        o.extents(p.splitBytes);
      }
      out.add(RecordCodec.frame(PAIR, o.bytes()));
    }
    for (Map.Entry<String, List<String>> g : groups.entrySet()) {
      out.add(RecordCodec.frame(GROUP, groupPayload(g.getKey(), g.getValue())));
    }
    out.add(RecordCodec.frame(END, new RecordCodec.Out().i32(pairs.size()).bool(clean)
        .i64(nextRequestId).bytes()));
    return out;
  }

  /** A GROUP record's payload. */
  static byte[] groupPayload(String name, List<String> members) throws IOException {
    RecordCodec.Out o = new RecordCodec.Out().str(name).i32(members.size());
    for (String m : members) {
      o.str(m);
    }
    return o.bytes();
  }

  /** Reads one PAIR record of a checkpoint written by format {@code version}. */
  void readPair(byte[] payload, int version) throws IOException {
    RecordCodec.In in = new RecordCodec.In(payload);
    PairInfo info = readInfo(in, version);
    DurablePair p = new DurablePair(info, in.bitmap());
    p.pending.or(in.bitmap());
    p.changed.or(in.bitmap());
    p.frozen.or(in.bitmap());
    p.initialCopyDone = in.bool();
    p.suspendedBecause = in.str();
    int n = in.i32();
    if (n < 0 || n > 1_000_000) {
      throw new IOException("a request count of " + n);
    }
    for (int i = 0; i < n; i++) {
      RequestInfo r = new RequestInfo(in.i64(), in.str(), in.extents(), in.bool());
      p.requests.put(r.id(), r);
    }
    if (version >= 2) {
      p.dirty.or(in.bitmap());
    }
    if (version >= 4) {
      p.restoring.or(in.bitmap());
      p.splitBytes = in.bool() ? in.extents() : null;
    } else {
      p.splitBytes = null; // older checkpoints do not say: the frozen tracks stand for them
    }
    pairs.put(info.id(), p);
  }
}
