package io.pairkit.core.internal.engine;

import static io.pairkit.core.internal.engine.Rig.WAIT;
import static io.pairkit.core.internal.engine.Rig.random;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.ExtentSet;
import io.pairkit.api.ExtentSplitPair;
import io.pairkit.api.HostVolume;
import io.pairkit.api.PairController;
import io.pairkit.api.RecoveryReport;
import io.pairkit.api.VolumePair;
import io.pairkit.api.error.MetadataException;
import io.pairkit.api.spi.VolumeSpec;
import io.pairkit.core.PairKit;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Damaged metadata: each case either refuses to open with a {@link MetadataException} that names
 * the file and the way out, or recovers and says what it left out in the
 * {@link RecoveryReport}. Never silent acceptance of a wrong state.
 *
 * <p>The damaged directory is an unclean stop: its files are copied while the controller is open
 * (the directory lock is per process, so a crash is simulated by copying), then put back after
 * the close. It holds a split volume pair with changed tracks, an extent-split pair with a frozen
 * extent and an extent pair, all on one primary, with their records in a journal after a
 * checkpoint.
 */
@Timeout(60)
class MetadataCorruptionTest {
  private static final int TS = 4096;
  private static final long SIZE = 64L * TS;

  @TempDir
  Path dir;
  private Path meta;
  private Path unclean;

  /** Write-intent regions of 4 tracks, so the changed tracks a dirty region implies are few. */
  private PairController open() {
    return PairKit.builder().trackSize(TS).metadataDirectory(meta)
        .writeIntentRegionSize(4L * TS).build();
  }

  private VolumeSpec spec(String name) {
    return VolumeSpec.builder(name, "file").property("path", dir.resolve(name + ".img").toString())
        .property("size", SIZE).property("mode", "openOrCreate").build();
  }

  @BeforeEach
  void makeUncleanDirectory() throws Exception {
    meta = dir.resolve("meta");
    unclean = dir.resolve("unclean");
    try (PairController pk = open()) {
      HostVolume p = pk.openVolume(spec("p"));
      p.write(0, random(1, (int) SIZE));
      pk.openVolume(spec("other")).write(0, random(9, (int) SIZE));
      VolumePair vp = pk.createVolumePair("vp", p, pk.openVolume(spec("s1")));
      vp.initialCopy().await(WAIT);
      vp.split().await(WAIT);
      ExtentSplitPair xs = pk.createExtentSplitPair("xs", p, pk.openVolume(spec("s2")));
      xs.initialCopy().await(WAIT);
      xs.extentSplit(ExtentSet.of(0, 16L * TS)).await(WAIT);
      pk.createExtentPair("ep", p, pk.openVolume(spec("s3")), ExtentSet.of(32L * TS, 48L * TS))
          .initialCopy().await(WAIT);
      p.write(4L * TS, random(2, 3 * TS)); // changed on vp and xs
      p.write(40L * TS, random(3, TS)); // changed on vp, mirrored on xs and ep
      copy(meta, unclean);
    }
    restore();
  }

  private void restore() throws IOException {
    delete(meta);
    copy(unclean, meta);
  }

  private static void copy(Path from, Path to) throws IOException {
    Files.createDirectories(to);
    try (Stream<Path> files = Files.list(from)) {
      for (Path f : files.toList()) {
        Files.copy(f, to.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
      }
    }
  }

  private static void delete(Path d) throws IOException {
    try (Stream<Path> files = Files.walk(d)) {
      for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(f);
      }
    }
  }

  private Path only(String prefix) throws IOException {
    try (Stream<Path> files = Files.list(meta)) {
      List<Path> found = files.filter(f -> f.getFileName().toString().startsWith(prefix)
          && f.getFileName().toString().endsWith(".pkm")).toList();
      assertEquals(1, found.size(), prefix + " files: " + found);
      return found.get(0);
    }
  }

  /** Where each record of a metadata file starts, and the file's end. */
  private static List<Integer> boundaries(byte[] file) {
    List<Integer> out = new ArrayList<>();
    ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
    int at = 0;
    while (at < file.length) {
      out.add(at);
      at += 8 + b.getInt(at);
    }
    out.add(at);
    return out;
  }

  private static void flip(Path file, int at) throws IOException {
    byte[] b = Files.readAllBytes(file);
    b[at] ^= 0x5a;
    Files.write(file, b);
  }

  private static void truncate(Path file, int length) throws IOException {
    byte[] b = Files.readAllBytes(file);
    Files.write(file, java.util.Arrays.copyOf(b, length));
  }

  private MetadataException refused(String... mentions) {
    MetadataException e = assertThrows(MetadataException.class, this::open);
    for (String m : mentions) {
      assertTrue(e.getMessage().contains(m), "'" + m + "' in: " + e.getMessage());
    }
    return e;
  }

  private RecoveryReport reportOf() {
    try (PairController pk = open()) {
      return pk.recoveryReport();
    }
  }

  @Test
  void theUndamagedUncleanDirectoryRecoversEveryPair() {
    RecoveryReport r = reportOf();
    assertFalse(r.cleanStop(), r.toString());
    assertTrue(r.journalRecords() > 0, r.toString());
    assertEquals(0, r.discardedTailBytes(), r.toString());
    assertEquals(List.of("vp", "xs", "ep"),
        r.pairs().stream().map(RecoveryReport.PairRecovery::pairId).toList());
    // Tracks 4-6 and 40 were written after the splits; their regions, 4-7 and 40-43, were left
    // dirty, so every split track there counts as changed: 8 on vp, 4-7 on xs (40 is mirrored
    // there and counts as pending).
    assertEquals(8, r.pairs().get(0).changedTracks(), r.toString());
    assertEquals(4, r.pairs().get(1).changedTracks(), r.toString());
  }

  @Test
  void aTornJournalTailIsLeftOutAndReportedAndTheRestRecovers() throws Exception {
    Path journal = only("journal-");
    List<Integer> at = boundaries(Files.readAllBytes(journal));
    int lastStart = at.get(at.size() - 2);
    truncate(journal, lastStart); // a crash between two appends
    List<RecoveryReport.PairRecovery> expected = reportOf().pairs();
    restore();
    truncate(journal, lastStart + 11); // a crash in the middle of the last append
    RecoveryReport r = reportOf();
    assertEquals(11, r.discardedTailBytes(), r.toString());
    assertTrue(r.discardedBecause().contains("torn"), r.discardedBecause());
    assertEquals(expected, r.pairs());
  }

  @Test
  void aFlippedByteInTheLastJournalRecordIsIndistinguishableFromATornTailAndReported()
      throws Exception {
    Path journal = only("journal-");
    List<Integer> at = boundaries(Files.readAllBytes(journal));
    int lastStart = at.get(at.size() - 2);
    flip(journal, lastStart + 9);
    RecoveryReport r = reportOf();
    assertEquals(at.get(at.size() - 1) - lastStart, r.discardedTailBytes(), r.toString());
    assertTrue(r.discardedBecause().contains("checksum mismatch at byte " + lastStart),
        r.discardedBecause());
  }

  @Test
  void aFlippedByteInTheMiddleOfTheJournalIsRefused() throws Exception {
    Path journal = only("journal-");
    List<Integer> at = boundaries(Files.readAllBytes(journal));
    assertTrue(at.size() > 4, "records: " + at);
    flip(journal, at.get(2) + 10);
    refused(journal.getFileName().toString(), "damaged in the middle",
        "restore the directory from a backup");
  }

  @Test
  void damageInsideTheLastUnsyncedBatchIsATornTailEvenWithWholeRecordsAfterIt()
      throws Exception {
    // A power failure may persist the pages of the last batch out of order: a hole, then whole
    // records. Nothing in that batch was synced, so it recovers as a torn tail.
    Path journal = only("journal-");
    byte[] bytes = Files.readAllBytes(journal);
    List<Integer> at = boundaries(bytes);
    List<Integer> markers = new java.util.ArrayList<>();
    for (int i = 0; i < at.size() - 1; i++) {
      if ((bytes[at.get(i) + 8] & 0xff) == 12) { // a SYNCED marker starts a batch
        markers.add(i);
      }
    }
    // Cut the journal before its last marker, so the batch before it is the unsynced last one;
    // pick a marker whose batch has at least three records.
    int cutAt = -1;
    int damaged = -1;
    for (int m = markers.size() - 1; m >= 1; m--) {
      int batchStart = markers.get(m - 1);
      if (markers.get(m) - batchStart >= 4) {
        cutAt = at.get(markers.get(m));
        damaged = at.get(batchStart + 2);
        break;
      }
    }
    assertTrue(cutAt > 0, "the run wrote a batch of several records: " + at);
    truncate(journal, cutAt);
    flip(journal, damaged + 10);
    RecoveryReport r = reportOf();
    assertEquals(cutAt - damaged, r.discardedTailBytes(), r.toString());
    assertTrue(r.discardedBecause().contains("checksum mismatch at byte " + damaged),
        r.discardedBecause());
  }

  @Test
  void aFlippedByteInTheJournalHeaderIsRefused() throws Exception {
    Path journal = only("journal-");
    flip(journal, 10);
    refused(journal.getFileName().toString(), "damaged in the middle");
  }

  @Test
  void aFlippedByteInTheCheckpointIsRefused() throws Exception {
    Path checkpoint = only("checkpoint-");
    List<Integer> at = boundaries(Files.readAllBytes(checkpoint));
    flip(checkpoint, at.get(1) + 20); // inside the first pair
    refused(checkpoint.getFileName().toString(), "checksum mismatch",
        "restore the directory from a backup");
  }

  @Test
  void aTruncatedCheckpointIsRefused() throws Exception {
    Path checkpoint = only("checkpoint-");
    List<Integer> at = boundaries(Files.readAllBytes(checkpoint));
    truncate(checkpoint, at.get(at.size() - 2)); // its end record gone
    refused(checkpoint.getFileName().toString(), "no end record");
  }

  @Test
  void aMissingCheckpointIsRefused() throws Exception {
    Files.delete(only("checkpoint-"));
    refused("journal files but no checkpoint", "restore the directory from a backup");
  }

  @Test
  void aStaleCheckpointBeforeANewerJournalIsRefused() throws Exception {
    Path stale = dir.resolve("stale");
    copy(meta, stale);
    Path newer = dir.resolve("newer");
    try (PairController pk = open()) { // recovery starts the next generation
      pk.volume("p").write(50L * TS, random(4, TS)); // records in the new journal
      copy(meta, newer);
    }
    delete(meta);
    copy(newer, meta);
    String newCheckpoint = only("checkpoint-").getFileName().toString();
    Files.delete(meta.resolve(newCheckpoint));
    try (Stream<Path> files = Files.list(stale)) {
      for (Path f : files.filter(f -> f.getFileName().toString().startsWith("checkpoint-"))
          .toList()) {
        Files.copy(f, meta.resolve(f.getFileName()));
      }
    }
    refused("is newer than the newest checkpoint", "restore the directory from a backup");
  }

  @Test
  void aCheckpointOfAnotherFormatVersionIsRefusedNamingBoth() throws Exception {
    Path checkpoint = only("checkpoint-");
    byte[] b = Files.readAllBytes(checkpoint);
    ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    int length = bb.getInt(0);
    b[9] = 0; // the payload's version, a big-endian i32 after the type byte: 3 -> 7
    b[12] = 7;
    CRC32C crc = new CRC32C();
    crc.update(b, 8, length);
    bb.putInt(4, (int) crc.getValue());
    Files.write(checkpoint, b);
    refused(checkpoint.getFileName().toString(), "format version 7",
        "reads versions 1 to " + io.pairkit.core.internal.metadata.MetadataStore.FORMAT_VERSION,
        "written by a newer PairKit");
  }

  @Test
  void aSecondaryImageSwappedForAnotherIsRefusedByName() throws Exception {
    Files.move(dir.resolve("other.img"), dir.resolve("s2.img"),
        StandardCopyOption.REPLACE_EXISTING);
    refused("'s2'", "'xs'", "not the image");
  }

  @Test
  void primaryAndSecondaryImagesSwappedAreRefused() throws Exception {
    Files.move(dir.resolve("p.img"), dir.resolve("tmp.img"));
    Files.move(dir.resolve("s1.img"), dir.resolve("p.img"));
    Files.move(dir.resolve("tmp.img"), dir.resolve("s1.img"));
    refused("not the image");
  }

  @Test
  void aCopiedImageIsRefused() throws Exception {
    Path s3 = dir.resolve("s3.img");
    Files.copy(s3, dir.resolve("copy.img"));
    Files.move(dir.resolve("copy.img"), s3, StandardCopyOption.REPLACE_EXISTING);
    refused("'s3'", "'ep'", "not the image");
  }
}
