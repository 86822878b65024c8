package io.pairkit.backend.s3;

import io.pairkit.api.error.VolumeConfigException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * The manifest object ({@code <prefix>manifest}) that makes a key prefix a volume: format
 * version, size, chunk size and a random volume id, as {@code key=value} lines after a magic
 * first line. Written once, at create, and never changed. Immutable.
 */
record Manifest(int formatVersion, long size, int chunkSize, String volumeId) {
  static final String OBJECT = "manifest";
  static final String MAGIC = "pairkit-s3-volume";
  static final int FORMAT_VERSION = 1;

  byte[] encode() {
    return (MAGIC + "\nformatVersion=" + formatVersion + "\nsize=" + size + "\nchunkSize="
        + chunkSize + "\nvolumeId=" + volumeId + "\n").getBytes(StandardCharsets.UTF_8);
  }

  /** Number of chunk objects the volume can have. */
  long chunks() {
    return (size + chunkSize - 1) / chunkSize;
  }

  /**
   * Parses a manifest object.
   *
   * @throws VolumeConfigException naming {@code where} if it is not a PairKit manifest or has
   *     another format version
   */
  static Manifest decode(String volume, String where, byte[] bytes) {
    String text = new String(bytes, StandardCharsets.UTF_8);
    String[] lines = text.split("\n");
    if (lines.length == 0 || !lines[0].trim().equals(MAGIC)) {
      throw new VolumeConfigException("volume '" + volume + "': " + where
          + " is not a PairKit volume manifest (first line is not '" + MAGIC + "'); point "
          + "'prefix' at a PairKit volume, or create one under a free prefix");
    }
    Map<String, String> values = new HashMap<>();
    for (int i = 1; i < lines.length; i++) {
      int eq = lines[i].indexOf('=');
      if (eq > 0) {
        values.put(lines[i].substring(0, eq).trim(), lines[i].substring(eq + 1).trim());
      }
    }
    try {
      int version = Integer.parseInt(values.getOrDefault("formatVersion", "?"));
      if (version != FORMAT_VERSION) {
        throw new VolumeConfigException("volume '" + volume + "': " + where + " has format "
            + "version " + version + ", this PairKit reads version " + FORMAT_VERSION
            + "; open it with a PairKit that knows that format");
      }
      long size = Long.parseLong(values.getOrDefault("size", "?"));
      int chunkSize = Integer.parseInt(values.getOrDefault("chunkSize", "?"));
      String id = values.get("volumeId");
      if (size <= 0 || chunkSize < S3Settings.MIN_CHUNK_SIZE
          || chunkSize > S3Settings.MAX_CHUNK_SIZE || Integer.bitCount(chunkSize) != 1
          || id == null || id.isEmpty()) {
        throw new NumberFormatException("out of range");
      }
      return new Manifest(version, size, chunkSize, id);
    } catch (NumberFormatException e) {
      throw new VolumeConfigException("volume '" + volume + "': " + where + " is a damaged "
          + "manifest (size, chunkSize, formatVersion or volumeId missing or malformed): "
          + text.replace('\n', ' ').trim(), e);
    }
  }
}
