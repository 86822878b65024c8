package io.pairkit.examples;

import io.pairkit.api.Extent;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.HostVolume;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.Random;
import java.util.stream.Stream;

/**
 * What the example programs share: a printed story of numbered steps and checks, each check
 * {@code [ok]} or {@code [FAIL]}, and whether all passed; checksums of volume ranges.
 */
final class Story {
  private final PrintStream out;
  private boolean allGood = true;

  Story(PrintStream out) {
    this.out = out;
  }

  void say(String format, Object... args) {
    out.println(String.format(format, args));
    out.flush();
  }

  /** A check that {@code actual} equals {@code expected}; prints it, remembers a failure. */
  boolean check(String what, Object expected, Object actual) {
    boolean ok = String.valueOf(expected).equals(String.valueOf(actual));
    allGood &= ok;
    say("   [%s] %s (%s%s)", ok ? "ok" : "FAIL", what, actual, ok ? "" : " != " + expected);
    return ok;
  }

  /** A check of a condition; {@code detail} says what was seen. */
  boolean check(String what, boolean ok, String detail) {
    allGood &= ok;
    say("   [%s] %s (%s)", ok ? "ok" : "FAIL", what, detail);
    return ok;
  }

  /** Prints the closing line; true if every check passed. */
  boolean end() {
    say(allGood ? "All checks passed." : "SOME CHECKS FAILED.");
    return allGood;
  }

  boolean allGood() {
    return allGood;
  }

  /** SHA-256 of the volume's bytes over the extents, in order (short form). */
  static String sha(HostVolume v, ExtentSet where) {
    MessageDigest md = digest();
    for (Extent e : where.extents()) {
      for (long at = e.start(); at < e.end(); at += 4 << 20) {
        md.update(v.read(at, (int) Math.min(4 << 20, e.end() - at)));
      }
    }
    return hex(md);
  }

  static String sha(byte[] data) {
    MessageDigest md = digest();
    md.update(data);
    return hex(md);
  }

  static byte[] random(long seed, int n) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  /** Writes {@code data} across the extents in order, as a file's bytes lie in its extents. */
  static void writeAcross(HostVolume v, ExtentSet where, byte[] data) {
    int pos = 0;
    for (Extent e : where.extents()) {
      v.write(e.start(), java.util.Arrays.copyOfRange(data, pos, pos + (int) e.length()));
      pos += (int) e.length();
    }
  }

  /** The whole tracks {@code extents} touch, as byte extents of a volume of {@code size}. */
  static ExtentSet tracksOf(ExtentSet extents, int track, long size) {
    java.util.List<Extent> out = new java.util.ArrayList<>();
    for (Extent t : extents.trackRanges(track)) {
      out.add(Extent.of(t.start() * track, Math.min(t.end() * track, size)));
    }
    return ExtentSet.of(out);
  }

  static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(f);
      }
    }
  }

  private static MessageDigest digest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String hex(MessageDigest md) {
    return "sha256:" + HexFormat.of().formatHex(md.digest()).substring(0, 12);
  }
}
