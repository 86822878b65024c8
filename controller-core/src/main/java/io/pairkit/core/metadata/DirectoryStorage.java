package io.pairkit.core.metadata;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
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
  private final Path dir;
  private final Map<String, FileChannel> appending = new HashMap<>();

  public DirectoryStorage(Path dir) {
    this.dir = dir;
  }

  private synchronized FileChannel channel(String file) throws IOException {
    FileChannel ch = appending.get(file);
    if (ch == null) {
      ch = FileChannel.open(dir.resolve(file), StandardOpenOption.CREATE,
          StandardOpenOption.WRITE, StandardOpenOption.APPEND);
      appending.put(file, ch);
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
      files.forEach(p -> out.add(p.getFileName().toString()));
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
    for (FileChannel ch : appending.values()) {
      ch.close();
    }
    appending.clear();
  }
}
