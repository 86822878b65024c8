package io.pairkit.backend.file;

import io.pairkit.api.error.VolumeConfigException;
import io.pairkit.api.spi.ProviderContext;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.VolumeProvider;
import io.pairkit.api.spi.VolumeSpec;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Opens {@code "file"} volumes; see the package documentation for the properties. Stateless and
 * thread-safe; its volumes share nothing, so {@link #close()} has nothing to release.
 */
public final class FileVolumeProvider implements VolumeProvider {
  /** The backend type name. */
  public static final String TYPE = "file";

  /** {@code trackSize} is known so that its own message explains it belongs to the controller. */
  @Override
  public java.util.Set<String> knownProperties() {
    return java.util.Set.of("path", "size", "mode", "direct", "concurrency", "trackSize");
  }

  @Override
  public String type() {
    return TYPE;
  }

  /** Once the image exists, {@code mode=create} or {@code openOrCreate} becomes {@code open}. */
  @Override
  public VolumeSpec reopenSpec(VolumeSpec opened) {
    return VolumeSpec.builder(opened.name(), opened.type()).properties(opened.properties())
        .property("mode", "open").build();
  }

  @Override
  public Volume open(VolumeSpec spec, ProviderContext context) throws IOException {
    if (spec.property("trackSize").isPresent()) {
      throw new VolumeConfigException("volume '" + spec.name() + "' sets property 'trackSize', "
          + "but the track size is now a controller setting, not a backend one: remove it from "
          + "the volume spec and set PairKit.builder().trackSize(...) instead");
    }
    Path path = Path.of(spec.requireProperty("path"));
    String mode = spec.property("mode").orElse("open").trim().toLowerCase(Locale.ROOT);
    FileVolume.OpenMode openMode = switch (mode) {
      case "open" -> FileVolume.OpenMode.OPEN;
      case "create" -> FileVolume.OpenMode.CREATE;
      case "openorcreate" -> FileVolume.OpenMode.OPEN_OR_CREATE;
      default -> throw new VolumeConfigException("volume '" + spec.name() + "' mode '" + mode
          + "' is not one of open, create, openOrCreate");
    };
    return FileVolume.open(spec.name(), path, spec.sizeProperty("size").orElse(-1L), openMode,
        spec.booleanProperty("direct", false), concurrency(spec));
  }

  private static int concurrency(VolumeSpec spec) {
    String raw = spec.property("concurrency").orElse(null);
    if (raw == null) {
      return FileVolume.DEFAULT_CONCURRENCY;
    }
    try {
      int n = Integer.parseInt(raw.trim());
      if (n >= 1 && n <= 1024) {
        return n;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new VolumeConfigException("volume '" + spec.name() + "' property 'concurrency' is '"
        + raw + "': give the number of I/Os in flight, 1..1024 (default "
        + FileVolume.DEFAULT_CONCURRENCY + ")");
  }
}
