package io.pairkit.api.spi;

import com.google.common.collect.ImmutableMap;
import io.pairkit.api.error.VolumeConfigException;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Configuration of one volume: its name, the backend {@code type} that opens it, and the backend's
 * properties, which each backend documents (the README lists them per backend). Immutable, so
 * thread-safe. Sizes accept a plain byte count or a binary suffix: {@code 64k}, {@code 64KiB},
 * {@code 1g}, {@code 2TiB}. There is no track size here: it is the controller's
 * ({@code PairKit.builder().trackSize(...)}), and a backend may refuse a {@code trackSize}
 * property.
 *
 * @param name       the volume's name, unique within a controller
 * @param type       the backend type name, such as {@code "file"}
 * @param properties backend properties
 */
public record VolumeSpec(String name, String type, Map<String, String> properties) {

  /**
   * Validates and copies the properties.
   *
   * @throws VolumeConfigException if {@code name} or {@code type} is null or blank
   */
  public VolumeSpec {
    if (name == null || name.isBlank()) {
      throw new VolumeConfigException("a volume spec needs a non-blank name");
    }
    if (type == null || type.isBlank()) {
      throw new VolumeConfigException(
          "volume '" + name + "' has no backend type: set type to e.g. \"file\"");
    }
    properties = ImmutableMap.copyOf(properties);
  }

  /** Starts a spec for volume {@code name} on backend {@code type}. */
  public static Builder builder(String name, String type) {
    return new Builder(name, type);
  }

  /** The property, if set. */
  public Optional<String> property(String key) {
    return Optional.ofNullable(properties.get(key));
  }

  /** The property, or a {@link VolumeConfigException} naming it if missing. */
  public String requireProperty(String key) {
    return property(key).orElseThrow(() -> new VolumeConfigException(
        "volume '" + name + "' (type " + type + ") needs property '" + key + "'"));
  }

  /**
   * A size property (bytes, or with a k/m/g/t/p suffix, binary units), if set.
   *
   * @throws VolumeConfigException naming the property if it is not a size
   */
  public Optional<Long> sizeProperty(String key) {
    return property(key).map(v -> parseSize(key, v));
  }

  /**
   * A boolean property ({@code true}/{@code false}, any case), or the default if unset.
   *
   * @throws VolumeConfigException naming the property if it is neither
   */
  public boolean booleanProperty(String key, boolean defaultValue) {
    Optional<String> v = property(key);
    if (v.isEmpty()) {
      return defaultValue;
    }
    String s = v.get().trim().toLowerCase(Locale.ROOT);
    if (s.equals("true") || s.equals("false")) {
      return Boolean.parseBoolean(s);
    }
    throw new VolumeConfigException("volume '" + name + "' property '" + key + "' is '" + v.get()
        + "': use true or false");
  }

  private long parseSize(String key, String raw) {
    try {
      return Volumes.parseSize(raw);
    } catch (IllegalArgumentException e) {
      throw new VolumeConfigException("volume '" + name + "' property '" + key + "' is '" + raw
          + "': give a byte count such as 67108864 or 64MiB");
    }
  }

  /** Last dot-segments of property keys whose values {@link #toString()} masks. */
  private static final java.util.Set<String> SECRET_KEYS =
      java.util.Set.of("accesskey", "secretkey", "sessiontoken", "password", "token");

  /** Whether {@code key} names a secret: its last dot-segment is one of {@link #SECRET_KEYS}. */
  static boolean isSecretKey(String key) {
    return SECRET_KEYS.contains(key.substring(key.lastIndexOf('.') + 1)
        .toLowerCase(Locale.ROOT));
  }

  /**
   * The spec with the values of secret properties (keys whose last dot-segment is
   * {@code accessKey}, {@code secretKey}, {@code sessionToken}, {@code password} or
   * {@code token}, in any case) shown as {@code ****}, so a spec can go into messages and logs.
   */
  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("VolumeSpec[name=").append(name).append(", type=")
        .append(type).append(", properties={");
    String sep = "";
    for (Map.Entry<String, String> e : properties.entrySet()) {
      sb.append(sep).append(e.getKey()).append('=')
          .append(isSecretKey(e.getKey()) ? "****" : e.getValue());
      sep = ", ";
    }
    return sb.append("}]").toString();
  }

  /** Builds a {@link VolumeSpec}; for one thread. A property set twice keeps the last value. */
  public static final class Builder {
    private final String name;
    private final String type;
    private final ImmutableMap.Builder<String, String> properties = ImmutableMap.builder();

    private Builder(String name, String type) {
      this.name = name;
      this.type = type;
    }

    public Builder property(String key, String value) {
      properties.put(key, value);
      return this;
    }

    public Builder property(String key, long value) {
      return property(key, Long.toString(value));
    }

    public Builder properties(Map<String, String> all) {
      properties.putAll(all);
      return this;
    }

    /** @throws VolumeConfigException if the name or type is null or blank */
    public VolumeSpec build() {
      return new VolumeSpec(name, type, properties.buildKeepingLast());
    }
  }
}
