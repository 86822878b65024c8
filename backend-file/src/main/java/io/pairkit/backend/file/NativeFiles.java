package io.pairkit.backend.file;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Platform;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The few Linux calls the JDK lacks for thin image files: {@code fallocate} to punch holes and
 * {@code lseek(SEEK_DATA/SEEK_HOLE)} to find them, through JNA on libc. Where libc cannot be loaded
 * (not 64-bit Linux, no JNA native library) {@link #load()} is empty and file volumes run thick.
 *
 * <p>Threading: the calls are thread-safe; an instance holds no state beyond the library.
 */
final class NativeFiles {
  // Linux values, the same on x86-64 and aarch64.
  private static final int O_RDWR = 2;
  private static final int O_CLOEXEC = 0x80000;
  private static final int FALLOC_FL_KEEP_SIZE = 1;
  private static final int FALLOC_FL_PUNCH_HOLE = 2;
  private static final int SEEK_DATA = 3;
  private static final int SEEK_HOLE = 4;
  private static final int EINTR = 4;
  private static final int ENXIO = 6;
  private static final int EINVAL = 22;
  private static final int ENOSYS = 38;
  private static final int EOPNOTSUPP = 95;

  /** The libc functions used; off_t is 64 bits on the 64-bit Linux this loads on. */
  interface LibC extends Library {
    int open(String path, int flags);

    int close(int fd);

    int fallocate(int fd, int mode, long offset, long length);

    long lseek(int fd, long offset, int whence);
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
