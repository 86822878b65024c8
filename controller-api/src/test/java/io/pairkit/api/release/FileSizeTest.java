package io.pairkit.api.release;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * One job per file: a main source file of any module over {@value #LIMIT} lines must say why in
 * its class comment ("Over 500 lines: ..."), or be split. A file that grows past the limit
 * fails the build here rather than in a review.
 */
class FileSizeTest {
  private static final Path ROOT = Path.of("..");
  private static final int LIMIT = 500;
  private static final String NOTE = "Over 500 lines:";

  @Test
  void everyMainFileOverTheLimitSaysWhy() throws Exception {
    List<String> unexplained = new ArrayList<>();
    int checked = 0;
    try (Stream<Path> files = Files.walk(ROOT)) {
      for (Path f : files.filter(FileSizeTest::isMainSource).toList()) {
        checked++;
        List<String> lines = Files.readAllLines(f);
        if (lines.size() > LIMIT && lines.stream().noneMatch(l -> l.contains(NOTE))) {
          unexplained.add(ROOT.relativize(f) + ": " + lines.size() + " lines");
        }
      }
    }
    assertTrue(checked > 100, "the check found the sources (" + checked + ")");
    assertTrue(unexplained.isEmpty(), "main files over " + LIMIT + " lines without a \"" + NOTE
        + " why\" note in their class comment; split them by job, or say why not:\n"
        + String.join("\n", unexplained));
  }

  private static boolean isMainSource(Path p) {
    String s = p.toString().replace('\\', '/');
    return s.endsWith(".java") && s.contains("/src/main/java/") && !s.contains("/target/")
        && !s.contains("/.git/") && !s.contains("/node_modules/");
  }
}
