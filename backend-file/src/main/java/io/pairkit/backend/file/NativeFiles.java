package io.pairkit.backend.file;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Platform;
import com.sun.jna.Structure;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The few Linux calls the JDK lacks for image files: {@code fallocate} to punch holes and
 * {@code lseek(SEEK_DATA/SEEK_HOLE)} to find them (thin volumes), {@code fcntl(F_GETLK)} to
 * name the process holding an image's lock, and {@code fgetxattr/fsetxattr} on a descriptor
 * already open (the JDK's extended attribute view opens and closes one of its own, which drops
 * this process's locks on the file), through JNA on libc. Where libc cannot be loaded (not
 * 64-bit Linux, no JNA native library) {@link #load()} is empty: file volumes run thick and a
 * refusal cannot name the holder.
 *
 * <p>Threading: the calls are thread-safe; an instance holds no state beyond the library.
 */
final class NativeFiles {
  // Linux values, the same on x86-64 and aarch64.
  private static final int O_RDONLY = 0;
  private static final int O_RDWR = 2;
  private static final int O_CLOEXEC = 0x80000;
  private static final int FALLOC_FL_KEEP_SIZE = 1;
  private static final int FALLOC_FL_PUNCH_HOLE = 2;
  private static final int SEEK_DATA = 3;
  private static final int SEEK_HOLE = 4;
  private static final int SEEK_SET = 0;
  /** F_GETLK; on 64-bit Linux it is the 64-bit variant (off_t is 64 bits). */
  private static final int F_GETLK = 5;
  private static final short F_WRLCK = 1;
  private static final short F_UNLCK = 2;
  private static final int EINTR = 4;
  private static final int ENXIO = 6;
  private static final int EINVAL = 22;
  private static final int ENOSYS = 38;
  private static final int ENODATA = 61;
  private static final int EEXIST = 17;
  private static final int XATTR_CREATE = 1;
  private static final int EOPNOTSUPP = 95;

  /** The libc functions used; off_t is 64 bits on the 64-bit Linux this loads on. */
  interface LibC extends Library {
    int open(String path, int flags);

    int close(int fd);

    int fallocate(int fd, int mode, long offset, long length);

    long lseek(int fd, long offset, int whence);

    int fcntl(int fd, int cmd, Flock lock);

    long fgetxattr(int fd, String name, byte[] value, long size);

    int fsetxattr(int fd, String name, byte[] value, long size, int flags);
  }

  /**
   * {@code struct flock} of 64-bit Linux (x86-64 and aarch64): two shorts, two 64-bit off_t, an
   * int pid, padded to 32 bytes (JNA adds the padding by the platform's alignment rules).
   */
  @Structure.FieldOrder({"l_type", "l_whence", "l_start", "l_len", "l_pid"})
  public static final class Flock extends Structure {
    public short l_type;
    public short l_whence;
    public long l_start;
    public long l_len;
    public int l_pid;
  }

  /** Loaded once; empty when this platform has no usable libc through JNA. */
  private static final Optional<NativeFiles> INSTANCE = tryLoad();

  private final LibC libc;

  private NativeFiles(LibC libc) {
    this.libc = libc;
  }

  private static Optional<NativeFiles> tryLoad() {
    try {
      if (!Platform.isLinux() || !Platform.is64Bit()) {
        return Optional.empty();
      }
      return Optional.of(new NativeFiles(Native.load("c", LibC.class)));
    } catch (Throwable e) { // UnsatisfiedLinkError, missing jnidispatch: run thick instead
      return Optional.empty();
    }
  }

  /** The native calls, if this platform has them. */
  static Optional<NativeFiles> load() {
    return INSTANCE;
  }

  /** Opens {@code path} read-write; returns the descriptor, or -1 if it cannot. */
  int openReadWrite(Path path) {
    return libc.open(path.toAbsolutePath().toString(), O_RDWR | O_CLOEXEC);
  }

  void close(int fd) {
    libc.close(fd);
  }

  /**
   * The process id of a holder of a POSIX record lock ({@code fcntl}, which the JDK's
   * {@code FileChannel} locks are on Linux) that keeps this process from write-locking the whole
   * of {@code path}; empty when there is none, the holder has no pid (an open file description
   * lock) or the call fails. Locks of this process never conflict, so they are not reported.
   *
   * <p>Call it only while this process holds no lock on the file: closing the descriptor it opens
   * for the question drops every POSIX lock this process holds on the file.
   */
  OptionalLong lockHolder(Path path) {
    int fd = libc.open(path.toAbsolutePath().toString(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return OptionalLong.empty();
    }
    try {
      Flock lock = new Flock();
      lock.l_type = F_WRLCK;
      lock.l_whence = SEEK_SET;
      lock.l_start = 0;
      lock.l_len = 0; // to the end of the file, however it grows: the whole file
      if (libc.fcntl(fd, F_GETLK, lock) != 0 || lock.l_type == F_UNLCK || lock.l_pid <= 0) {
        return OptionalLong.empty();
      }
      return OptionalLong.of(lock.l_pid);
    } finally {
      libc.close(fd);
    }
  }

  /**
   * The value of extended attribute {@code name} of the open file, creating it as {@code initial}
   * when it has none; null when the file system keeps no such attributes (or refuses them).
   * Values up to 255 bytes of ASCII.
   */
  String xattr(int fd, String name, String initial) {
    byte[] buf = new byte[256];
    for (int attempt = 0; attempt < 2; attempt++) {
      long n = libc.fgetxattr(fd, name, buf, buf.length);
      if (n >= 0) {
        return new String(buf, 0, (int) n, StandardCharsets.US_ASCII);
      }
      if (Native.getLastError() != ENODATA) {
        return null; // ENOTSUP, ERANGE (not ours), EACCES...
      }
      byte[] value = initial.getBytes(StandardCharsets.US_ASCII);
      if (libc.fsetxattr(fd, name, value, value.length, XATTR_CREATE) == 0) {
        return initial;
      }
      if (Native.getLastError() != EEXIST) {
        return null;
      }
      // another opener wrote it meanwhile: read theirs
    }
    return null;
  }

  /** Outcome of {@link #punchHole}. */
  enum Punch {
    DONE, UNSUPPORTED
  }

  /**
   * Frees {@code [offset, offset + length)} of the file, keeping its size; the range then reads as
   * zeros. {@link Punch#UNSUPPORTED} when the file system cannot punch holes.
   */
  Punch punchHole(int fd, long offset, long length) throws IOException {
    while (true) {
      if (libc.fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length) == 0) {
        return Punch.DONE;
      }
      int errno = Native.getLastError();
      if (errno == EINTR) {
        continue;
      }
      if (errno == EOPNOTSUPP || errno == ENOSYS) {
        return Punch.UNSUPPORTED;
      }
      throw new IOException("fallocate(PUNCH_HOLE) of [" + offset + ", " + (offset + length)
          + ") failed with errno " + errno);
    }
  }

  /**
   * The first byte of data at or after {@code offset}, or -1 when there is none before the end of
   * the file; throws {@link UnsupportedOperationException} when the file system cannot tell.
   */
  long nextData(int fd, long offset) throws IOException {
    return seek(fd, offset, SEEK_DATA);
  }

  /** The first hole at or after {@code offset} (the end of the file counts as one). */
  long nextHole(int fd, long offset) throws IOException {
    return seek(fd, offset, SEEK_HOLE);
  }

  private long seek(int fd, long offset, int whence) throws IOException {
    long r = libc.lseek(fd, offset, whence);
    if (r >= 0) {
      return r;
    }
    int errno = Native.getLastError();
    if (errno == ENXIO) {
      return -1;
    }
    if (errno == EINVAL) {
      throw new UnsupportedOperationException("lseek SEEK_DATA/SEEK_HOLE is not supported here");
    }
    throw new IOException("lseek(" + (whence == SEEK_DATA ? "SEEK_DATA" : "SEEK_HOLE") + ", "
        + offset + ") failed with errno " + errno);
  }
}
