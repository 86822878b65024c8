package io.pairkit.core.architecture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.pairkit.core.PairKit;
import io.pairkit.core.cache.TrackCacheConfig;
import io.pairkit.core.config.ControllerConfig;
import io.pairkit.core.engine.DefaultPairController;
import io.pairkit.core.registry.VolumeProviders;
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
 * reaches back to the engine facade), the engine's top package exposes only the controller, and
 * no public type of controller-core shows a Roaring bitmap.
 */
class PackageDependenciesTest {

  @Test
  void controllerCorePackagesFormNoCycle() throws Exception {
    Map<String, Set<String>> deps = packageDependencies();
    assertTrue(deps.containsKey("io.pairkit.core.engine"), "jdeps saw the engine: " + deps);
    for (String from : deps.keySet()) {
      List<String> cycle = cycleFrom(from, from, deps, new ArrayList<>(), new TreeSet<>());
      assertTrue(cycle == null, "package cycle: " + cycle);
    }
    for (Map.Entry<String, Set<String>> e : deps.entrySet()) {
      if (e.getKey().startsWith("io.pairkit.core.engine")) {
        assertTrue(!e.getValue().contains("io.pairkit.core"),
            e.getKey() + " depends on io.pairkit.core: " + e.getValue());
      }
      if (e.getKey().startsWith("io.pairkit.core.engine.")) {
        assertTrue(!e.getValue().contains("io.pairkit.core.engine"),
            e.getKey() + " depends on the engine facade: " + e.getValue());
      }
    }
  }

  @Test
  void theEnginePackageExposesOnlyTheController() throws Exception {
    Path engine = classesDir().resolve("io/pairkit/core/engine");
    List<String> publicTypes = new ArrayList<>();
    try (Stream<Path> files = Files.list(engine)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".class")).toList()) {
        String name = f.getFileName().toString().replace(".class", "");
        Class<?> c = Class.forName("io.pairkit.core.engine." + name, false,
            getClass().getClassLoader());
        if (Modifier.isPublic(c.getModifiers()) && c.getEnclosingClass() == null) {
          publicTypes.add(c.getSimpleName());
        }
      }
    }
    assertEquals(List.of("DefaultPairController"), publicTypes);
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
