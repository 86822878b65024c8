package io.pairkit.api.release;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The release conventions the build checks: the BOM (which has no parent, so it leaks no
 * third-party versions) has the parent's version and lists every published module; the license
 * is in the tree; the libraries log through System.Logger.
 */
class BomTest {
  private static final Path ROOT = Path.of("..");

  private static String version(String pom) {
    String withoutParent = pom.replaceAll("(?s)<parent>.*?</parent>", "");
    Matcher m = Pattern.compile("<version>([^<]+)</version>").matcher(withoutParent);
    assertTrue(m.find(), "a pom without a version");
    return m.group(1);
  }

  @Test
  void theBomHasTheParentsVersion_andEveryLibraryModule() throws Exception {
    String parent = Files.readString(ROOT.resolve("pom.xml"));
    String bom = Files.readString(ROOT.resolve("bom/pom.xml"));
    assertEquals(version(parent), version(bom), "set both with mvn versions:set");
    List<String> modules = new ArrayList<>();
    Matcher m = Pattern.compile("<module>([^<]+)</module>").matcher(parent);
    while (m.find()) {
      modules.add(m.group(1));
    }
    for (String module : modules) {
      if (module.equals("bom") || module.equals("benchmarks")
          || module.equals("distribution")) {
        continue; // not libraries: the BOM, the benchmark program, the tarball
      }
      String artifact = Pattern.compile("<artifactId>([^<]+)</artifactId>").matcher(
          Files.readString(ROOT.resolve(module).resolve("pom.xml"))
              .replaceAll("(?s)<parent>.*?</parent>", "")).results().findFirst()
          .orElseThrow().group(1);
      assertTrue(bom.contains("<artifactId>" + artifact + "</artifactId>"),
          "pairkit-bom does not list " + artifact);
    }
    assertTrue(Files.readString(ROOT.resolve("LICENSE")).contains("Apache License"));
  }
  /**
   * The libraries log through System.Logger, so a product routes PairKit's log where its own goes
   * (SLF4J, Log4j, JUL) and no binding is forced on it; pairkitd, an application, may use JUL.
   */
  @Test
  void noLibraryModuleLogsThroughJavaUtilLogging() throws Exception {
    for (String module : List.of("controller-api", "controller-core", "backend-file",
        "backend-raid", "backend-s3", "nbd", "control")) {
      try (var files = Files.walk(ROOT.resolve(module).resolve("src/main/java"))) {
        for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
          assertTrue(!Files.readString(f).contains("java.util.logging"),
              f + " uses java.util.logging: use System.getLogger");
        }
      }
    }
  }
}
