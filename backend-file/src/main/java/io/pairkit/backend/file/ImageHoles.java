package io.pairkit.backend.file;

import io.pairkit.api.Extent;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.Volumes;
import java.io.EOFException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The holes of a thin image file: discard punches out the whole file system blocks of a range
 * ({@code fallocate}) and {@code allocated} asks the file system where the data is
 * ({@code lseek SEEK_DATA/SEEK_HOLE}), through {@link NativeFiles}. Apart from the volume because
 * it exists only where the file system punches holes (probed once at open, {@link #probe}); a
 * thick volume has none and zeros and reports everything.
 *
 * <p>Threading: thread-safe; no state changes after construction, and the calls on the
 * descriptor are positional.
 */
final class ImageHoles {
  private final String name;
  private final Path path;
  private final long size;
  private final FileChannel channel;
  /** The hole-punching calls. */
  private final NativeFiles natives;
  /** The descriptor for {@link #natives}; the volume owns it (and closes it). */
  private final int fd;
  /** File system block: the unit in which holes are punched. */
  private final int fsBlock;

  ImageHoles(String name, Path path, long size, FileChannel channel, NativeFiles natives, int fd,
      int fsBlock) {
    this.name = name;
    this.path = path;
    this.size = size;
    this.channel = channel;
    this.natives = natives;
    this.fd = fd;
    this.fsBlock = fsBlock;
  }

  static int fileSystemBlock(Path path) {
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
  static boolean probe(NativeFiles nativeFiles, int fd, long size, int fsBlock) {
    try {
      return nativeFiles.punchHole(fd, alignUp(size, fsBlock), fsBlock) == NativeFiles.Punch.DONE;
    } catch (IOException e) {
      return false;
    }
  }

  private static long alignUp(long value, long unit) {
    return (value + unit - 1) / unit * unit;
  }

  /**
   * The thin {@link FileVolume#discard} of a range the caller checked: punches out the blocks
   * inside it, writes zeros over its partial edge blocks through {@code volume}.
   */
  void discard(Volume volume, long offset, long length) throws IOException {
    long end = offset + length;
    long punchStart = alignUp(offset, fsBlock);
    // Past the end of the file nothing can be lost, so a last partial block is punched whole.
    long punchEnd = end == size ? alignUp(end, fsBlock) : end / fsBlock * fsBlock;
    if (punchStart >= punchEnd) {
      Volumes.writeZeros(volume, offset, length);
      return;
    }
    long tail = Math.min(punchEnd, end);
    Volumes.writeZeros(volume, offset, punchStart - offset);
    Volumes.writeZeros(volume, tail, end - tail);
    if (natives.punchHole(fd, punchStart, punchEnd - punchStart)
        == NativeFiles.Punch.UNSUPPORTED) {
      Volumes.writeZeros(volume, punchStart, tail - punchStart);
    }
  }

  /**
   * The data extents the file system reports in {@code [offset, end)} (checked and not empty),
   * in whole file system blocks, so a superset of the bytes written.
   */
  ExtentSet allocated(long offset, long end) throws IOException {
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
        long start = natives.nextData(fd, pos);
        if (start < 0 || start >= end) {
          break; // ENXIO: no data from pos to the end of the file
        }
        long hole = natives.nextHole(fd, start);
        long stop = hole < 0 ? end : Math.min(hole, end);
        data.add(Extent.of(start, stop));
        pos = stop;
      }
    } catch (UnsupportedOperationException e) {
      return ExtentSet.of(offset, end); // the file system cannot tell: everything may hold data
    }
    return ExtentSet.of(data);
  }
}
