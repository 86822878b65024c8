package io.pairkit.core.internal.engine;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * One ordered log of every write and flush to the data volumes and every append, sync, replace
 * and delete in the metadata directory of a recorded run (the method of dm-log-writes), and the
 * images a crash after any prefix of it may leave (the method of CrashMonkey): what was flushed or
 * synced before the crash, plus a random part of what was not.
 *
 * <p>Positions: a crash point {@code k} in {@code [0, size()]} means ops {@code [0, k)} happened.
 * A flush or sync is logged when it returns and covers the ops logged before it was called.
 *
 * <p>Threading: thread-safe.
 */
final class CrashLog {
  static final int BLOCK = 4096;

  sealed interface Op permits Write, FlushEnd, Append, SyncEnd, Replace, Delete {
  }

  /** A completed write (or discard, as zeros) of a volume. */
  record Write(String volume, long offset, byte[] data) implements Op {
  }

  /** A flush of a volume returned; the volume's writes logged before {@code covers} are durable. */
  record FlushEnd(String volume, int covers) implements Op {
  }

  record Append(String file, byte[] data) implements Op {
  }

  /** A sync of a file returned; its appends logged before {@code covers} are durable. */
  record SyncEnd(String file, int covers) implements Op {
  }

  /** An atomic, durable replace of a file's content. */
  record Replace(String file, byte[] content) implements Op {
  }

  /** A durable delete of a file. */
  record Delete(String file) implements Op {
  }

  private final List<Op> ops = new ArrayList<>();

  synchronized int add(Op op) {
    ops.add(op);
    return ops.size();
  }

  synchronized int size() {
    return ops.size();
  }

  synchronized List<Op> snapshot() {
    return List.copyOf(ops);
  }

  /** Where a crash image is worth trying: right after every flush, sync, replace and delete. */
  static List<Integer> durabilityPoints(List<Op> ops) {
    List<Integer> out = new ArrayList<>();
    for (int i = 0; i < ops.size(); i++) {
      if (!(ops.get(i) instanceof Write) && !(ops.get(i) instanceof Append)) {
        out.add(i + 1);
      }
    }
    return out;
  }

  /**
   * What a crash after {@code ops[0, k)} may leave: per volume its bytes, per metadata file its
   * content, and per volume the 4 KiB blocks that reached it durably (block index to the first 8
   * bytes, the stamp of the data written there, of every durable write, in order).
   */
  record Image(Map<String, byte[]> volumes, Map<String, byte[]> files,
      Map<String, Map<Long, List<Long>>> durableStamps) {
  }

  /** A crash of a run that started on zeroed volumes and an empty metadata directory. */
  static Image crash(List<Op> ops, int k, Map<String, Long> volumeSizes, Random rnd) {
    Map<String, byte[]> zeros = new LinkedHashMap<>();
    volumeSizes.forEach((name, size) -> zeros.put(name, new byte[Math.toIntExact(size)]));
    return crash(new Image(zeros, Map.of(), Map.of()), ops, k, rnd);
  }

  /**
   * A crash of a run that started on {@code base} (the image of an earlier crash, all of it
   * durable); the durable stamps are those of this run's writes.
   */
  static Image crash(Image base, List<Op> ops, int k, Random rnd) {
    Map<String, Integer> flushed = new HashMap<>();
    for (int i = 0; i < k; i++) {
      if (ops.get(i) instanceof FlushEnd f) {
        flushed.merge(f.volume(), f.covers(), Math::max);
      }
    }
    Map<String, byte[]> volumes = new LinkedHashMap<>();
    Map<String, Map<Long, List<Long>>> stamps = new HashMap<>();
    base.volumes().forEach((name, bytes) -> {
      volumes.put(name, bytes.clone());
      stamps.put(name, new HashMap<>());
    });
    Map<String, ByteArrayOutputStream> durable = new LinkedHashMap<>();
    base.files().forEach((file, bytes) -> {
      ByteArrayOutputStream b = new ByteArrayOutputStream();
      b.writeBytes(bytes);
      durable.put(file, b);
    });
    Map<String, List<byte[]>> unsynced = new HashMap<>();
    Map<String, List<Integer>> unsyncedAt = new HashMap<>();
    for (int i = 0; i < k; i++) {
      Op op = ops.get(i);
      if (op instanceof Write w) {
        byte[] image = volumes.get(w.volume());
        boolean isDurable = i < flushed.getOrDefault(w.volume(), 0);
        if (isDurable) {
          System.arraycopy(w.data(), 0, image, (int) w.offset(), w.data().length);
          Map<Long, List<Long>> s = stamps.get(w.volume());
          for (int b = 0; b + BLOCK <= w.data().length; b += BLOCK) {
            if ((w.offset() + b) % BLOCK == 0) {
              s.computeIfAbsent((w.offset() + b) / BLOCK, x -> new ArrayList<>())
                  .add(stampOf(w.data(), b));
            }
          }
          continue;
        }
        int mode = rnd.nextInt(5); // 0, 1: lost; 2, 3: landed; 4: torn in 4 KiB blocks
        if (mode < 2) {
          continue;
        }
        for (int b = 0; b < w.data().length; b += BLOCK) {
          if (mode == 4 && rnd.nextBoolean()) {
            continue;
          }
          int n = Math.min(BLOCK, w.data().length - b);
          System.arraycopy(w.data(), b, image, (int) w.offset() + b, n);
        }
      } else if (op instanceof Append a) {
        durable.computeIfAbsent(a.file(), f -> new ByteArrayOutputStream());
        unsynced.computeIfAbsent(a.file(), f -> new ArrayList<>()).add(a.data());
        unsyncedAt.computeIfAbsent(a.file(), f -> new ArrayList<>()).add(i);
      } else if (op instanceof SyncEnd s) {
        List<byte[]> pending = unsynced.getOrDefault(s.file(), new ArrayList<>());
        List<Integer> at = unsyncedAt.getOrDefault(s.file(), new ArrayList<>());
        while (!at.isEmpty() && at.get(0) < s.covers()) {
          durable.get(s.file()).writeBytes(pending.remove(0));
          at.remove(0);
        }
      } else if (op instanceof Replace r) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(r.content());
        durable.put(r.file(), b);
        unsynced.remove(r.file());
        unsyncedAt.remove(r.file());
      } else if (op instanceof Delete d) {
        durable.remove(d.file());
        unsynced.remove(d.file());
        unsyncedAt.remove(d.file());
      }
    }
    Map<String, byte[]> files = new LinkedHashMap<>();
    durable.forEach((file, content) -> {
      ByteArrayOutputStream tail = new ByteArrayOutputStream();
      unsynced.getOrDefault(file, List.of()).forEach(tail::writeBytes);
      byte[] t = tail.toByteArray();
      int keep = switch (rnd.nextInt(3)) { // a prefix of the unsynced appends, maybe torn
        case 0 -> 0;
        case 1 -> t.length;
        default -> rnd.nextInt(t.length + 1);
      };
      content.write(t, 0, keep);
      files.put(file, content.toByteArray());
    });
    return new Image(volumes, files, stamps);
  }

  /** The stamp in the first 8 bytes of the block at {@code at}. */
  static long stampOf(byte[] data, int at) {
    long v = 0;
    for (int i = 0; i < 8; i++) {
      v = (v << 8) | (data[at + i] & 0xff);
    }
    return v;
  }
}
