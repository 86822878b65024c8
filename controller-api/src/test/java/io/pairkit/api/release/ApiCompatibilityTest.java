package io.pairkit.api.release;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.pairkit.api.Pair;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The API compatibility check of controller-api: its public signatures (every public or
 * protected type, constructor, method and field of the exported packages) against
 * {@code api/controller-api.api}, the record of the API as last released. A signature that is
 * gone or changed is a break: the build fails unless the CHANGELOG's Unreleased section names
 * the type, which is how a break is announced. Additions are compatible and pass.
 *
 * <p>Why not japicmp: it compares against a released artifact, and none is published yet; at
 * the first release this record is that artifact's API, and japicmp can take over. Releasing
 * rewrites the record: {@code mvn -pl controller-api test -Dtest=ApiCompatibilityTest
 * -Dpairkit.api.record=true}.
 */
class ApiCompatibilityTest {
  private static final Path ROOT = Path.of(System.getProperty("user.dir"));
  private static final Path RECORD = ROOT.resolve("api/controller-api.api");
  private static final Set<String> EXPORTED = Set.of("io.pairkit.api", "io.pairkit.api.error",
      "io.pairkit.api.spi");

  @Test
  void noSignatureOfTheReleasedApiIsGoneOrChangedUnannounced() throws Exception {
    List<String> now = signatures();
    if (Boolean.getBoolean("pairkit.api.record")) {
      Files.write(RECORD, now, StandardCharsets.UTF_8);
      return;
    }
    assertTrue(Files.isRegularFile(RECORD), RECORD + " is missing: it records the released "
        + "API; write it with -Dpairkit.api.record=true");
    Set<String> current = new TreeSet<>(now);
    List<String> broken = new ArrayList<>();
    for (String line : Files.readAllLines(RECORD, StandardCharsets.UTF_8)) {
      if (!line.isBlank() && !current.contains(line)) {
        broken.add(line);
      }
    }
    String unreleased = unreleasedChangelog();
    List<String> unannounced = new ArrayList<>();
    for (String line : broken) {
      String type = simpleTypeOf(line);
      if (!unreleased.contains(type)) {
        unannounced.add(line);
      }
    }
    if (!unannounced.isEmpty()) {
      fail("API break in controller-api, not announced: these released signatures are gone or "
          + "changed:\n  " + String.join("\n  ", unannounced) + "\nKeep them (deprecate "
          + "instead), or announce the break: name the type in CHANGELOG.md under "
          + "[Unreleased] (### Changed or ### Removed).");
    }
  }

  /** The signatures of the exported packages, one per line, sorted. */
  static List<String> signatures() throws Exception {
    Path classes = Path.of(Pair.class.getProtectionDomain().getCodeSource().getLocation()
        .toURI());
    Set<String> out = new TreeSet<>();
    try (Stream<Path> files = Files.walk(classes)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".class")).toList()) {
        String name = classes.relativize(f).toString().replace('/', '.').replace(".class", "");
        if (name.endsWith("package-info")) {
          continue;
        }
        Class<?> c = Class.forName(name, false, ApiCompatibilityTest.class.getClassLoader());
        if (!EXPORTED.contains(c.getPackageName()) || !visible(c)) {
          continue;
        }
        String type = c.getName();
        out.add(type + " : " + kind(c) + superTypes(c));
        for (Constructor<?> k : c.getDeclaredConstructors()) {
          if (visible(k.getModifiers()) && !c.isEnum()) {
            out.add(type + " : " + clean(k.toGenericString()));
          }
        }
        for (Method m : c.getDeclaredMethods()) {
          if (visible(m.getModifiers()) && !m.isSynthetic() && !m.isBridge()) {
            out.add(type + " : " + clean(m.toGenericString()));
          }
        }
        for (Field fd : c.getDeclaredFields()) {
          if (visible(fd.getModifiers()) && !fd.isSynthetic()) {
            out.add(type + " : " + clean(fd.toGenericString()));
          }
        }
      }
    }
    return new ArrayList<>(out);
  }

  private static boolean visible(Class<?> c) {
    for (Class<?> k = c; k != null; k = k.getEnclosingClass()) {
      if (!visible(k.getModifiers())) {
        return false;
      }
    }
    return true;
  }

  private static boolean visible(int modifiers) {
    return Modifier.isPublic(modifiers) || Modifier.isProtected(modifiers);
  }

  private static String kind(Class<?> c) {
    String sealed = c.isSealed() ? "sealed " : "";
    String fin = Modifier.isFinal(c.getModifiers()) && !c.isEnum() && !c.isRecord() ? "final "
        : "";
    String abs = Modifier.isAbstract(c.getModifiers()) && !c.isInterface() ? "abstract " : "";
    return sealed + fin + abs + (c.isAnnotation() ? "@interface" : c.isInterface() ? "interface"
        : c.isEnum() ? "enum" : c.isRecord() ? "record" : "class");
  }

  private static String superTypes(Class<?> c) {
    StringBuilder b = new StringBuilder();
    if (c.getGenericSuperclass() != null && c.getSuperclass() != Object.class
        && !c.isEnum() && !c.isRecord()) {
      b.append(" extends ").append(c.getGenericSuperclass().getTypeName());
    }
    for (var i : c.getGenericInterfaces()) {
      b.append(" implements ").append(i.getTypeName());
    }
    return b.toString();
  }

  /** Modifiers that do not change what callers may rely on are left out. */
  private static String clean(String signature) {
    return signature.replace("abstract ", "").replace("default ", "")
        .replace("synchronized ", "").replace("native ", "").replace("strictfp ", "")
        .replace("transient ", "").replace("volatile ", "");
  }

  private static String simpleTypeOf(String line) {
    String type = line.substring(0, line.indexOf(" : "));
    String simple = type.substring(type.lastIndexOf('.') + 1);
    return simple.contains("$") ? simple.substring(0, simple.indexOf('$')) : simple;
  }

  private static String unreleasedChangelog() throws Exception {
    String log = Files.readString(ROOT.resolve("../CHANGELOG.md"), StandardCharsets.UTF_8);
    int from = log.indexOf("## [Unreleased]");
    if (from < 0) {
      return "";
    }
    int to = log.indexOf("\n## ", from + 3);
    return to < 0 ? log.substring(from) : log.substring(from, to);
  }
}
