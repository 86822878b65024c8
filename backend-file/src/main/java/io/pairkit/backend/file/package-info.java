/**
 * Single-disk volumes: one raw image file per volume, type name {@code "file"}. The image holds the
 * volume's bytes at their offsets and nothing else, so other tools ({@code mkfs.ext4},
 * {@code debugfs}, {@code qemu-img}, loop devices) can use it.
 *
 * <p>Properties: {@code path} (required); {@code size} (required to create, checked when given on
 * open); {@code mode} = {@code open} (default: the file must exist), {@code create} (it must not)
 * or {@code openOrCreate}; {@code direct} = {@code true} to bypass the page cache (O_DIRECT; the
 * size must be a multiple of the file system block); {@code concurrency} = I/Os in flight the
 * engine may keep (default 8). {@code trackSize} is refused: the track size is a controller
 * setting ({@code PairKit.builder().trackSize(...)}).
 *
 * <p>Volumes are thin where the file system punches holes (Linux, through JNA on libc): discard
 * frees blocks and {@code allocated} reports the file's data extents. The image is locked while
 * open, so a second writer is refused.
 */
package io.pairkit.backend.file;
