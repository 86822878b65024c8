package io.pairkit.backend.file;

import com.google.common.collect.ContiguousSet;
import com.google.common.collect.DiscreteDomain;
import com.google.common.collect.Range;
import com.google.common.util.concurrent.Striped;
import com.sun.nio.file.ExtendedOpenOption;
import io.pairkit.api.Extent;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.error.AlreadyClosedException;
import io.pairkit.api.error.VolumeConfigException;
import io.pairkit.api.error.VolumeInUseException;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.VolumeCapabilities;
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
 * <p>Threading: every method is safe from many threads. The file is locked
 * ({@link FileChannel#tryLock()}) while open, so a second opener, in this process or another, is
 * refused with {@link VolumeInUseException} (capability {@code fencing}). Never interrupt a thread
 * inside an I/O call: the JDK closes an interrupted {@link FileChannel}, after which this volume
 * fails every call until reopened.
 *
 * <p>Thin: on Linux file systems that punch holes (ext4, xfs, btrfs, tmpfs; probed once at open),
 * {@link #discard} frees the whole file system blocks inside the range and {@link #allocated} asks
 * the file system where its data is ({@code lseek SEEK_DATA/SEEK_HOLE}). Elsewhere the volume is
 * thick: discard writes zeros and everything counts as allocated.
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
  private final VolumeCapabilities caps;
  private final FileChannel channel;
  private final FileLock lock;
  /** O_DIRECT block size, or 0 when I/O goes through the page cache. */
  private final int directBlock;
  /** Direct-mode writes lock 64 KiB granules: one lock for a typical track-sized write. */
  private static final long LOCK_GRANULE = 64 * 1024;

  /** Default I/Os in flight: enough to keep an SSD's queue busy without flooding a disk. */
  public static final int DEFAULT_CONCURRENCY = 8;
  private static final int PREFERRED_IO = 1 << 20;

  /** Serialises read-modify-write of partial blocks in direct mode. */
  private final Striped<Lock> blockLocks;
  /** The hole-punching calls and a descriptor for them, or null when the volume is thick. */
  private final NativeFiles holes;
  private final int holesFd;
  /** File system block: the unit in which holes are punched. */
  private final int fsBlock;
  private volatile boolean closed;

  private FileVolume(String name, Path path, long size, FileChannel channel, FileLock lock,
      int directBlock, int concurrency, int fsBlock, NativeFiles holes, int holesFd) {
    this.name = name;
    this.path = path;
    this.size = size;
    this.channel = channel;
    this.lock = lock;
    this.directBlock = directBlock;
    this.blockLocks = directBlock > 0 ? Striped.lock(1024) : null;
    this.fsBlock = fsBlock;
    this.holes = holes;
    this.holesFd = holesFd;
    int alignment = directBlock > 0 ? directBlock : 1;
    this.caps = new VolumeCapabilities(alignment, Math.max(PREFERRED_IO, alignment), concurrency,
        holes != null, true, true);
  }

  /**
   * Opens or creates the image file, with I/O through the page cache.
   *
   * @param size expected size in bytes, or -1 to take the file's size (required to create)
   * @throws VolumeConfigException for a missing or existing file (as {@code mode} requires), a
   *     size mismatch or a read-only file
   * @throws VolumeInUseException if another volume or process has the file open
   * @throws IOException if the file system fails; nothing stays open then (a file this call
   *     created is removed)
   */
  public static FileVolume open(String name, Path path, long size, OpenMode mode)
      throws IOException {
    return open(name, path, size, mode, false);
  }

  /**
   * As {@link #open(String, Path, long, OpenMode)}; with {@code direct}, I/O bypasses the
   * operating system's page cache (O_DIRECT). Aligned I/O from direct buffers goes straight to the
   * device; anything else goes through an aligned bounce buffer, partial blocks by
   * read-modify-write under a per-block lock. The volume size must be a multiple of the file
   * system's block size, which becomes the volume's alignment.
   */
  public static FileVolume open(String name, Path path, long size, OpenMode mode, boolean direct)
      throws IOException {
    return open(name, path, size, mode, direct, DEFAULT_CONCURRENCY);
  }

  /**
   * As {@link #open(String, Path, long, OpenMode, boolean)}, declaring {@code concurrency} I/Os in
   * flight (1..1024) in the capabilities instead of {@link #DEFAULT_CONCURRENCY}.
   */
  public static FileVolume open(String name, Path path, long size, OpenMode mode, boolean direct,
      int concurrency) throws IOException {
    return open(name, path, size, mode, direct, concurrency, NativeFiles.load().isPresent());
  }

  /**
   * As the public overload; {@code thinAllowed = false} opens the volume thick, as on a platform
   * without the native calls (tests use it to check that path on any machine).
   */
  static FileVolume open(String name, Path path, long size, OpenMode mode, boolean direct,
      int concurrency, boolean thinAllowed) throws IOException {
    Objects.requireNonNull(path, "path");
    if (concurrency < 1 || concurrency > 1024) {
      throw new VolumeConfigException("volume '" + name + "': concurrency " + concurrency
          + " must be 1..1024 (I/Os in flight that still pay off; default "
          + DEFAULT_CONCURRENCY + ")");
    }
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
      int fsBlock = fileSystemBlock(path);
      NativeFiles nativeFiles = thinAllowed ? NativeFiles.load().orElse(null) : null;
      int fd = nativeFiles == null ? -1 : nativeFiles.openReadWrite(path);
      try {
        boolean thin = fd >= 0 && probeHolePunching(nativeFiles, fd, actual, fsBlock);
        if (fd >= 0 && !thin) {
          nativeFiles.close(fd);
          fd = -1;
        }
        FileVolume volume = new FileVolume(name, path, actual, channel, lock, block, concurrency,
            fsBlock, thin ? nativeFiles : null, fd);
        ok = true;
        return volume;
      } finally {
        if (!ok && fd >= 0) {
          nativeFiles.close(fd);
        }
      }
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

  private static int fileSystemBlock(Path path) {
    try {
      long b = Files.getFileStore(path).getBlockSize();
      return b > 0 && b <= (1 << 20) && Long.bitCount(b) == 1 ? (int) b : 4096;
    } catch (IOException | UnsupportedOperationException e) {
      return 4096; // only the punch granule; a wrong guess costs zero-writes, never data
    }
  }

  /**
   * Punches a block past the end of the file: it holds no data, so nothing can be lost, and a
   * file system without hole punching refuses it.
   */
  private static boolean probeHolePunching(NativeFiles nativeFiles, int fd, long size,
      int fsBlock) {
    try {
      return nativeFiles.punchHole(fd, alignUp(size, fsBlock), fsBlock) == NativeFiles.Punch.DONE;
    } catch (IOException e) {
      return false;
    }
  }

  private static long alignUp(long value, long unit) {
    return (value + unit - 1) / unit * unit;
  }

  private static FileLock tryLock(String name, Path path, FileChannel channel) throws IOException {
    FileLock lock;
    try {
      lock = channel.tryLock();
    } catch (OverlappingFileLockException e) {
      lock = null;
    }
    if (lock == null) {
      throw new VolumeInUseException("volume '" + name + "': image file " + path
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
  public VolumeCapabilities capabilities() {
    return caps;
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

  /**
   * Zeros {@code [offset, offset + length)}. On a thin volume, the file system blocks wholly inside
   * the range are punched out (freed) and the partial blocks at its edges are written with zeros;
   * a range that ends at the end of the volume frees its last partial block too.
   */
  @Override
  public void discard(long offset, long length) throws IOException {
    checkOpen();
    checkRange(offset, length);
    if (holes == null) {
      Volumes.writeZeros(this, offset, length);
      return;
    }
    long end = offset + length;
    long punchStart = alignUp(offset, fsBlock);
    // Past the end of the file nothing can be lost, so a last partial block is punched whole.
    long punchEnd = end == size ? alignUp(end, fsBlock) : end / fsBlock * fsBlock;
    if (punchStart >= punchEnd) {
      Volumes.writeZeros(this, offset, length);
      return;
    }
    long tail = Math.min(punchEnd, end);
    Volumes.writeZeros(this, offset, punchStart - offset);
    Volumes.writeZeros(this, tail, end - tail);
    if (holes.punchHole(holesFd, punchStart, punchEnd - punchStart)
        == NativeFiles.Punch.UNSUPPORTED) {
      Volumes.writeZeros(this, punchStart, tail - punchStart);
    }
  }

  /**
   * On a thin volume, the data extents the file system reports in the range (whole file system
   * blocks, so a superset of the bytes written); otherwise the whole range.
   */
  @Override
  public ExtentSet allocated(long offset, long length) throws IOException {
    checkOpen();
    checkRange(offset, length);
    if (length == 0) {
      return ExtentSet.empty();
    }
    long end = offset + length;
    if (holes == null) {
      return ExtentSet.of(offset, end);
    }
    List<Extent> data = new ArrayList<>();
    try {
      long pos = offset;
      while (pos < end) {
        long start = holes.nextData(holesFd, pos);
        if (start < 0 || start >= end) {
          break; // ENXIO: no data from pos to the end of the file
        }
        long hole = holes.nextHole(holesFd, start);
        long stop = hole < 0 ? end : Math.min(hole, end);
        data.add(Extent.of(start, stop));
        pos = stop;
      }
    } catch (UnsupportedOperationException e) {
      return ExtentSet.of(offset, end); // the file system cannot tell: everything may hold data
    }
    return ExtentSet.of(data);
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
      if (holes != null) {
        holes.close(holesFd);
      }
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

  private void checkRange(long offset, long length) {
    Volumes.checkRange(name, size, offset, length);
  }

  /** True if I/O bypasses the page cache (O_DIRECT). */
  public boolean isDirect() {
    return directBlock > 0;
  }

  @Override
  public String toString() {
    return "FileVolume[" + name + ", " + path + ", " + size + " bytes"
        + (directBlock > 0 ? ", direct" : "") + (holes != null ? ", thin" : "") + "]";
  }
}
