package io.pairkit.backend.file;

import io.pairkit.api.error.VolumeInUseException;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * Fencing of image files: an open {@link FileVolume} holds its image's file lock, and this
 * process keeps the images its volumes hold, because closing any descriptor of a file drops every
 * POSIX lock this process holds on it (the first volume's too), so a second opener here is
 * refused before it opens one. A refusal names the holder: the volume in this process, or the
 * process id and host of another process (Linux, through {@code fcntl F_GETLK}).
 *
 * <p>Threading: thread-safe; the registry is a concurrent map and no lock is held.
 */
final class ImageLocks {
  /** The image files open in this process, by file key, with the name of the volume that has it. */
  private static final ConcurrentMap<Object, String> OPEN_HERE = new ConcurrentHashMap<>();

  private ImageLocks() {
  }

  /**
   * Records that a volume of this process holds {@code path}, or refuses if one already does.
   * Returns the file key to release at close.
   */
  static Object claim(String name, Path path) throws IOException {
    Object key = Files.readAttributes(path, BasicFileAttributes.class).fileKey();
    if (key == null) {
      key = path.toRealPath(); // no inode here: the resolved path is the next best thing
    }
    String holder = OPEN_HERE.putIfAbsent(key, name);
    if (holder != null) {
      throw new VolumeInUseException("volume '" + name + "': image file " + path
          + " is held by volume '" + holder + "' in this process (process "
          + ProcessHandle.current().pid() + " on host " + hostName()
          + "); close that volume first");
    }
    return key;
  }

  /** Drops a {@link #claim} whose volume was not made. */
  static void release(Object key) {
    OPEN_HERE.remove(key);
  }

  /** Drops the claim of volume {@code name}, at its close. */
  static void release(Object key, String name) {
    OPEN_HERE.remove(key, name);
  }

  static FileLock tryLock(String name, Path path, FileChannel channel) throws IOException {
    FileLock lock;
    try {
      lock = channel.tryLock();
    } catch (OverlappingFileLockException e) {
      // A channel outside FileVolume (OPEN_HERE refuses volumes before they get here).
      throw new VolumeInUseException("volume '" + name + "': image file " + path
          + " is locked by another channel in this process (process "
          + ProcessHandle.current().pid() + " on host " + hostName() + "); close it first", e);
    }
    if (lock == null) {
      // This process holds no lock on the file (OPEN_HERE), so the question may open and close
      // a descriptor of it.
      OptionalLong holder = NativeFiles.load().map(n -> n.lockHolder(path))
          .orElse(OptionalLong.empty());
      if (holder.isPresent()) {
        throw new VolumeInUseException("volume '" + name + "': image file " + path
            + " is held by process " + holder.getAsLong() + " on host " + hostName()
            + " (another PairKit controller?); stop it or close that volume first");
      }
      throw new VolumeInUseException("volume '" + name + "': image file " + path
          + " is already open by another volume or process; close that one first");
    }
    return lock;
  }

  /** This machine's host name, for messages that name a lock's holder. */
  static String hostName() {
    try {
      String name = Files.readString(Path.of("/proc/sys/kernel/hostname")).trim();
      if (!name.isEmpty()) {
        return name;
      }
    } catch (IOException | RuntimeException e) {
      // not Linux: ask the JDK
    }
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      return "localhost";
    }
  }
}
