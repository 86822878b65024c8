package io.pairkit.backend.file;

import com.sun.nio.file.ExtendedOpenOption;
import io.pairkit.api.error.VolumeConfigException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

/**
 * Opens or creates the image file of a {@link FileVolume}: checks the spec against the file,
 * creates it sparse, takes its lock ({@link ImageLocks}), reopens it for O_DIRECT, reads its
 * volume id and probes hole punching. One sequence, because each step must undo the earlier ones
 * when a later one fails (a file it created is removed, its claim dropped) and the order matters:
 * no descriptor of the file may be closed once the lock is taken.
 *
 * <p>Threading: stateless; each call opens its own file.
 */
final class ImageOpener {
  private ImageOpener() {
  }

  /** See {@link FileVolume#open(String, Path, long, FileVolume.OpenMode, boolean, int)}. */
  static FileVolume open(String name, Path path, long size, FileVolume.OpenMode mode,
      boolean direct, int concurrency, boolean thinAllowed) throws IOException {
    Objects.requireNonNull(path, "path");
    if (concurrency < 1 || concurrency > 1024) {
      throw new VolumeConfigException("volume '" + name + "': concurrency " + concurrency
          + " must be 1..1024 (I/Os in flight that still pay off; default "
          + FileVolume.DEFAULT_CONCURRENCY + ")");
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
    Object existingKey = create ? null : ImageLocks.claim(name, path);
    boolean ok = false;
    try {
      FileVolume volume = openUnlocked(name, path, size, create, direct, concurrency, thinAllowed,
          existingKey);
      ok = true;
      return volume;
    } finally {
      if (!ok && existingKey != null) {
        ImageLocks.release(existingKey);
      }
    }
  }

  /** Opens and locks the file; for a file it creates, claims it in {@link ImageLocks} too. */
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
        key = ImageLocks.claim(name, path);
      }
      if (create) {
        // Extend sparse: setLength leaves a hole, so a 1 TiB image costs no disk until written.
        // Before the lock: closing this second descriptor would drop it.
        try (RandomAccessFile raf = new RandomAccessFile(path.toFile(), "rw")) {
          raf.setLength(size);
        }
      }
      FileLock lock = ImageLocks.tryLock(name, path, channel);
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
        lock = ImageLocks.tryLock(name, path, channel);
      }
      int fsBlock = ImageHoles.fileSystemBlock(path);
      NativeFiles nativeFiles = NativeFiles.load().orElse(null);
      // Kept open until close even on a thick volume: closing it would drop the lock.
      int fd = nativeFiles == null ? -1 : nativeFiles.openReadWrite(path);
      try {
        Optional<String> id = readVolumeId(path, fd >= 0 ? nativeFiles : null, fd);
        boolean thin = thinAllowed && fd >= 0
            && ImageHoles.probe(nativeFiles, fd, actual, fsBlock);
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
          ImageLocks.release(key);
        }
      }
    }
  }

  /**
   * See the {@link FileVolume} class comment; empty only when the file system tells no inode. The
   * tag is read (or written) through {@code fd} of {@code natives}, or left out when they are
   * null.
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
        : natives.xattr(fd, FileVolume.ID_ATTRIBUTE, UUID.randomUUID().toString());
    return Optional.of("file:" + inode + (tag == null || tag.isEmpty() ? "" : ":" + tag));
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
}
