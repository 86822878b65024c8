package io.pairkit.backend.file;

import io.pairkit.api.ExtentSet;
import io.pairkit.api.error.AlreadyClosedException;
import io.pairkit.api.error.VolumeConfigException;
import io.pairkit.api.error.VolumeInUseException;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.VolumeCapabilities;
import io.pairkit.api.spi.Volumes;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A volume stored as one raw image file, accessed with positional {@link FileChannel} I/O.
 *
 * <p>Threading: every method is safe from many threads. The file is locked
 * ({@link FileChannel#tryLock()}) while open, so a second opener, in this process or another, is
 * refused with {@link VolumeInUseException} (capability {@code fencing}) that names the holder: the
 * volume in this process, or the process id and host of another process (Linux, through
 * {@code fcntl F_GETLK}). Never interrupt a thread inside an I/O call: the JDK closes an
 * interrupted {@link FileChannel}, after which this volume fails every call until reopened.
 *
 * <p>Thin: on Linux file systems that punch holes (ext4, xfs, btrfs, tmpfs; probed once at open),
 * {@link #discard} frees the whole file system blocks inside the range and {@link #allocated} asks
 * the file system where its data is ({@code lseek SEEK_DATA/SEEK_HOLE}). Elsewhere the volume is
 * thick: discard writes zeros and everything counts as allocated.
 *
 * <p>{@link #volumeId}: {@code file:<device>:<inode>:<tag>}, read at open, where the tag is a
 * random UUID kept in the file's extended attribute {@code user.pairkit.volume-id} (written at the
 * first open, through the volume's own descriptor; never in the image's data). The inode tells
 * another file from this one; the tag tells a file from a later one that got the same inode
 * number, as {@code rm} and {@code cp} of another image to the same path often give (plain
 * {@code cp} copies no extended attributes; {@code cp -a} does, but the copy has another inode).
 * Where the file system keeps no extended attributes (or without the native calls) the id is
 * {@code file:<device>:<inode>}.
 *
 * <p>This class checks ranges and state and leaves each job to a part: {@code ImageOpener}
 * (opening and creating the file), {@code ImageLocks} (its lock, and refusing a second opener),
 * {@code ImageIo} (positional and O_DIRECT I/O) and {@code ImageHoles} (hole punching and data
 * extents of a thin volume).
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

  /** Extended attribute that holds the image's random tag. */
  static final String ID_ATTRIBUTE = "user.pairkit.volume-id";

  private final String name;
  private final Path path;
  private final Object fileKey;
  private final Optional<String> volumeId;
  private final long size;
  private final VolumeCapabilities caps;
  private final FileChannel channel;
  private final FileLock lock;
  /** O_DIRECT block size, or 0 when I/O goes through the page cache. */
  private final int directBlock;

  /** Default I/Os in flight: enough to keep an SSD's queue busy without flooding a disk. */
  public static final int DEFAULT_CONCURRENCY = 8;
  private static final int PREFERRED_IO = 1 << 20;

  /** Reads and writes of the image, aligned for O_DIRECT where needed. */
  private final ImageIo io;
  /** The hole-punching calls, or null when the volume is thick. */
  private final ImageHoles holes;
  /** A descriptor for the native calls, or -1; kept open until close (see {@code ImageLocks}). */
  private final int holesFd;
  /** The native calls that opened {@link #holesFd}, or null. */
  private final NativeFiles natives;
  private volatile boolean closed;

  /** Made by {@code ImageOpener} once the file is open and locked. */
  FileVolume(String name, Path path, Object fileKey, Optional<String> volumeId, long size,
      FileChannel channel, FileLock lock, int directBlock, int concurrency, int fsBlock,
      NativeFiles natives, int nativeFd, boolean thin) {
    this.name = name;
    this.path = path;
    this.fileKey = fileKey;
    this.volumeId = volumeId;
    this.size = size;
    this.channel = channel;
    this.lock = lock;
    this.directBlock = directBlock;
    this.io = new ImageIo(name, path, size, channel, directBlock);
    this.natives = natives;
    this.holesFd = nativeFd;
    this.holes = thin ? new ImageHoles(name, path, size, channel, natives, nativeFd, fsBlock)
        : null;
    int alignment = directBlock > 0 ? directBlock : 1;
    int preferred = directBlock > 0 ? deviceRequestSize(path) : PREFERRED_IO;
    this.caps = new VolumeCapabilities(alignment, Math.max(preferred, alignment), concurrency,
        holes != null, true, true);
  }

  /** Largest direct I/O size a volume prefers, whatever its device takes. */
  private static final int MAX_DIRECT_IO = 4 << 20;

  /**
   * The I/O size for direct I/O on the block device under {@code path}: its largest request
   * ({@code /sys/dev/block/MAJOR:MINOR/queue/max_sectors_kb}, the partition's disk for a
   * partition), as a power of two from 1 MiB to 4 MiB; 1 MiB when the device does not say.
   * Measured on a virtio disk that takes 4 MiB requests: an O_DIRECT copy in 4 MiB I/Os ran at
   * 1.1-1.4 GB/s against 0.76-0.95 GB/s in 1 MiB I/Os (docs/BENCHMARKS.md, initial copy).
   */
  static int deviceRequestSize(Path path) {
    try {
      long dev = ((Number) Files.getAttribute(path, "unix:dev")).longValue();
      long major = ((dev >>> 8) & 0xfff) | ((dev >>> 32) & ~0xfffL);
      long minor = (dev & 0xff) | ((dev >>> 12) & ~0xffL);
      Path sys = Path.of("/sys/dev/block/" + major + ":" + minor);
      Path limit = sys.resolve("queue/max_sectors_kb");
      if (!Files.exists(limit)) { // a partition: the limit is its disk's
        limit = sys.toRealPath().getParent().resolve("queue/max_sectors_kb");
      }
      long kib = Long.parseLong(Files.readString(limit).trim());
      long bytes = Long.highestOneBit(Math.max(1, kib) * 1024);
      return (int) Math.max(PREFERRED_IO, Math.min(MAX_DIRECT_IO, bytes));
    } catch (IOException | RuntimeException e) {
      return PREFERRED_IO; // not Linux, no sysfs, a network file system: the default
    }
  }

  /**
   * Opens or creates the image file, with I/O through the page cache.
   *
   * @param size expected size in bytes, or -1 to take the file's size (required to create)
   * @throws VolumeConfigException for a missing or existing file (as {@code mode} requires), a
   *     size mismatch or a read-only file
   * @throws VolumeInUseException if another volume or process has the file open; the message
   *     names the holder where it can
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

  static FileVolume open(String name, Path path, long size, OpenMode mode, boolean direct,
      int concurrency, boolean thinAllowed) throws IOException {
    return ImageOpener.open(name, path, size, mode, direct, concurrency, thinAllowed);
  }

  /** This machine's host name, for messages that name a lock's holder. */
  static String hostName() {
    return ImageLocks.hostName();
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

  /** {@code file:<device>:<inode>[:<tag>]}, read at open; see the class comment. */
  @Override
  public Optional<String> volumeId() {
    return volumeId;
  }

  @Override
  public void read(long offset, ByteBuffer dst) throws IOException {
    checkOpen();
    checkRange(offset, dst.remaining());
    io.read(offset, dst);
  }

  @Override
  public void write(long offset, ByteBuffer src) throws IOException {
    checkOpen();
    checkRange(offset, src.remaining());
    io.write(offset, src);
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
    holes.discard(this, offset, length);
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
    return holes.allocated(offset, end);
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
      if (natives != null) {
        natives.close(holesFd);
      }
    } finally {
      try {
        channel.close();
      } finally {
        ImageLocks.release(fileKey, name);
      }
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
