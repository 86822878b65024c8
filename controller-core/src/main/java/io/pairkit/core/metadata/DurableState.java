package io.pairkit.core.metadata;

import io.pairkit.api.ExtentSet;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.roaringbitmap.longlong.Roaring64Bitmap;

/**
 * What the metadata says, as replaying its records gives it: the pair table and, per pair, the
 * durable difference bits. The bits are a superset of the engine's in-memory bits (ordering rules
 * 1 and 2 in docs/RELIABILITY.md): {@code pending} holds every track that may differ (mirrored or
 * frozen), {@code changed} every frozen track that may have been written since its freeze. The
 * same {@link #apply} serves recovery and the running store, so a checkpoint is by construction
 * what replaying the journal would give.
 *
 * <p>Threading: not thread-safe; the store guards it.
 */
final class DurableState {
  /** One pair's durable state. */
  static final class DurablePair {
    final PairInfo info;
    final Roaring64Bitmap scope;
    final Roaring64Bitmap pending = new Roaring64Bitmap();
    final Roaring64Bitmap changed = new Roaring64Bitmap();
    final Roaring64Bitmap frozen = new Roaring64Bitmap();
    final Map<Long, RequestInfo> requests = new LinkedHashMap<>();
    boolean initialCopyDone;
    String suspendedBecause;

    DurablePair(PairInfo info, Roaring64Bitmap scope) {
      this.info = info;
      this.scope = scope;
    }
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

  /** Applies one journal record; a malformed one is an IOException naming what was wrong. */
  void apply(int type, byte[] payload) throws IOException {
    RecordCodec.In in = new RecordCodec.In(payload);
    switch (type) {
      case CREATE -> {
        PairInfo info = readInfo(in);
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
        applyTransition(p, transition, tracks);
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
      case DELETE -> pairs.remove(in.str());
      case SYNCED -> in.i64(); // says what was synced; changes nothing
      default -> throw new IOException("an unknown record type " + type);
    }
  }

  private static void applyTransition(DurablePair p, String transition, Roaring64Bitmap tracks)
      throws IOException {
    switch (transition) {
      case "FREEZE" -> p.frozen.or(Roaring64Bitmap.and(tracks, p.scope));
      case "UPDATE", "JOIN" -> {
        Roaring64Bitmap t = Roaring64Bitmap.and(tracks, p.frozen);
        p.pending.or(Roaring64Bitmap.and(p.changed, t));
        p.changed.andNot(t);
        if (transition.equals("JOIN")) {
          p.frozen.andNot(t);
        }
      }
      case "RESUME" -> p.suspendedBecause = null;
      case "NONE" -> {
      }
      default -> throw new IOException("an unknown transition " + transition);
    }
  }

  // ---------------------------------------------------------------- encoding

  static void writeInfo(RecordCodec.Out out, PairInfo info) throws IOException {
    out.str(info.id()).str(info.strategy()).i32(info.trackSize()).extents(info.scope())
        .bool(info.wholeVolume());
    writeVolume(out, info.primary());
    writeVolume(out, info.secondary());
  }

  private static void writeVolume(RecordCodec.Out out, VolumeRef v) throws IOException {
    out.str(v.name()).str(v.type()).map(v.properties()).i64(v.size()).str(v.volumeId());
  }

  static PairInfo readInfo(RecordCodec.In in) throws IOException {
    String id = in.str();
    String strategy = in.str();
    int trackSize = in.i32();
    ExtentSet scope = in.extents();
    boolean whole = in.bool();
    return new PairInfo(id, strategy, trackSize, scope, whole, readVolume(in), readVolume(in));
  }

  private static VolumeRef readVolume(RecordCodec.In in) throws IOException {
    return new VolumeRef(in.str(), in.str(), in.map(), in.i64(), in.str());
  }

  /** The checkpoint's records: one PAIR per pair, then END. */
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
      out.add(RecordCodec.frame(PAIR, o.bytes()));
    }
    out.add(RecordCodec.frame(END, new RecordCodec.Out().i32(pairs.size()).bool(clean)
        .i64(nextRequestId).bytes()));
    return out;
  }

  /** Reads one PAIR record of a checkpoint. */
  void readPair(byte[] payload) throws IOException {
    RecordCodec.In in = new RecordCodec.In(payload);
    PairInfo info = readInfo(in);
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
    pairs.put(info.id(), p);
  }
}
