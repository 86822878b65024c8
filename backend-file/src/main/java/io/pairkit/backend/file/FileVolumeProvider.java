package io.pairkit.backend.file;

import io.pairkit.api.error.VolumeConfigException;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.VolumeProvider;
import io.pairkit.api.spi.VolumeSpec;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;

/** Opens {@code "file"} volumes; see the package documentation for the properties. */
public final class FileVolumeProvider implements VolumeProvider {
  /** The backend type name. */
  public static final String TYPE = "file";

  @Override
  public String type() {
    return TYPE;
  }

  @Override
  public Volume open(VolumeSpec spec) throws IOException {
    Path path = Path.of(spec.requireProperty("path"));
    String mode = spec.property("mode").orElse("open").trim().toLowerCase(Locale.ROOT);
    FileVolume.OpenMode openMode = switch (mode) {
      case "open" -> FileVolume.OpenMode.OPEN;
      case "create" -> FileVolume.OpenMode.CREATE;
      case "openorcreate" -> FileVolume.OpenMode.OPEN_OR_CREATE;
      default -> throw new VolumeConfigException("volume '" + spec.name() + "' mode '" + mode
          + "' is not one of open, create, openOrCreate");
    };
    return FileVolume.open(spec.name(), path, spec.sizeProperty("size").orElse(-1L),
        spec.trackSize(), openMode, spec.booleanProperty("direct", false));
  }
}
