package io.pairkit.api.release;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every reference in the code and the docs to a project document resolves: {@code docs/X.md}
 * exists, and {@code X.md section N} names a section that X has (a {@code ## N.} heading). A
 * moved or renumbered section fails the build instead of leaving readers a dead reference.
 */
class DocReferencesTest {
  private static final Path ROOT = Path.of("..");
  private static final Pattern FILE = Pattern.compile("docs/([A-Za-z][A-Za-z0-9-]*\\.md)");
  private static final Pattern SECTION = Pattern.compile(
      "\\b([A-Za-z][A-Za-z0-9-]*\\.md),? [Ss]ections? (\\d+)");

  @Test
  void everyDocumentAndSectionReferenceResolves() throws Exception {
    List<String> broken = new ArrayList<>();
    int checked = 0;
    try (Stream<Path> files = Files.walk(ROOT)) {
      for (Path f : files.filter(DocReferencesTest::isSource).toList()) {
        String text = Files.readString(f);
        Matcher m = FILE.matcher(text);
        while (m.find()) {
          checked++;
          if (!Files.exists(ROOT.resolve("docs").resolve(m.group(1)))) {
            broken.add(f + ": docs/" + m.group(1) + " does not exist");
          }
        }
        Matcher s = SECTION.matcher(text);
        while (s.find()) {
          checked++;
          Path doc = ROOT.resolve("docs").resolve(s.group(1));
          if (!Files.exists(doc)) {
            doc = ROOT.resolve(s.group(1));
          }
          if (!Files.exists(doc)) {
            broken.add(f + ": " + s.group(1) + " does not exist");
          } else if (!Pattern.compile("(?m)^## " + s.group(2) + "[.a-z ]")
              .matcher(Files.readString(doc)).find()) {
            broken.add(f + ": " + s.group(1) + " has no section " + s.group(2));
          }
        }
      }
    }
    assertTrue(checked > 10, "the check found the references (" + checked + ")");
    assertTrue(broken.isEmpty(), String.join("\n", broken));
  }

  private static boolean isSource(Path p) {
    String s = p.toString();
    return (s.endsWith(".java") || s.endsWith(".md")) && !s.contains("/target/")
        && !s.contains("/.git/") && !s.contains("/node_modules/")
        && !s.endsWith("DocReferencesTest.java"); // its own examples are not references
  }
}
