package io.pairkit.server;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * Volumes a forced delete left as incomplete secondaries (a half-made copy with no pair to say
 * what is missing): pairkitd exports them read-only and shows why, across restarts, until a new
 * pair copies them whole. Kept in a small properties file beside the metadata directory, replaced
 * atomically.
 *
 * <p>Threading: thread-safe.
 */
final class IncompleteVolumes {
  private final Path file;
  private final Map<String, String> reasons = new TreeMap<>();

  IncompleteVolumes(Path file) throws IOException {
    this.file = file;
    if (Files.exists(file)) {
      Properties p = new Properties();
      try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
        p.load(r);
      }
      p.stringPropertyNames().forEach(k -> reasons.put(k, p.getProperty(k)));
    }
  }

  /** Why {@code volume} is incomplete, or null if it is not. */
  synchronized String reason(String volume) {
    return reasons.get(volume);
  }

  synchronized void mark(String volume, String reason) throws IOException {
    reasons.put(volume, reason);
    save();
  }

  synchronized void clear(String volume) throws IOException {
    if (reasons.remove(volume) != null) {
      save();
    }
  }

  private void save() throws IOException {
    Properties p = new Properties();
    p.putAll(reasons);
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    try (Writer w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
      p.store(w, "volumes a forced pair delete left incomplete (pairkitd)");
    }
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }
}
