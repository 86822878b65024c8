package io.pairkit.core.internal.engine;

import io.pairkit.api.ExtentSet;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.VolumeCapabilities;
import io.pairkit.testkit.MemoryVolume;
import java.nio.ByteBuffer;
import java.util.Optional;

/**
 * A memory volume that logs every completed write, discard (as zeros) and flush to a
 * {@link CrashLog}, or (without a log) the image of a crash, reopened. Its volume id is fixed by
 * its name, so a crash image passes for the volume a pair was recorded on.
 */
final class RecordingVolume implements Volume {
  private final MemoryVolume memory;
  private final CrashLog log;

  /** Over {@code memory}, logging to {@code log} (null: log nothing). */
  RecordingVolume(MemoryVolume memory, CrashLog log) {
    this.memory = memory;
    this.log = log;
  }

  /** A volume holding {@code image}, logging nothing (a crash image). */
  static RecordingVolume ofImage(String name, byte[] image) {
    return ofImage(name, image, null);
  }

  /** A volume holding {@code image}, logging to {@code log} (null: nothing). */
  static RecordingVolume ofImage(String name, byte[] image, CrashLog log) {
    MemoryVolume m = new MemoryVolume(name, image.length);
    for (int b = 0; b < image.length; b += CrashLog.BLOCK) {
      int n = Math.min(CrashLog.BLOCK, image.length - b);
      for (int i = b; i < b + n; i++) {
        if (image[i] != 0) {
          m.write(b, ByteBuffer.wrap(image, b, n));
          break;
        }
      }
    }
    return new RecordingVolume(m, log);
  }

  @Override
  public String name() {
    return memory.name();
  }

  @Override
  public long size() {
    return memory.size();
  }

  @Override
  public VolumeCapabilities capabilities() {
    return memory.capabilities();
  }

  @Override
  public Optional<String> volumeId() {
    return Optional.of("crash:" + memory.name());
  }

  @Override
  public void read(long offset, ByteBuffer dst) {
    memory.read(offset, dst);
  }

  @Override
  public synchronized void write(long offset, ByteBuffer src) {
    byte[] copy = new byte[src.remaining()];
    src.duplicate().get(copy);
    memory.write(offset, src);
    if (log != null) {
      log.add(new CrashLog.Write(name(), offset, copy));
    }
  }

  @Override
  public synchronized void discard(long offset, long length) {
    memory.discard(offset, length);
    if (log != null) {
      log.add(new CrashLog.Write(name(), offset, new byte[Math.toIntExact(length)]));
    }
  }

  @Override
  public ExtentSet allocated(long offset, long length) {
    return memory.allocated(offset, length);
  }

  @Override
  public void flush() {
    memory.flush();
    if (log != null) {
      int covers;
      synchronized (this) { // every write that completed before the call
        covers = log.size();
      }
      log.add(new CrashLog.FlushEnd(name(), covers));
    }
  }

  @Override
  public void close() {
    memory.close();
  }
}
