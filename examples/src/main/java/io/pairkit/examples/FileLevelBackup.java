package io.pairkit.examples;

import io.pairkit.api.CopyProgress;
import io.pairkit.api.CopyRequest;
import io.pairkit.api.Extent;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.HostVolume;
import io.pairkit.api.VolumePair;
import io.pairkit.server.config.ConfigLoader;
import io.pairkit.server.Daemon;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The patent's own scenario on a live file system. pairkitd (in this JVM) exports a primary
 * volume and its copy over NBD; {@code nbdfuse} turns the primary's export into a file, which
 * {@code mkfs.ext4} formats and {@code mount -o loop} mounts. A program writes a database file
 * and another file there; {@code fsfreeze}, split the pair, thaw; the program keeps writing: it
 * rewrites pages of the database file in place and changes the other file. {@code filefrag -v}
 * (FIEMAP) gives the database file's physical extents, mapped to volume byte ranges, and an
 * extent update copies only those. The copy's export, mounted read-only the same way, then holds
 * the database file's new version while the other file keeps its split-time version; {@code
 * e2fsck -fn} finds the copy clean, and the update copied exactly the file's tracks that changed.
 * Then the program damages the database file on the primary; with the file system unmounted,
 * a restore of the file's extents only brings it back from the copy, copying just the tracks that
 * differ, while the other file on the primary keeps its newer content and {@code e2fsck -fn}
 * finds the primary clean.
 *
 * <p>Needs root, {@code /dev/fuse}, loop devices and the tools {@code nbdfuse} (libnbd-bin),
 * {@code mkfs.ext4}, {@code e2fsck}, {@code filefrag} (e2fsprogs), {@code fsfreeze},
 * {@code mount}, {@code umount} (util-linux); without them it says what is missing and exits 77.
 *
 * <p>Run (as root): {@code java -cp examples/target/pairctl.jar
 * io.pairkit.examples.FileLevelBackup}
 *
 * <p>Exit codes: 0 every check passed, 1 a check failed, 77 skipped (a prerequisite missing).
 */
public final class FileLevelBackup {
  static final int SKIPPED = 77;
  private static final long SIZE = 64L << 20;
  private static final int TRACK = 64 << 10;
  private static final int PAGE = 4096;
  private static final int DB_BYTES = 4 << 20;
  /** Pages of the database file rewritten after the split. */
  private static final int REWRITTEN_PAGES = 24;
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final String[] TOOLS = {"nbdfuse", "mkfs.ext4", "e2fsck", "filefrag",
      "fsfreeze", "mount", "umount", "sync"};
  private static final Pattern FRAG_BLOCK = Pattern.compile("\\((\\d+) blocks? of (\\d+) bytes\\)");
  /** {@code ext: logical_start.. logical_end: physical_start.. physical_end: length: ... flags}. */
  private static final Pattern FRAG_LINE = Pattern.compile("^\\s*\\d+:\\s+(\\d+)\\.\\.\\s*(\\d+):"
      + "\\s+(\\d+)\\.\\.\\s*(\\d+):\\s+(\\d+):.*?([a-z_,]*)\\s*$");

  private final Story story = new Story(System.out);
  /** Cleanup actions, run last-in first-out. */
  private final Deque<Cleanup> cleanups = new ArrayDeque<>();

  // What the run found, for the test.
  String skipReason;
  ExtentSet fileExtents;
  long changedTracks = -1;
  long tracksCopied = -1;
  /** The restore of db.bin: tracks that differed over its extents, and tracks it copied. */
  long damagedTracks = -1;
  long tracksRestored = -1;

  private interface Cleanup {
    void run() throws Exception;
  }

  public static void main(String[] args) throws Exception {
    Path dir = Files.createTempDirectory("pairkit-file-backup");
    int code;
    try {
      code = new FileLevelBackup().run(dir);
    } finally {
      Story.deleteTree(dir);
    }
    System.exit(code);
  }

  /** Why the scenario cannot run here, or null if it can. */
  static String missingPrerequisite() {
    if (!"root".equals(System.getProperty("user.name"))) {
      return "not root: mount, losetup and fsfreeze need root (run as root)";
    }
    if (!Files.isReadable(Path.of("/dev/fuse")) || !Files.isWritable(Path.of("/dev/fuse"))) {
      return "/dev/fuse is missing or not accessible (FUSE is needed by nbdfuse; in a container, "
          + "pass --device /dev/fuse)";
    }
    if (!Files.exists(Path.of("/dev/loop-control"))) {
      return "no loop devices (/dev/loop-control is missing; modprobe loop, or in a container, "
          + "pass the loop devices)";
    }
    for (String tool : TOOLS) {
      if (which(tool) == null) {
        String pkg = tool.equals("nbdfuse") ? "libnbd-bin" : tool.startsWith("mkfs")
            || tool.equals("e2fsck") || tool.equals("filefrag") ? "e2fsprogs" : "util-linux";
        return tool + " is not installed (Debian package " + pkg + "; .ci/run installs it)";
      }
    }
    return null;
  }

  /** Runs the scenario in {@code dir}; returns the exit code (0, 1 or {@link #SKIPPED}). */
  int run(Path dir) throws Exception {
    skipReason = missingPrerequisite();
    if (skipReason != null) {
      story.say("SKIPPED: %s", skipReason);
      return SKIPPED;
    }
    try {
      scenario(dir);
    } finally {
      while (!cleanups.isEmpty()) {
        try {
          cleanups.pop().run();
        } catch (Exception e) {
          story.say("   cleanup failed: %s", e);
        }
      }
    }
    return story.end() ? 0 : 1;
  }

  private void scenario(Path dir) throws Exception {
    Path config = dir.resolve("pairkitd.properties");
    Files.writeString(config, String.join("\n",
        "controller.metadataDirectory=" + dir.resolve("meta"),
        "controller.trackSize=" + TRACK,
        "server.nbd.port=0",
        "server.control.port=0",
        "volume.prod.type=file",
        "volume.prod.path=" + dir.resolve("prod.img"),
        "volume.prod.size=" + SIZE,
        "volume.prod.mode=create",
        "volume.copy.type=file",
        "volume.copy.path=" + dir.resolve("copy.img"),
        "volume.copy.size=" + SIZE,
        "volume.copy.mode=create", ""));
    Daemon daemon = Daemon.start(new ConfigLoader().load(config));
    cleanups.push(daemon::close);
    String nbd = "nbd://127.0.0.1:" + daemon.nbdPort() + "/";
    HostVolume prod = daemon.controller().volume("prod");
    HostVolume copy = daemon.controller().volume("copy");
    VolumePair pair = daemon.controller().createVolumePair("backup", prod, copy);
    pair.initialCopy().await(WAIT);
    story.say("FileLevelBackup: pairkitd in this JVM exports 'prod' and 'copy' (%d MiB, %d KiB "
        + "tracks) at %s; pair 'backup' is %s", SIZE >> 20, TRACK >> 10, nbd, pair.state());

    Path prodFile = nbdfuse(dir.resolve("prod.nbd"), nbd + "prod", false);
    sh(60, "mkfs.ext4", "-q", "-F", "-b", String.valueOf(PAGE), prodFile.toString());
    Path mnt = mount(prodFile, dir.resolve("prod-mnt"), "loop");
    story.say("1. nbdfuse made the export a file (%s); mkfs.ext4 on it; mounted with "
        + "mount -o loop at %s", prodFile, mnt);

    Path db = mnt.resolve("db.bin");
    Path other = mnt.resolve("other.txt");
    byte[] dbV1 = Story.random(1, DB_BYTES);
    byte[] otherV1 = "other.txt as it was at the split\n".repeat(200)
        .getBytes(StandardCharsets.UTF_8);
    writeDurably(other, otherV1);
    writeDurably(db, dbV1);
    story.say("2. The program wrote its database file db.bin (%d MiB) and other.txt (%d bytes)",
        DB_BYTES >> 20, otherV1.length);

    sh(30, "fsfreeze", "-f", mnt.toString());
    CopyRequest split;
    try {
      split = pair.split();
    } finally {
      sh(30, "fsfreeze", "-u", mnt.toString());
    }
    CopyProgress splitDone = split.await(WAIT);
    story.say("3. fsfreeze -f, split, fsfreeze -u: the copy is the file system at that instant "
        + "(%s -> %s)", splitDone, pair.state());

    byte[] dbV2 = dbV1.clone();
    Random r = new Random(2);
    TreeSet<Integer> pages = new TreeSet<>();
    while (pages.size() < REWRITTEN_PAGES) {
      pages.add(r.nextInt(DB_BYTES / PAGE));
    }
    try (FileChannel ch = FileChannel.open(db, StandardOpenOption.WRITE)) {
      for (int page : pages) {
        byte[] data = Story.random(1000 + page, PAGE);
        System.arraycopy(data, 0, dbV2, page * PAGE, PAGE);
        writeFully(ch, ByteBuffer.wrap(data), (long) page * PAGE);
      }
      ch.force(true);
    }
    // other.txt is rewritten in place too (same blocks), as a database rewrites its files.
    byte[] otherV2 = Arrays.copyOf("other.txt changed after the split\n".repeat(200)
        .getBytes(StandardCharsets.UTF_8), otherV1.length);
    try (FileChannel ch = FileChannel.open(other, StandardOpenOption.WRITE)) {
      writeFully(ch, ByteBuffer.wrap(otherV2), 0);
      ch.force(true);
    }
    story.say("4. The program keeps writing: %d pages of db.bin and all of other.txt rewritten "
        + "in place", pages.size());

    sh(30, "sync");
    FileMap map = filefrag(db);
    fileExtents = map.extents();
    ExtentSet otherExtents = filefrag(other).extents();
    story.say("5. filefrag -v (FIEMAP) of db.bin: %d extent(s) of %d-byte blocks -> volume bytes "
        + "%s", map.runs(), map.blockSize(), fileExtents);
    ExtentSet rewritten = map.volumeBytes(pages);
    long expectedTracks = rewritten.trackCount(TRACK);
    story.check("other.txt shares no track with db.bin (so only a full resync brings it)",
        Story.tracksOf(otherExtents, TRACK, SIZE).intersection(
            Story.tracksOf(fileExtents, TRACK, SIZE)).isEmpty(), "other.txt at " + otherExtents);

    CopyRequest update;
    sh(30, "fsfreeze", "-f", mnt.toString());
    try {
      changedTracks = differingTracks(prod, copy, fileExtents);
      update = pair.extentUpdate(fileExtents);
    } finally {
      sh(30, "fsfreeze", "-u", mnt.toString());
    }
    CopyProgress updated = update.await(WAIT);
    tracksCopied = updated.tracksCopied();
    story.say("6. Extent update of db.bin's extents only (frozen around the request): %s",
        updated);
    story.check("db.bin's tracks that changed are the tracks of its rewritten pages",
        expectedTracks, changedTracks);
    story.check("tracks copied equal db.bin's tracks that changed", changedTracks, tracksCopied);
    story.say("   (the volume has %d changed tracks in all, db.bin's extents cover %d tracks)",
        pair.stats().changedTracks() + tracksCopied, fileExtents.trackCount(TRACK));

    Path copyFile = nbdfuse(dir.resolve("copy.nbd"), nbd + "copy", true);
    Path copyMnt = mount(copyFile, dir.resolve("copy-mnt"), "loop,ro,noload");
    story.say("7. The copy's export, through nbdfuse --readonly, mounted with "
        + "mount -o loop,ro,noload:");
    story.check("db.bin on the copy is the new version", Story.sha(dbV2),
        Story.sha(Files.readAllBytes(copyMnt.resolve("db.bin"))));
    story.check("other.txt on the copy still holds its split-time version", Story.sha(otherV1),
        Story.sha(Files.readAllBytes(copyMnt.resolve("other.txt"))));
    story.check("db.bin on prod is the new version too", Story.sha(dbV2),
        Story.sha(Files.readAllBytes(db)));
    unmount(copyMnt);
    ProcessResult fsck = exec(120, "e2fsck", "-fn", copyFile.toString());
    story.check("e2fsck -fn on the copy is clean (exit 0)", 0, fsck.code());
    if (fsck.code() != 0) {
      story.say("%s", fsck.output());
    }

    restoreTheFile(pair, prod, copy, prodFile, mnt, db, other, dbV2, otherV2);
  }

  /**
   * The program damages db.bin on prod; only db.bin's extents are restored from the copy, with
   * the file system unmounted meanwhile (its cache would not see blocks changed beneath it),
   * while other.txt keeps its newer content.
   */
  private void restoreTheFile(VolumePair pair, HostVolume prod, HostVolume copy, Path prodFile,
      Path mnt, Path db, Path other, byte[] dbV2, byte[] otherV2) throws Exception {
    try (FileChannel ch = FileChannel.open(db, StandardOpenOption.WRITE)) {
      for (int page = 0; page < DB_BYTES / PAGE; page += 97) {
        writeFully(ch, ByteBuffer.wrap(Story.random(5000 + page, PAGE)), (long) page * PAGE);
      }
      ch.force(true);
    }
    story.say("8. The program damages db.bin on prod (%d pages overwritten with garbage)",
        (DB_BYTES / PAGE + 96) / 97);
    unmount(mnt);
    damagedTracks = differingTracks(prod, copy, fileExtents);
    CopyProgress restored = pair.restore(fileExtents).await(WAIT);
    tracksRestored = restored.tracksCopied();
    story.say("9. umount, then restore of db.bin's extents only from the copy: %s (pair %s)",
        restored, pair.state());
    story.check("tracks restored equal db.bin's tracks that differed", damagedTracks,
        tracksRestored);
    ProcessResult fsck = exec(120, "e2fsck", "-fn", prodFile.toString());
    story.check("e2fsck -fn on prod is clean after the restore (exit 0)", 0, fsck.code());
    if (fsck.code() != 0) {
      story.say("%s", fsck.output());
    }
    Path again = mount(prodFile, mnt, "loop");
    story.say("10. prod mounted again:");
    story.check("db.bin on prod is the copy's version again", Story.sha(dbV2),
        Story.sha(Files.readAllBytes(again.resolve("db.bin"))));
    story.check("other.txt on prod kept its newer content (not the copy's)", Story.sha(otherV2),
        Story.sha(Files.readAllBytes(again.resolve(other.getFileName().toString()))));
  }

  // ------------------------------------------------------------------ file system helpers

  private static void writeDurably(Path file, byte[] data) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE,
        StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
      writeFully(ch, ByteBuffer.wrap(data), 0);
      ch.force(true);
    }
  }

  private static void writeFully(FileChannel ch, ByteBuffer b, long at) throws IOException {
    long pos = at;
    while (b.hasRemaining()) {
      pos += ch.write(b, pos);
    }
  }

  /** Tracks over {@code extents} whose bytes differ between the two volumes. */
  private static long differingTracks(HostVolume a, HostVolume b, ExtentSet extents) {
    long n = 0;
    for (Extent t : Story.tracksOf(extents, TRACK, SIZE).extents()) {
      for (long at = t.start(); at < t.end(); at += TRACK) {
        int len = (int) Math.min(TRACK, t.end() - at);
        if (!Arrays.equals(a.read(at, len), b.read(at, len))) {
          n++;
        }
      }
    }
    return n;
  }

  /** A file's mapping from {@code filefrag -v}: runs of logical to physical blocks. */
  record FileMap(int blockSize, List<long[]> runsList) {
    int runs() {
      return runsList.size();
    }

    /** The volume byte ranges of the file's blocks (the file system starts at byte 0). */
    ExtentSet extents() {
      List<Extent> out = new ArrayList<>();
      for (long[] run : runsList) {
        out.add(Extent.ofLength(run[1] * blockSize, run[2] * blockSize));
      }
      return ExtentSet.of(out);
    }

    /** The volume bytes of the given file pages (each {@code PAGE} bytes). */
    ExtentSet volumeBytes(Iterable<Integer> pages) {
      List<Extent> out = new ArrayList<>();
      for (int page : pages) {
        long logical = (long) page * PAGE / blockSize;
        for (long[] run : runsList) {
          if (logical >= run[0] && logical < run[0] + run[2]) {
            out.add(Extent.ofLength((run[1] + logical - run[0]) * blockSize, PAGE));
          }
        }
      }
      return ExtentSet.of(out);
    }
  }

  /**
   * {@code filefrag -v -s} (FIEMAP after a sync). Refuses extents whose data is not where the
   * mapping says (delayed allocation, unknown, encoded, inline) and unwritten ones.
   */
  private FileMap filefrag(Path file) throws Exception {
    String out = sh(30, "filefrag", "-v", "-s", file.toString());
    Matcher b = FRAG_BLOCK.matcher(out);
    if (!b.find()) {
      throw new IOException("no block size in filefrag output: " + out);
    }
    int blockSize = Integer.parseInt(b.group(2));
    List<long[]> runs = new ArrayList<>();
    for (String line : out.split("\n")) {
      Matcher m = FRAG_LINE.matcher(line);
      if (!m.matches()) {
        continue;
      }
      String flags = m.group(6);
      for (String bad : List.of("delalloc", "unknown", "encoded", "inline", "unwritten",
          "not_aligned", "data_inline")) {
        if (flags.contains(bad)) {
          throw new IOException(file + ": extent flagged '" + bad + "', its blocks cannot be "
              + "copied by address: " + line);
        }
      }
      runs.add(new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(3)),
          Long.parseLong(m.group(5))});
    }
    if (runs.isEmpty()) {
      throw new IOException("no extents in filefrag output: " + out);
    }
    return new FileMap(blockSize, runs);
  }

  /** Mounts an export as the file {@code at} with nbdfuse (in the background) until cleanup. */
  private Path nbdfuse(Path at, String uri, boolean readOnly) throws Exception {
    Files.createFile(at);
    Path pidFile = at.resolveSibling(at.getFileName() + ".pid");
    List<String> cmd = new ArrayList<>(List.of(which("nbdfuse").toString(), "-P",
        pidFile.toString()));
    if (readOnly) {
      cmd.add("--readonly");
    }
    cmd.addAll(List.of(at.toString(), uri));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(at.resolveSibling(at.getFileName() + ".log").toFile()).start();
    cleanups.push(() -> {
      if (p.isAlive()) { // unmounting makes nbdfuse exit cleanly
        if (which("fusermount3") != null) {
          exec(30, "fusermount3", "-u", at.toString());
        } else {
          exec(30, "umount", at.toString());
        }
      }
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
    });
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!Files.exists(pidFile) || Files.size(pidFile) == 0) {
      if (!p.isAlive() || System.nanoTime() > deadline) {
        throw new IOException("nbdfuse did not start: " + String.join(" ", cmd) + ": "
            + Files.readString(at.resolveSibling(at.getFileName() + ".log")));
      }
      Thread.sleep(5); // polls the condition nbdfuse signals (its pid file)
    }
    return at;
  }

  private Path mount(Path image, Path at, String options) throws Exception {
    Files.createDirectories(at);
    sh(60, "mount", "-o", options, image.toString(), at.toString());
    cleanups.push(() -> unmount(at));
    return at;
  }

  private static void unmount(Path at) throws Exception {
    String mounts = Files.readString(Path.of("/proc/self/mounts"));
    if (mounts.contains(" " + at + " ")) {
      sh(60, "umount", at.toString());
    }
  }

  record ProcessResult(int code, String output) {
  }

  private static ProcessResult exec(int seconds, String... command) throws Exception {
    String[] resolved = command.clone();
    Path tool = which(command[0]);
    if (tool != null) {
      resolved[0] = tool.toString(); // /usr/sbin may not be on the PATH
    }
    Process p = new ProcessBuilder(resolved).redirectErrorStream(true).start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IOException(String.join(" ", command) + " did not finish in " + seconds + " s");
    }
    return new ProcessResult(p.exitValue(), new String(out, StandardCharsets.UTF_8));
  }

  /** Runs a command that must succeed; returns its output. */
  private static String sh(int seconds, String... command) throws Exception {
    ProcessResult r = exec(seconds, command);
    if (r.code() != 0) {
      throw new IOException(String.join(" ", command) + " exited " + r.code() + ": "
          + r.output());
    }
    return r.output();
  }

  private static Path which(String tool) {
    List<String> dirs = new ArrayList<>(List.of(System.getenv().getOrDefault("PATH",
        "/usr/bin:/bin").split(":")));
    dirs.addAll(List.of("/usr/sbin", "/sbin"));
    for (String d : dirs) {
      Path p = Path.of(d, tool);
      if (Files.isExecutable(p)) {
        return p;
      }
    }
    return null;
  }
}
