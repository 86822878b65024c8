package io.pairkit.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * FileLevelBackup on this machine: ext4 on a pairkitd export through nbdfuse and a loop device;
 * a backup of one file by extent update, then its restore by extent from the copy.
 * Skips, printing why, without root, /dev/fuse, loop devices or the tools.
 */
class FileLevelBackupTest {
  @TempDir
  Path dir;

  @Test
  @Timeout(180)
  void anExtentUpdateOfOneFilesFiemapExtentsBackupsThatFileOnALiveFileSystem() throws Exception {
    FileLevelBackup example = new FileLevelBackup();
    int code = example.run(dir);
    if (code == FileLevelBackup.SKIPPED) {
      System.out.println("SKIPPED: " + example.skipReason);
      Assumptions.assumeTrue(false, example.skipReason);
    }
    assertEquals(0, code, "the example printed a failed check; see its output");
    assertTrue(example.fileExtents.bytes() >= 4 << 20, "db.bin's extents: "
        + example.fileExtents);
    assertTrue(example.changedTracks > 0, "the rewrite changed tracks of db.bin");
    assertEquals(example.changedTracks, example.tracksCopied);
    assertTrue(example.tracksCopied < example.fileExtents.trackCount(64 << 10),
        "only the changed tracks of the file were copied, not all of it");
    assertTrue(example.damagedTracks > 0, "the damage changed tracks of db.bin");
    assertEquals(example.damagedTracks, example.tracksRestored,
        "the restore copied exactly db.bin's tracks that differed");
    assertTrue(example.tracksRestored < example.fileExtents.trackCount(64 << 10),
        "not all of the file's tracks");
    String mounts = Files.readString(Path.of("/proc/self/mounts"));
    assertFalse(mounts.contains(dir.toString()), "nothing left mounted under " + dir + ": "
        + mounts);
  }
}
