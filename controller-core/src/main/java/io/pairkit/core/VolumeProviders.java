package io.pairkit.core;

import io.pairkit.api.error.VolumeConfigException;
import io.pairkit.api.spi.VolumeProvider;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.TreeMap;

/**
 * The backends on the class path, by type name. Two providers of one type is an error (never a
 * random pick), and so is an unknown type; both messages say what to do.
 */
public final class VolumeProviders {
  private final Map<String, VolumeProvider> byType;

  private VolumeProviders(Map<String, VolumeProvider> byType) {
    this.byType = byType;
  }

  /** Loads every {@link VolumeProvider} visible to {@code loader}. */
  public static VolumeProviders load(ClassLoader loader) {
    Map<String, VolumeProvider> found = new TreeMap<>();
    try {
      for (VolumeProvider p : ServiceLoader.load(VolumeProvider.class, loader)) {
        register(found, p);
      }
    } catch (ServiceConfigurationError e) {
      throw new VolumeConfigException("a volume backend on the class path failed to load ("
          + e.getMessage() + "); check its META-INF/services entry and dependencies", e);
    }
    return new VolumeProviders(found);
  }

  /** A fixed set of providers, for products that wire backends by hand. */
  public static VolumeProviders of(VolumeProvider... providers) {
    Map<String, VolumeProvider> found = new TreeMap<>();
    for (VolumeProvider p : providers) {
      register(found, p);
    }
    return new VolumeProviders(found);
  }

  private static void register(Map<String, VolumeProvider> found, VolumeProvider p) {
    VolumeProvider previous = found.putIfAbsent(p.type(), p);
    if (previous != null) {
      throw new VolumeConfigException("two volume backends claim type '" + p.type() + "': "
          + previous.getClass().getName() + " and " + p.getClass().getName()
          + "; remove one of the jars from the class path");
    }
  }

  /** The provider of {@code type}, or an error listing the known types. */
  public VolumeProvider get(String type, String volumeName) {
    VolumeProvider p = byType.get(type);
    if (p == null) {
      throw new VolumeConfigException("volume '" + volumeName + "' asks for backend type '" + type
          + "', which no backend on the class path provides (known: " + byType.keySet()
          + "); add the backend's module as a dependency or fix the type");
    }
    return p;
  }

  /** Known type names, sorted. */
  public java.util.Set<String> types() {
    return byType.keySet();
  }
}
