package io.pairkit.examples;

import io.pairkit.api.CopyProgress;
import io.pairkit.api.Extent;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.ExtentSplitPair;
import io.pairkit.api.HostVolume;
import io.pairkit.api.PairController;
import io.pairkit.api.PairState;
import io.pairkit.api.spi.VolumeSpec;
import io.pairkit.core.PairKit;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The patent's third embodiment: an extent split pair. A database file's extents are frozen on the
 * copy (a point-in-time image of just that file, for a backup to read) while every other write
 * keeps mirroring; then the extents are joined and the copy converges, copying only the file's
 * tracks that changed. File volumes in a temporary folder, through the SDK; every claim is checked
 * by checksum and the program exits non-zero if one fails.
 *
 * <p>Run: {@code java -cp examples/target/pairctl.jar io.pairkit.examples.ExtentSplit}
 */
public final class ExtentSplit {
  static final long SIZE = 32L << 20;
  static final int TRACK = 64 << 10;
  /** The database file: two extents, unaligned, as a file system would place them. */
  static final ExtentSet DB = ExtentSet.of(Extent.of((4L << 20) + 4096, (5L << 20) + 8192),
      Extent.of(12L << 20, (12L << 20) + 300_000));
  /** Other data the host keeps changing: well away from the database file's tracks. */
  static final ExtentSet OTHER = ExtentSet.of(Extent.of(20L << 20, 24L << 20));
  private static final Duration WAIT = Duration.ofMinutes(2);

  private final Story story = new Story(System.out);
  /** Tracks copied by the join, for the test. */
  long joinTracksCopied = -1;

  public static void main(String[] args) throws Exception {
    Path dir = Files.createTempDirectory("pairkit-extent-split");
    try {
      boolean ok = new ExtentSplit().run(dir);
      System.exit(ok ? 0 : 1);
    } finally {
      Story.deleteTree(dir);
    }
  }

  /** Runs the story in {@code dir}; true if every check passed. */
  boolean run(Path dir) throws Exception {
    story.say("PairKit extent split: file volumes in %s", dir);
    try (PairController pk = PairKit.builder().trackSize(TRACK).build()) {
      HostVolume prod = pk.openVolume(fileSpec("prod", dir.resolve("prod.img")));
      HostVolume copy = pk.openVolume(fileSpec("copy", dir.resolve("copy.img")));
      byte[] v1 = Story.random(1, (int) DB.bytes());
      Story.writeAcross(prod, DB, v1);
      Story.writeAcross(prod, OTHER, Story.random(10, (int) OTHER.bytes()));
      ExtentSplitPair pair = pk.createExtentSplitPair("db", prod, copy);
      CopyProgress formed = pair.initialCopy().await(WAIT);
      story.say("1. Extent split pair 'db' (prod -> copy) formed: %s, state %s", formed,
          pair.state());
      ExtentSet all = ExtentSet.of(0, SIZE);
      story.check("copy equals prod", Story.sha(prod, all), Story.sha(copy, all));

      CopyProgress split = pair.extentSplit(DB).await(WAIT);
      story.say("2. Extent split of the database file's %d extents %s: %s -> %s",
          DB.extents().size(), DB, split, pair.state());
      story.check("state is EXTENT_SPLIT", PairState.EXTENT_SPLIT.name(), pair.state().name());
      story.check("the copy's frozen extents hold version 1 of the file", Story.sha(v1),
          Story.sha(copy, DB));

      byte[] v2 = Story.random(2, (int) DB.bytes());
      Story.writeAcross(prod, DB, v2);
      byte[] other2 = Story.random(11, (int) OTHER.bytes());
      Story.writeAcross(prod, OTHER, other2);
      pair.mirrorDrained().get(WAIT.toSeconds(), TimeUnit.SECONDS);
      story.say("3. The database saved version 2 of its file, and other data (%s) changed too; "
          + "mirror drained: %s", OTHER, pair.stats());
      story.check("prod's file is version 2", Story.sha(v2), Story.sha(prod, DB));
      story.check("the copy's frozen file still holds version 1 (a backup can read it)",
          Story.sha(v1), Story.sha(copy, DB));
      story.check("the other data mirrored to the copy while the file was frozen",
          Story.sha(other2), Story.sha(copy, OTHER));
      ExtentSet outside = ExtentSet.of(0, SIZE).minus(Story.tracksOf(DB, TRACK, SIZE));
      story.check("everything outside the file's tracks is mirrored", Story.sha(prod, outside),
          Story.sha(copy, outside));

      long changed = pair.stats().changedTracks();
      CopyProgress joined = pair.extentJoin(DB).await(WAIT);
      pair.mirrorDrained().get(WAIT.toSeconds(), TimeUnit.SECONDS);
      joinTracksCopied = joined.tracksCopied();
      story.say("4. Extent join: %s -> %s (the file's tracks: %d, changed while frozen: %d)",
          joined, pair.state(), DB.trackCount(TRACK), changed);
      story.check("tracks changed while frozen: the file's tracks", DB.trackCount(TRACK), changed);
      story.check("state is FORMED", PairState.FORMED.name(), pair.state().name());
      story.check("the join copied exactly the file's tracks that changed (all of them)",
          DB.trackCount(TRACK), joined.tracksCopied());
      story.check("the copy's file is version 2", Story.sha(v2), Story.sha(copy, DB));
      story.check("copy equals prod everywhere (converged)", Story.sha(prod, all),
          Story.sha(copy, all));
      pair.delete();
    }
    return story.end();
  }

  private static VolumeSpec fileSpec(String name, Path path) {
    return VolumeSpec.builder(name, "file").property("path", path.toString())
        .property("size", SIZE).property("mode", "create").build();
  }
}
