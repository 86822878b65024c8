package io.pairkit.core.internal.metadata;

import java.lang.System.Logger.Level;
import io.pairkit.api.error.MetadataException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * {@link MetaStorage} on a real directory: appends through one open channel per file,
 * {@code fsync} on sync, replace by writing a temporary file, syncing it, renaming it over the old
 * one and syncing the directory.
 */
public final class DirectoryStorage implements MetaStorage {
  private static final System.Logger LOG = System.getLogger("io.pairkit.core");
  private static final String LOCK = "LOCK";

  /** Metadata directories open in this JVM, by real path. */
  private static final java.util.Set<Path> OPEN_HERE =
      java.util.concurrent.ConcurrentHashMap.newKeySet();

  private final Path dir;
  private Path realPath;
  private final Map<String, FileChannel> appending = new HashMap<>();
  private final FileChannel lockChannel;
  private final FileLock lock;

  private DirectoryStorage(Path dir, FileChannel lockChannel, FileLock lock) {
    this.dir = dir;
    this.lockChannel = lockChannel;
    this.lock = lock;
  }

  /**
   * Opens {@code dir} (created if missing) for one controller: takes the lock of its
   * {@code LOCK} file and writes this process's id and host into it; {@link #close()} empties
   * it again. The lock dies with its process, so a lock left by a crashed controller is taken
   * over (its holder, whose text is still there, is logged).
   *
   * @throws MetadataException naming the holder (process id and host) if another controller
   *     holds the directory, or if it cannot be created or locked
   */
  public static DirectoryStorage open(Path dir) {
    FileChannel ch = null;
    Path key = null;
    try {
      Files.createDirectories(dir);
      key = dir.toRealPath();
      // Refuse a second open in this JVM before touching the LOCK file: closing any descriptor of
      // a file drops every POSIX lock this process holds on it, the first controller's included.
      if (!OPEN_HERE.add(key)) {
        key = null;
        throw new MetadataException("metadata directory " + dir + " is held by another PairKit "
            + "controller in this process (process " + ProcessHandle.current().pid() + " on host "
            + hostName() + "); close that controller first, or give this one another directory");
      }
      ch = FileChannel.open(dir.resolve(LOCK), StandardOpenOption.CREATE,
          StandardOpenOption.READ, StandardOpenOption.WRITE);
      FileLock lock;
      try {
        lock = ch.tryLock();
      } catch (OverlappingFileLockException sameProcess) {
        lock = null;
      }
      String previous = readHolder(ch);
      if (lock == null) {
        ch.close();
        throw new MetadataException("metadata directory " + dir + " is held by another PairKit "
            + "controller (" + (previous.isEmpty() ? "holder unknown" : previous) + "); close "
            + "that controller first, or give this one another directory");
      }
      if (!previous.isEmpty()) {
        LOG.log(Level.INFO, "PairKit metadata " + dir + ": taking over the lock last held by " + previous
            + ", which is gone");
      }
      String me = "process " + ProcessHandle.current().pid() + " on host " + hostName()
          + " since " + java.time.Instant.now();
      ch.truncate(0);
      ch.write(ByteBuffer.wrap(me.getBytes(StandardCharsets.UTF_8)), 0);
      ch.force(true);
      DirectoryStorage opened = new DirectoryStorage(dir, ch, lock);
      opened.realPath = key;
      key = null; // released by close() from now on
      return opened;
    } catch (IOException e) {
      if (ch != null) {
        try {
          ch.close();
        } catch (IOException ignored) {
          // the open failed already
        }
      }
      throw new MetadataException("metadata directory " + dir + " cannot be opened ("
          + e.getMessage() + "); check that it is a writable directory", e);
    } finally {
      if (key != null) {
        OPEN_HERE.remove(key);
      }
    }
  }

  private static String readHolder(FileChannel ch) throws IOException {
    ByteBuffer b = ByteBuffer.allocate((int) Math.min(ch.size(), 4096));
    ch.read(b, 0);
    return new String(b.array(), 0, b.position(), StandardCharsets.UTF_8).trim();
  }

  private static String hostName() {
    try {
      return java.net.InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      return "unknown";
    }
  }

  private synchronized FileChannel channel(String file) throws IOException {
    FileChannel ch = appending.get(file);
    if (ch == null) {
      boolean existed = Files.exists(dir.resolve(file));
      ch = FileChannel.open(dir.resolve(file), StandardOpenOption.CREATE,
          StandardOpenOption.WRITE, StandardOpenOption.APPEND);
      appending.put(file, ch);
      if (!existed) {
        syncDirectory(); // the new file's name must survive a power cut as well as its bytes
      }
    }
    return ch;
  }

  @Override
  public void append(String file, byte[] data) throws IOException {
    FileChannel ch = channel(file);
    ByteBuffer b = ByteBuffer.wrap(data);
    while (b.hasRemaining()) {
      ch.write(b);
    }
  }

  @Override
  public void sync(String file) throws IOException {
    channel(file).force(false);
  }

  @Override
  public byte[] read(String file) throws IOException {
    try {
      return Files.readAllBytes(dir.resolve(file));
    } catch (NoSuchFileException e) {
      return null;
    }
  }

  @Override
  public void replace(String file, byte[] content) throws IOException {
    Path tmp = dir.resolve(file + ".tmp");
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE,
        StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
      ByteBuffer b = ByteBuffer.wrap(content);
      while (b.hasRemaining()) {
        ch.write(b);
      }
      ch.force(true);
    }
    Files.move(tmp, dir.resolve(file), StandardCopyOption.ATOMIC_MOVE,
        StandardCopyOption.REPLACE_EXISTING);
    syncDirectory();
  }

  @Override
  public void delete(String file) throws IOException {
    FileChannel ch;
    synchronized (this) {
      ch = appending.remove(file);
    }
    if (ch != null) {
      ch.close();
    }
    if (Files.deleteIfExists(dir.resolve(file))) {
      syncDirectory();
    }
  }

  @Override
  public List<String> list() throws IOException {
    List<String> out = new ArrayList<>();
    try (Stream<Path> files = Files.list(dir)) {
      files.map(p -> p.getFileName().toString()).filter(f -> !f.equals(LOCK))
          .forEach(out::add);
    }
    return out;
  }

  private void syncDirectory() throws IOException {
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException e) {
      // Some file systems refuse to open a directory for sync; rename is still atomic there.
    }
  }

  @Override
  public String describe() {
    return dir.toString();
  }

  @Override
  public synchronized void close() throws IOException {
    try {
      for (FileChannel ch : appending.values()) {
        ch.close();
      }
      appending.clear();
    } finally {
      try {
        if (lockChannel.isOpen()) {
          try {
            // A clean release leaves no holder's text, so the next opener does not report a
            // takeover from a process that stopped cleanly.
            lockChannel.truncate(0);
            lockChannel.force(true);
          } finally {
            lock.release();
            lockChannel.close();
          }
        }
      } finally {
        if (realPath != null) {
          OPEN_HERE.remove(realPath);
          realPath = null;
        }
      }
    }
  }
}
