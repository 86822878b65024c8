package io.pairkit.examples;

import io.pairkit.api.CopyProgress;
import io.pairkit.api.CopyRequest;
import io.pairkit.api.Extent;
import io.pairkit.api.ExtentPair;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.HostVolume;
import io.pairkit.api.PairController;
import io.pairkit.api.VolumePair;
import io.pairkit.api.spi.VolumeSpec;
import io.pairkit.core.PairKit;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * The main demo: file volumes in a temporary folder; a volume pair created, split while a host
 * keeps writing, then only one file's extents re-synchronised; finally an extent pair that copies
 * just that file. Every claim is checked by checksum and the program exits non-zero if one fails.
 *
 * <p>Run: {@code mvn -q -DskipTests -pl examples -am package exec:java}
 */
public final class Demo {
  private static final long SIZE = 32L << 20;
  private static final int TRACK = 64 * 1024;
  /** Where our pretend file lives on the volume: unaligned, as real file extents often are. */
  private static final ExtentSet FILE = ExtentSet.of(
      Extent.of((8L << 20) + 4096, (9L << 20) + 100), Extent.of(20L << 20, (21L << 20) + 512));
  private static final Duration WAIT = Duration.ofMinutes(5);

  Demo() {
  }

  private boolean allGood = true;

  public static void main(String[] args) throws Exception {
    Path dir = Files.createTempDirectory("pairkit-demo");
    try {
      boolean ok = new Demo().run(dir);
      System.exit(ok ? 0 : 1);
    } finally {
      deleteTree(dir);
    }
  }

  /** Runs the story in {@code dir}; true if every check passed. */
  boolean run(Path dir) throws Exception {
    say("PairKit demo: file volumes in %s", dir);
    try (PairController pk = PairKit.builder()
        .trackSize(TRACK)
        .copyBytesPerSecond(64L << 20) // paced, so a mirror tail builds up under host load
        .build()) {
      HostVolume p = pk.openVolume(fileSpec("prod", dir.resolve("prod.img")));
      HostVolume s = pk.openVolume(fileSpec("copy", dir.resolve("copy.img")));
      say("1. Opened two %d MiB volumes ('prod' and 'copy'), %d KiB tracks.", SIZE >> 20,
          TRACK >> 10);
      byte[] initial = new byte[(int) SIZE];
      new Random(1).nextBytes(initial);
      p.write(0, initial);

      VolumePair pair = pk.createVolumePair("backup", p, s);
      CopyProgress formed = pair.initialCopy().await(WAIT);
      say("2. Created pair 'backup': initial copy %s -> %s", formed, pair.state());
      check("copy equals prod", sha(p, 0, SIZE), sha(s, 0, SIZE));

      AtomicBoolean stop = new AtomicBoolean();
      // The application holds its writes for the split instant (as fsfreeze does for a file
      // system), so the demo knows exactly which image the copy must show.
      ReentrantReadWriteLock quiesce = new ReentrantReadWriteLock();
      AtomicLong hostWrites = new AtomicLong();
      Thread host = new Thread(() -> {
        Random r = new Random(2);
        byte[] block = new byte[4096];
        while (!stop.get()) {
          r.nextBytes(block);
          long offset = (long) r.nextInt((int) (SIZE / 4096)) * 4096;
          if (!FILE.intersection(ExtentSet.of(offset, offset + 4096)).isEmpty()) {
            continue; // the application keeps its file still; other data keeps changing
          }
          quiesce.readLock().lock();
          try {
            p.write(offset, block);
          } finally {
            quiesce.readLock().unlock();
          }
          hostWrites.incrementAndGet();
        }
      }, "host-writer");
      host.start();
      long deadline = System.nanoTime() + Duration.ofSeconds(2).toNanos();
      while (pair.stats().pendingTracks() < 100 && System.nanoTime() < deadline) {
        Thread.onSpinWait(); // let the host get ahead of the paced mirror
      }

      CopyRequest split;
      byte[] atSplit;
      quiesce.writeLock().lock();
      try {
        atSplit = p.read(0, (int) SIZE);
        split = pair.split();
      } finally {
        quiesce.writeLock().unlock();
      }
      say("3. Split requested while the host writes (held for the instant only; state %s, %d "
          + "tracks of mirror tail to drain). The copy reads as the split image at once:",
          pair.state(), split.progress().tracksToCopy());
      check("copy (read now) equals prod at the split instant", sha(atSplit, 0, SIZE),
          sha(s, 0, SIZE));
      split.await(WAIT);
      say("   split done: %s -> %s, %d host writes so far, %d copy-on-write copies",
          split.progress(), pair.state(), hostWrites.get(), pair.stats().copyOnWriteCopies());
      check("copy equals prod at the split instant", sha(atSplit, 0, SIZE), sha(s, 0, SIZE));
      say("   prod has moved on: %s vs split image %s", sha(p, 0, SIZE), sha(atSplit, 0, SIZE));

      byte[] newVersion = new byte[(int) FILE.bytes()];
      new Random(3).nextBytes(newVersion);
      long pos = 0;
      for (Extent e : FILE.extents()) {
        p.write(e.start(), java.util.Arrays.copyOfRange(newVersion, (int) pos,
            (int) (pos + e.length())));
        pos += e.length();
      }
      say("4. The application saved a new version of its file (%d bytes in %d extents: %s).",
          FILE.bytes(), FILE.extents().size(), FILE);
      CopyRequest update;
      byte[] atUpdate;
      quiesce.writeLock().lock();
      try {
        atUpdate = p.read(0, (int) SIZE);
        update = pair.extentUpdate(FILE);
      } finally {
        quiesce.writeLock().unlock();
      }
      CopyProgress updated = update.await(WAIT);
      say("   extent update of just that file: %s (of %d changed tracks in the whole volume)",
          updated, pair.stats().changedTracks() + updated.tracksCopied());
      for (Extent e : FILE.extents()) {
        check("copy's file extent " + e + " equals prod at the update instant",
            sha(atUpdate, e.start(), e.end()), sha(s, e.start(), e.end()));
      }
      // Tracks are copied whole, so compare outside the tracks the file touches.
      Extent outside = Extent.of(0, FILE.start() / TRACK * TRACK);
      check("copy outside the file's tracks still equals the split image " + outside,
          sha(atSplit, outside.start(), outside.end()), sha(s, outside.start(), outside.end()));

      stop.set(true);
      host.join();
      CopyProgress resynced = pair.resync().await(WAIT);
      pair.mirrorDrained().get();
      say("5. Host stopped, resync: %s -> %s", resynced, pair.state());
      check("copy equals prod after resync", sha(p, 0, SIZE), sha(s, 0, SIZE));
      pair.delete();

      HostVolume fileCopy = pk.openVolume(fileSpec("file-copy", dir.resolve("file-copy.img")));
      ExtentPair filePair = pk.createExtentPair("file-only", p, fileCopy, FILE);
      CopyProgress fileCopied = filePair.initialCopy().await(WAIT);
      say("6. Extent pair over the file only: copied %d bytes for a %d MiB volume",
          fileCopied.bytesCopied(), SIZE >> 20);
      for (Extent e : FILE.extents()) {
        check("extent pair copy of " + e, sha(p, e.start(), e.end()),
            sha(fileCopy, e.start(), e.end()));
      }
      check("extent pair wrote nothing outside the file", sha(new byte[(int) SIZE], 0,
          FILE.start()), sha(fileCopy, 0, FILE.start()));
      say("   pair stats: %s", filePair.stats());
    }
    say(allGood ? "All checks passed." : "SOME CHECKS FAILED.");
    return allGood;
  }

  private static VolumeSpec fileSpec(String name, Path path) {
    return VolumeSpec.builder(name, "file")
        .property("path", path.toString())
        .property("size", SIZE)
        .property("mode", "create")
        .build();
  }

  private void check(String what, String expected, String actual) {
    boolean ok = expected.equals(actual);
    allGood &= ok;
    say("   [%s] %s (%s%s)", ok ? "ok" : "FAIL", what, actual, ok ? "" : " != " + expected);
  }

  private static String sha(HostVolume v, long from, long to) {
    return sha(v.read(from, (int) (to - from)), 0, to - from);
  }

  private static String sha(byte[] data, long from, long to) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      md.update(data, (int) from, (int) (to - from));
      return "sha256:" + HexFormat.of().formatHex(md.digest()).substring(0, 12);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void say(String format, Object... args) {
    System.out.println(String.format(format, args));
  }

  private static void deleteTree(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(f);
      }
    }
  }
}
