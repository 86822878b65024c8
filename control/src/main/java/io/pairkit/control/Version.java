package io.pairkit.control;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** PairKit's version as the build wrote it (the POM's), for pairkitd and pairctl to report. */
public final class Version {
  private static final String VERSION = load();

  private Version() {
  }

  /** The POM's version, e.g. {@code 0.1.0-SNAPSHOT}. */
  public static String get() {
    return VERSION;
  }

  private static String load() {
    try (InputStream in = Version.class.getResourceAsStream("version.properties")) {
      if (in == null) {
        return "unknown";
      }
      Properties p = new Properties();
      p.load(in);
      return p.getProperty("version", "unknown");
    } catch (IOException e) {
      return "unknown";
    }
  }
}
