package io.pairkit.control;

import io.pairkit.api.spi.Volumes;
import java.util.Locale;

/**
 * Copy rates in the words of pairctl and the configuration file: {@code 50M} or {@code 50MiB/s}
 * (binary units K, M, G; bytes per second), {@code 0}, {@code none} or {@code unlimited} for no
 * cap.
 */
public final class RateWords {
  private RateWords() {
  }

  /**
   * The bytes per second a word names (0: no cap).
   *
   * @throws IllegalArgumentException naming the word and the form expected
   */
  public static long parse(String word) {
    String s = word.trim().toLowerCase(Locale.ROOT);
    if (s.equals("none") || s.equals("unlimited")) {
      return 0;
    }
    if (s.endsWith("/s")) {
      s = s.substring(0, s.length() - 2);
    }
    try {
      return Volumes.parseSize(s);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("'" + word + "' is not a rate; give bytes per second "
          + "such as 50M (50 MiB/s), 800K or 1G, or none for no cap");
    }
  }

  /** A rate for people: {@code 50 MiB/s}, or {@code none}. */
  public static String format(long bytesPerSecond) {
    if (bytesPerSecond <= 0) {
      return "none";
    }
    String[] units = {"B/s", "KiB/s", "MiB/s", "GiB/s"};
    int u = 0;
    long v = bytesPerSecond;
    while (u < units.length - 1 && v >= 1024 && v % 1024 == 0) {
      v /= 1024;
      u++;
    }
    return v + " " + units[u];
  }
}
