package io.pairkit.core.registry;

import java.lang.System.Logger.Level;
import io.pairkit.api.error.VolumeConfigException;
import io.pairkit.api.spi.ProviderContext;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.VolumeProvider;
import io.pairkit.api.spi.VolumeSpec;
import java.io.IOException;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.TreeMap;

/**
 * The backends on the class path, by type name. Two providers of one type is an error (never a
 * random pick), and so is an unknown type; both messages say what to do.
 *
 * <p>Threading: immutable after construction; {@link #openVolume} may be called from many threads.
 * A controller built with {@code PairKit.builder().providers(...)} uses these without owning
 * them, so several controllers may share one instance; close it after they are closed.
 * {@link #close()} closes every provider once (the controller does it for providers it loaded);
 * harmless when repeated.
 */
public final class VolumeProviders implements ProviderContext, AutoCloseable {
  private static final System.Logger LOG = System.getLogger("io.pairkit.core");

  private final Map<String, VolumeProvider> byType;
  private volatile boolean closed;

  private VolumeProviders(Map<String, VolumeProvider> byType) {
    this.byType = byType;
  }

  /**
   * Loads every {@link VolumeProvider} visible to {@code loader}.
   *
   * @throws VolumeConfigException if a provider fails to load or two claim one type
   */
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

  /**
   * A fixed set of providers, for products that wire backends by hand.
   *
   * @throws VolumeConfigException if two claim one type
   */
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

  /**
   * The provider of {@code type}; still answers after {@link #close()}, but a closed provider
   * may refuse to open.
   *
   * @throws VolumeConfigException naming the volume and the known types if there is none
   */
  public VolumeProvider get(String type, String volumeName) {
    VolumeProvider p = byType.get(type);
    if (p == null) {
      throw new VolumeConfigException("volume '" + volumeName + "' asks for backend type '" + type
          + "', which no backend on the class path provides (known: " + byType.keySet()
          + "); add the backend's module as a dependency or fix the type");
    }
    return p;
  }

  /**
   * Opens a raw backend volume by spec; the caller owns it. This is also the
   * {@link ProviderContext} lent to providers, so composite volumes open their members here.
   *
   * @throws VolumeConfigException for an unknown type or a bad spec
   * @throws io.pairkit.api.error.AlreadyClosedException after {@link #close()}
   * @throws IOException if the backend fails while opening
   */
  @Override
  public Volume openVolume(VolumeSpec spec) throws IOException {
    if (closed) {
      throw new io.pairkit.api.error.AlreadyClosedException("the volume providers were closed "
          + "with their controller; build a new controller to open volume '" + spec.name() + "'");
    }
    return get(spec.type(), spec.name()).open(spec, this);
  }

  /** Known type names, sorted; still answers after {@link #close()}. */
  public Set<String> types() {
    return byType.keySet();
  }

  /** Closes every provider once; a provider that throws is logged and the others still close. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    for (VolumeProvider p : byType.values()) {
      try {
        p.close();
      } catch (Exception e) {
        LOG.log(Level.WARNING, "closing volume provider '" + p.type() + "' failed", e);
      }
    }
  }
}
