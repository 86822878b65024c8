package io.pairkit.core.architecture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.pairkit.core.PairKit;
import io.pairkit.core.cache.TrackCacheConfig;
import io.pairkit.core.config.ControllerConfig;
import io.pairkit.core.internal.engine.DefaultPairController;
import io.pairkit.core.registry.VolumeProviders;
import io.pairkit.core.testing.ObservedController;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.spi.ToolProvider;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The engine's structure, as the README's layout describes it: the packages of controller-core
 * form no cycle (the engine never reaches back to {@code io.pairkit.core}, a mechanism never
 * reaches back to the engine facade), every package is exported or under
 * {@code io.pairkit.core.internal}, the exported ones hold exactly the API's types and show no
 * internal type, the engine's top package exposes only the controller, and no public type of
 * controller-core shows a Roaring bitmap.
 */
class PackageDependenciesTest {

  @Test
  void controllerCorePackagesFormNoCycle() throws Exception {
    Map<String, Set<String>> deps = packageDependencies();
    assertTrue(deps.containsKey("io.pairkit.core.internal.engine"),
        "jdeps saw the engine: " + deps);
    for (String from : deps.keySet()) {
      List<String> cycle = cycleFrom(from, from, deps, new ArrayList<>(), new TreeSet<>());
      assertTrue(cycle == null, "package cycle: " + cycle);
    }
    for (Map.Entry<String, Set<String>> e : deps.entrySet()) {
      if (e.getKey().startsWith("io.pairkit.core.internal.engine")) {
        assertTrue(!e.getValue().contains("io.pairkit.core"),
            e.getKey() + " depends on io.pairkit.core: " + e.getValue());
      }
      if (e.getKey().startsWith("io.pairkit.core.internal.engine.")) {
        assertTrue(!e.getValue().contains("io.pairkit.core.internal.engine"),
            e.getKey() + " depends on the engine facade: " + e.getValue());
      }
    }
  }

  @Test
  void theEnginePackageExposesOnlyTheController() throws Exception {
    Path engine = classesDir().resolve("io/pairkit/core/internal/engine");
    List<String> publicTypes = new ArrayList<>();
    try (Stream<Path> files = Files.list(engine)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".class")).toList()) {
        String name = f.getFileName().toString().replace(".class", "");
        Class<?> c = Class.forName("io.pairkit.core.internal.engine." + name, false,
            getClass().getClassLoader());
        if (Modifier.isPublic(c.getModifiers()) && c.getEnclosingClass() == null) {
          publicTypes.add(c.getSimpleName());
        }
      }
    }
    assertEquals(List.of("DefaultPairController"), publicTypes);
  }

  /** The packages a product may use; everything else lives under io.pairkit.core.internal. */
  private static final Map<String, Set<String>> EXPORTED = Map.of(
      "io.pairkit.core", Set.of("PairKit"),
      "io.pairkit.core.config", Set.of("ControllerConfig"),
      "io.pairkit.core.cache", Set.of("TrackCacheConfig"),
      "io.pairkit.core.registry", Set.of("VolumeProviders"),
      "io.pairkit.core.testing", Set.of("ObservedController"));

  /**
   * Every package is exported or internal, and an exported package holds exactly the public
   * types listed above: a new public type there is an API decision, made by adding it here (and
   * to the CHANGELOG), not by accident. Types an internal package makes public for the engine's
   * other packages are out of a product's reach by name.
   */
  @Test
  void everyPackageIsExportedOrInternal_andExportedOnesHoldOnlyTheApi() throws Exception {
    Map<String, Set<String>> found = new TreeMap<>();
    Path root = classesDir();
    try (Stream<Path> files = Files.walk(root)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".class")
          && !p.getFileName().toString().contains("$")).toList()) {
        String name = root.relativize(f).toString().replace('/', '.').replace(".class", "");
        if (name.endsWith("package-info")) {
          continue;
        }
        Class<?> c = Class.forName(name, false, getClass().getClassLoader());
        String pkg = c.getPackageName();
        assertTrue(EXPORTED.containsKey(pkg) || pkg.startsWith("io.pairkit.core.internal."),
            c.getName() + " is in package " + pkg + ", neither exported nor internal: move it "
                + "under io.pairkit.core.internal, or export the package here");
        if (EXPORTED.containsKey(pkg) && Modifier.isPublic(c.getModifiers())) {
          found.computeIfAbsent(pkg, k -> new TreeSet<>()).add(c.getSimpleName());
        }
      }
    }
    assertEquals(new TreeMap<>(EXPORTED), found, "public types of the exported packages");
  }

  /** No exported signature shows an internal type: the API never hands one out. */
  @Test
  void noExportedSignatureShowsAnInternalType() {
    for (Class<?> c : List.of(PairKit.class, PairKit.Builder.class, ControllerConfig.class,
        VolumeProviders.class, TrackCacheConfig.class, ObservedController.class)) {
      for (Method m : c.getMethods()) {
        assertTrue(!m.toGenericString().contains(".internal."), c.getSimpleName() + ": "
            + m.toGenericString());
      }
      for (var k : c.getConstructors()) {
        assertTrue(!k.toGenericString().contains(".internal."), c.getSimpleName() + ": "
            + k.toGenericString());
      }
    }
  }

  @Test
  void noPublicTypeOfTheEntryPackagesShowsARoaringBitmap() {
    for (Class<?> c : List.of(PairKit.class, PairKit.Builder.class, ControllerConfig.class,
        VolumeProviders.class, TrackCacheConfig.class, DefaultPairController.class)) {
      for (Method m : c.getMethods()) {
        String signature = m.toGenericString();
        assertTrue(!signature.contains("roaringbitmap"), c.getSimpleName() + ": " + signature);
      }
    }
  }

  private static List<String> cycleFrom(String start, String at, Map<String, Set<String>> deps,
      List<String> path, Set<String> seen) {
    path.add(at);
    for (String next : deps.getOrDefault(at, Set.of())) {
      if (next.equals(start)) {
        List<String> cycle = new ArrayList<>(path);
        cycle.add(start);
        return cycle;
      }
      if (seen.add(next)) {
        List<String> found = cycleFrom(start, next, deps, path, seen);
        if (found != null) {
          return found;
        }
      }
    }
    path.remove(path.size() - 1);
    return null;
  }

  /** Package to packages it uses, within io.pairkit.core, from jdeps over the main classes. */
  private static Map<String, Set<String>> packageDependencies() throws Exception {
    ToolProvider jdeps = ToolProvider.findFirst("jdeps").orElse(null);
    assumeTrue(jdeps != null, "jdeps is not in this JDK; the package check needs it");
    StringWriter out = new StringWriter();
    int rc = jdeps.run(new PrintWriter(out), new PrintWriter(new StringWriter()),
        "-verbose:package", "-filter:none", classesDir().toString());
    assertEquals(0, rc, out.toString());
    Map<String, Set<String>> deps = new TreeMap<>();
    for (String line : out.toString().split("\n")) {
      String[] parts = line.trim().split("\\s+");
      if (parts.length >= 3 && parts[1].equals("->") && parts[0].startsWith("io.pairkit.core")
          && parts[2].startsWith("io.pairkit.core") && !parts[0].equals(parts[2])) {
        deps.computeIfAbsent(parts[0], k -> new TreeSet<>()).add(parts[2]);
      }
    }
    return deps;
  }

  private static Path classesDir() throws URISyntaxException {
    return Path.of(PairKit.class.getProtectionDomain().getCodeSource().getLocation().toURI());
  }
}
