package io.pairkit.core.internal.engine;

import io.pairkit.core.internal.metadata.MetaStorage;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A metadata directory in memory that logs every append, sync, replace and delete to a
 * {@link CrashLog} (or, without a log, holds a crash image for a recovering controller).
 */
final class RecordingStorage implements MetaStorage {
  private final Map<String, ByteArrayOutputStream> files = new TreeMap<>();
  private final CrashLog log;

  RecordingStorage(CrashLog log) {
    this.log = log;
  }

  /** A directory holding {@code image} (a crash image), logging nothing. */
  static RecordingStorage ofImage(Map<String, byte[]> image) {
    return ofImage(image, null);
  }

  /** A directory holding {@code image}, logging to {@code log} (null: nothing). */
  static RecordingStorage ofImage(Map<String, byte[]> image, CrashLog log) {
    RecordingStorage s = new RecordingStorage(log);
    image.forEach((f, b) -> {
      ByteArrayOutputStream o = new ByteArrayOutputStream();
      o.writeBytes(b);
      s.files.put(f, o);
    });
    return s;
  }

  @Override
  public synchronized void append(String file, byte[] data) {
    files.computeIfAbsent(file, f -> new ByteArrayOutputStream()).writeBytes(data);
    if (log != null) {
      log.add(new CrashLog.Append(file, data.clone()));
    }
  }

  @Override
  public void sync(String file) {
    if (log != null) {
      int covers;
      synchronized (this) {
        covers = log.size();
      }
      log.add(new CrashLog.SyncEnd(file, covers));
    }
  }

  @Override
  public synchronized byte[] read(String file) {
    ByteArrayOutputStream b = files.get(file);
    return b == null ? null : b.toByteArray();
  }

  @Override
  public synchronized void replace(String file, byte[] content) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    b.writeBytes(content);
    files.put(file, b);
    if (log != null) {
      log.add(new CrashLog.Replace(file, content.clone()));
    }
  }

  @Override
  public synchronized void delete(String file) {
    if (files.remove(file) != null && log != null) {
      log.add(new CrashLog.Delete(file));
    }
  }

  @Override
  public synchronized List<String> list() {
    return new ArrayList<>(files.keySet());
  }

  @Override
  public String describe() {
    return "recorded metadata in memory";
  }

  @Override
  public void close() {
  }
}
