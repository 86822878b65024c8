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
import java.net.InetAddress;
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
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.locks.Lock;

/**
 * A volume stored as one raw image file, accessed with positional {@link FileChannel} I/O.
 *
 * <p>Threading: every method is safe from many threads. The file is locked
 * ({@link FileChannel#tryLock()}) while open, so a second opener, in this process or another, is
 * refused with {@link VolumeInUseException} (capability {@code fencing}) that names the holder: the
 * volume in this process, or the process id and host of another process (Linux, through
 * {@code fcntl F_GETLK}). Never interrupt a thread
 * inside an I/O call: the JDK closes an interrupted {@link FileChannel}, after which this volume
 * fails every call until reopened.
 *
 * <p>Thin: on Linux file systems that punch holes (ext4, xfs, btrfs, tmpfs; probed once at open),
 * {@link #discard} frees the whole file system blocks inside the range and {@link #allocated} asks
 * the file system where its data is ({@code lseek SEEK_DATA/SEEK_HOLE}). Elsewhere the volume is
 * thick: discard writes zeros and everything counts as allocated.
 *
 * <p>{@link #volumeId}: {@code file:<device>:<inode>:<tag>}, read at open, where the tag is a
 * random UUID kept in the file's extended attribute {@code user.pairkit.volume-id} (written at the
 * first open, through the volume's own descriptor; never in the image's data). The inode tells another file from this one; the tag
 * tells a file from a later one that got the same inode number, as {@code rm} and {@code cp} of
 * another image to the same path often give (plain {@code cp} copies no extended attributes;
 * {@code cp -a} does, but the copy has another inode). Where the file system keeps no extended
 * attributes (or without the native calls) the id is {@code file:<device>:<inode>}.
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

  /**
   * The image files open in this process, by file key, with the name of the volume that holds
   * each: a second opener here is refused before it opens a descriptor, because closing any
   * descriptor of a file drops every POSIX lock this process holds on it (the first volume's too).
   */
  private static final ConcurrentMap<Object, String> OPEN_HERE = new ConcurrentHashMap<>();

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
  /** Direct-mode writes lock 64 KiB granules: one lock for a typical track-sized write. */
  private static final long LOCK_GRANULE = 64 * 1024;

  /** Default I/Os in flight: enough to keep an SSD's queue busy without flooding a disk. */
  public static final int DEFAULT_CONCURRENCY = 8;
  private static final int PREFERRED_IO = 1 << 20;

  /** Serialises read-modify-write of partial blocks in direct mode. */
  private final Striped<Lock> blockLocks;
  /** The hole-punching calls, or null when the volume is thick. */
  private final NativeFiles holes;
  /** A descriptor for the native calls, or -1; kept open until close (see {@link #OPEN_HERE}). */
  private final int holesFd;
  /** The native calls that opened {@link #holesFd}, or null. */
  private final NativeFiles natives;
  /** File system block: the unit in which holes are punched. */
  private final int fsBlock;
  private volatile boolean closed;

  private FileVolume(String name, Path path, Object fileKey, Optional<String> volumeId, long size,
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
    this.blockLocks = directBlock > 0 ? Striped.lock(1024) : null;
    this.fsBlock = fsBlock;
    this.natives = natives;
    this.holesFd = nativeFd;
    this.holes = thin ? natives : null;
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
    // Refused before a descriptor is opened: closing it would drop the holder's lock.
    Object existingKey = create ? null : claim(name, path);
    boolean ok = false;
    try {
      FileVolume volume = openUnlocked(name, path, size, create, direct, concurrency, thinAllowed,
          existingKey);
      ok = true;
      return volume;
    } finally {
      if (!ok && existingKey != null) {
        OPEN_HERE.remove(existingKey);
      }
    }
  }

  /** Opens and locks the file; for a file it creates, claims it in {@link #OPEN_HERE} too. */
  private static FileVolume openUnlocked(String name, Path path, long size, boolean create,
      boolean direct, int concurrency, boolean thinAllowed, Object existingKey)
      throws IOException {
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
    Object key = existingKey;
    try {
      if (key == null) {
        key = claim(name, path);
      }
      if (create) {
        // Extend sparse: setLength leaves a hole, so a 1 TiB image costs no disk until written.
        // Before the lock: closing this second descriptor would drop it.
        try (RandomAccessFile raf = new RandomAccessFile(path.toFile(), "rw")) {
          raf.setLength(size);
        }
      }
      FileLock lock = tryLock(name, path, channel);
      long actual;
      if (create) {
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
      NativeFiles nativeFiles = NativeFiles.load().orElse(null);
      // Kept open until close even on a thick volume: closing it would drop the lock.
      int fd = nativeFiles == null ? -1 : nativeFiles.openReadWrite(path);
      try {
        Optional<String> id = readVolumeId(path, fd >= 0 ? nativeFiles : null, fd);
        boolean thin = thinAllowed && fd >= 0
            && probeHolePunching(nativeFiles, fd, actual, fsBlock);
        FileVolume volume = new FileVolume(name, path, key, id, actual, channel, lock, block,
            concurrency, fsBlock, fd >= 0 ? nativeFiles : null, fd, thin);
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
        if (key != null && existingKey == null) {
          OPEN_HERE.remove(key);
        }
      }
    }
  }

  /**
   * Records that a volume of this process holds {@code path}, or refuses if one already does.
   * Returns the file key to release at close.
   */
  private static Object claim(String name, Path path) throws IOException {
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

  /**
   * See the class comment; empty only when the file system tells no inode. The tag is read (or
   * written) through {@code fd} of {@code natives}, or left out when they are null.
   */
  private static Optional<String> readVolumeId(Path path, NativeFiles natives, int fd) {
    String inode;
    try {
      // stat(2) by path: no descriptor is opened, so the lock stays.
      inode = Files.getAttribute(path, "unix:dev") + ":" + Files.getAttribute(path, "unix:ino");
    } catch (UnsupportedOperationException | IllegalArgumentException | IOException e) {
      return Optional.empty(); // no unix view: nothing stable to tell this file by
    }
    String tag = natives == null ? null
        : natives.xattr(fd, ID_ATTRIBUTE, UUID.randomUUID().toString());
    return Optional.of("file:" + inode + (tag == null || tag.isEmpty() ? "" : ":" + tag));
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
    // A hole is only trusted on the file the volume was opened on, whole: past the end of a file
    // truncated by another program SEEK_DATA finds nothing, and a caller that believed it would
    // copy zeros where a read fails (reads refuse a short file, so this refuses too).
    long fileSize = channel.size();
    if (fileSize < size) {
      throw new EOFException("volume '" + name + "': image file " + path + " is " + fileSize
          + " bytes, shorter than its volume size " + size + " (truncated by another program?); "
          + "its holes cannot be trusted: restore the image");
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
        OPEN_HERE.remove(fileKey, name);
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
