/**
 * Single-disk volumes: one raw image file per volume, type name {@code "file"}. The image holds the
 * volume's bytes at their offsets and nothing else, so other tools ({@code mkfs.ext4},
 * {@code debugfs}, {@code qemu-img}, loop devices) can use it.
 *
 * <p>Properties: {@code path} (required); {@code size} (required to create, checked when given on
 * open); {@code trackSize} (default 64k); {@code mode} = {@code open} (default: the file must
 * exist), {@code create} (it must not) or {@code openOrCreate}; {@code direct} = {@code true} to
 * bypass the page cache (O_DIRECT; the size must be a multiple of the file system block).
 */
package io.pairkit.backend.file;
