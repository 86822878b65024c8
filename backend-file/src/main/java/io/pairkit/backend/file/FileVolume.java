package io.pairkit.backend.file;

import com.google.common.collect.ContiguousSet;
import com.google.common.collect.DiscreteDomain;
import com.google.common.collect.Range;
import com.google.common.util.concurrent.Striped;
import com.sun.nio.file.ExtendedOpenOption;
import io.pairkit.api.error.AlreadyClosedException;
import io.pairkit.api.error.VolumeConfigException;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.Volumes;
import java.io.EOFException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.locks.Lock;

/**
 * A volume stored as one raw image file, accessed with positional {@link FileChannel} I/O.
 *
 * <p>Threading: positional reads and writes are safe from many threads. The file is locked
 * ({@link FileChannel#tryLock()}) while open, so a second opener, in this process or another, is
 * refused. Never interrupt a thread inside {@link #read} or {@link #write}: the JDK closes an
 * interrupted {@link FileChannel}, after which this volume fails every call until reopened.
 */
public final class FileVolume implements Volume {

  /** How {@link #open} treats an existing or missing file. */
  public enum OpenMode {
    /** The file must exist. */
    OPEN,
    /** The file must not exist; it is created sparse. */
    CREATE,
    /** Open it if it exists, otherwise create it. */
    OPEN_OR_CREATE
  }

  private final String name;
  private final Path path;
  private final long size;
  private final int trackSize;
  private final FileChannel channel;
  private final FileLock lock;
  /** O_DIRECT block size, or 0 when I/O goes through the page cache. */
  private final int directBlock;
  /** Direct-mode writes lock 64 KiB granules: one lock for a typical track-sized write. */
  private static final long LOCK_GRANULE = 64 * 1024;

  /** Serialises read-modify-write of partial blocks in direct mode. */
  private final Striped<Lock> blockLocks;
  private volatile boolean closed;

  private FileVolume(String name, Path path, long size, int trackSize, FileChannel channel,
      FileLock lock, int directBlock) {
    this.name = name;
    this.path = path;
    this.size = size;
    this.trackSize = trackSize;
    this.channel = channel;
    this.lock = lock;
    this.directBlock = directBlock;
    this.blockLocks = directBlock > 0 ? Striped.lock(1024) : null;
  }

  /**
   * Opens or creates the image file.
   *
   * @param size expected size in bytes, or -1 to take the file's size (required to create)
   * @throws VolumeConfigException for a missing or existing file (as {@code mode} requires), a
   *     size mismatch, a read-only file, or a file another opener holds
   */
  public static FileVolume open(String name, Path path, long size, int trackSize, OpenMode mode)
      throws IOException {
    return open(name, path, size, trackSize, mode, false);
  }

  /**
   * As {@link #open(String, Path, long, int, OpenMode)}; with {@code direct}, I/O bypasses the
   * operating system's page cache (O_DIRECT). Aligned I/O from direct buffers goes straight to the
   * device; anything else goes through an aligned bounce buffer, partial blocks by
   * read-modify-write under a per-block lock. The volume size must be a multiple of the file
   * system's block size.
   */
  public static FileVolume open(String name, Path path, long size, int trackSize, OpenMode mode,
      boolean direct) throws IOException {
    Objects.requireNonNull(path, "path");
    boolean exists = Files.exists(path, LinkOption.NOFOLLOW_LINKS) || Files.exists(path);
    if (exists && Files.isDirectory(path)) {
      throw new VolumeConfigException("volume '" + name + "': " + path
          + " is a directory; give the path of an image file");
    }
    boolean create = switch (mode) {
      case OPEN -> {
        if (!exists) {
          throw new VolumeConfigException("volume '" + name + "': image file " + path
              + " does not exist; create it with mode=create (and size=...) or fix the path");
        }
        yield false;
      }
      case CREATE -> {
        if (exists) {
          throw new VolumeConfigException("volume '" + name + "': image file " + path
              + " already exists; use mode=open to use it, or remove it first");
        }
        yield true;
      }
      case OPEN_OR_CREATE -> !exists;
    };
    if (create && size <= 0) {
      throw new VolumeConfigException("volume '" + name + "': creating " + path
          + " needs a positive size (property size, e.g. 64MiB)");
    }
    if (!create) {
      refuseReadOnly(name, path);
    }
    FileChannel opened;
    try {
      opened = create
          ? FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
              StandardOpenOption.WRITE, StandardOpenOption.SPARSE)
          : FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
    } catch (AccessDeniedException e) {
      throw new VolumeConfigException("volume '" + name + "': image file " + path
          + " cannot be opened for writing (" + e.getMessage() + "); fix its permissions", e);
    } catch (NoSuchFileException e) {
      throw new VolumeConfigException("volume '" + name + "': the folder of " + path
          + " does not exist; create it first", e);
    } catch (FileAlreadyExistsException e) {
      throw new VolumeConfigException("volume '" + name + "': image file " + path
          + " appeared while creating it; use mode=open", e);
    }
    FileChannel channel = opened;
    boolean ok = false;
    try {
      FileLock lock = tryLock(name, path, channel);
      long actual;
      if (create) {
        // Extend sparse: setLength leaves a hole, so a 1 TiB image costs no disk until written.
        try (RandomAccessFile raf = new RandomAccessFile(path.toFile(), "rw")) {
          raf.setLength(size);
        }
        channel.force(true);
        actual = size;
      } else {
        actual = channel.size();
        if (actual == 0) {
          throw new VolumeConfigException("volume '" + name + "': image file " + path
              + " is empty; a volume needs a fixed positive size");
        }
        if (size >= 0 && actual != size) {
          throw new VolumeConfigException("volume '" + name + "': image file " + path + " is "
              + actual + " bytes but the spec says size=" + size
              + "; fix the size property or use the right file");
        }
      }
      int block = 0;
      if (direct) {
        block = Math.toIntExact(Files.getFileStore(path).getBlockSize());
        if (actual % block != 0) {
          throw new VolumeConfigException("volume '" + name + "': direct I/O needs a size that is "
              + "a multiple of the file system block (" + block + " bytes), not " + actual
              + "; round the size up or open without direct=true");
        }
        channel.close();
        try {
          channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE,
              ExtendedOpenOption.DIRECT);
        } catch (UnsupportedOperationException | IOException e) {
          throw new VolumeConfigException("volume '" + name + "': the file system of " + path
              + " refuses direct I/O (" + e.getMessage() + "); open without direct=true", e);
        }
        lock = tryLock(name, path, channel);
      }
      FileVolume volume = new FileVolume(name, path, actual, trackSize, channel, lock, block);
      ok = true;
      return volume;
    } finally {
      if (!ok) {
        channel.close();
        if (create) {
          Files.deleteIfExists(path);
        }
      }
    }
  }

  private static void refuseReadOnly(String name, Path path) throws IOException {
    PosixFileAttributeView posix = Files.getFileAttributeView(path, PosixFileAttributeView.class);
    boolean readOnly = posix != null
        ? !posix.readAttributes().permissions().contains(PosixFilePermission.OWNER_WRITE)
        : !Files.isWritable(path);
    // Checked by mode bits, not by access(2): root may write anything, but an image marked
    // read-only is someone's way of saying "do not modify".
    if (readOnly) {
      Set<PosixFilePermission> perms = posix == null ? Set.of()
          : posix.readAttributes().permissions();
      throw new VolumeConfigException("volume '" + name + "': image file " + path
          + " is read-only" + (perms.isEmpty() ? "" : " (" + perms + ")")
          + "; make it writable (chmod u+w) if it may be modified");
    }
  }

  private static FileLock tryLock(String name, Path path, FileChannel channel) throws IOException {
    FileLock lock;
    try {
      lock = channel.tryLock();
    } catch (OverlappingFileLockException e) {
      lock = null;
    }
    if (lock == null) {
      throw new VolumeConfigException("volume '" + name + "': image file " + path
          + " is already open by another volume or process; close that one first");
    }
    return lock;
  }

  /** The image file. */
  public Path path() {
    return path;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public long size() {
    return size;
  }

  @Override
  public int trackSize() {
    return trackSize;
  }

  @Override
  public void read(long offset, ByteBuffer dst) throws IOException {
    checkOpen();
    checkRange(offset, dst.remaining());
    if (directBlock > 0 && !isAligned(offset, dst)) {
      readViaBounce(offset, dst);
      return;
    }
    readFully(offset, dst);
  }

  @Override
  public void write(long offset, ByteBuffer src) throws IOException {
    checkOpen();
    checkRange(offset, src.remaining());
    if (directBlock > 0) {
      writeDirect(offset, src);
      return;
    }
    writeFully(offset, src);
  }

  private void readFully(long offset, ByteBuffer dst) throws IOException {
    long pos = offset;
    while (dst.hasRemaining()) {
      int n = channel.read(dst, pos);
      if (n < 0) {
        throw new EOFException("volume '" + name + "': image file " + path
            + " is shorter than its volume size " + size + " (truncated by another program?)");
      }
      pos += n;
    }
  }

  private void writeFully(long offset, ByteBuffer src) throws IOException {
    long pos = offset;
    while (src.hasRemaining()) {
      pos += channel.write(src, pos);
    }
  }

  private boolean isAligned(long offset, ByteBuffer buf) {
    return buf.isDirect() && offset % directBlock == 0 && buf.remaining() % directBlock == 0
        && buf.alignmentOffset(buf.position(), directBlock) == 0;
  }

  /** The block-aligned span around {@code [offset, offset + length)}. */
  private ByteBuffer bounce(long alignedStart, long alignedEnd) {
    return ByteBuffer.allocateDirect((int) (alignedEnd - alignedStart) + directBlock)
        .alignedSlice(directBlock).limit((int) (alignedEnd - alignedStart));
  }

  private void readViaBounce(long offset, ByteBuffer dst) throws IOException {
    int length = dst.remaining();
    long start = offset / directBlock * directBlock;
    long end = (offset + length + directBlock - 1) / directBlock * directBlock;
    ByteBuffer b = bounce(start, end);
    readFully(start, b);
    b.limit((int) (offset - start) + length).position((int) (offset - start));
    dst.put(b);
  }

  private void writeDirect(long offset, ByteBuffer src) throws IOException {
    int length = src.remaining();
    long start = offset / directBlock * directBlock;
    long end = (offset + length + directBlock - 1) / directBlock * directBlock;
    // Lock the granules touched, so a read-modify-write never loses a neighbour's bytes.
    List<Lock> locks = new ArrayList<>();
    long firstGranule = start / LOCK_GRANULE;
    long endGranule = (end - 1) / LOCK_GRANULE + 1;
    if (endGranule - firstGranule == 1) {
      locks.add(blockLocks.get(firstGranule));
    } else {
      blockLocks.bulkGet(ContiguousSet.create(Range.closedOpen(firstGranule, endGranule),
          DiscreteDomain.longs())).forEach(locks::add);
    }
    locks.forEach(Lock::lock);
    try {
      if (isAligned(offset, src)) {
        writeFully(offset, src);
        return;
      }
      ByteBuffer b = bounce(start, end);
      boolean partialHead = offset != start;
      boolean partialTail = offset + length != end;
      if (partialHead || partialTail) {
        readFully(start, b); // a whole-span read keeps this simple; spans are small here
        b.clear().limit((int) (end - start));
      }
      b.position((int) (offset - start));
      b.put(src);
      b.clear().limit((int) (end - start));
      writeFully(start, b);
    } finally {
      for (int i = locks.size() - 1; i >= 0; i--) {
        locks.get(i).unlock();
      }
    }
  }

  @Override
  public void flush() throws IOException {
    checkOpen();
    // The length never changes after creation, so data-only sync (fdatasync) suffices.
    channel.force(false);
  }

  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    try {
      if (lock.isValid()) {
        lock.release();
      }
    } finally {
      channel.close();
    }
  }

  private void checkOpen() {
    if (closed) {
      throw new AlreadyClosedException("file volume '" + name + "' (" + path + ") is closed");
    }
  }

  private void checkRange(long offset, int length) {
    Volumes.checkRange(name, size, offset, length);
  }

  /** True if I/O bypasses the page cache (O_DIRECT). */
  public boolean isDirect() {
    return directBlock > 0;
  }

  @Override
  public String toString() {
    return "FileVolume[" + name + ", " + path + ", " + size + " bytes, track " + trackSize
        + (directBlock > 0 ? ", direct" : "") + "]";
  }
}
