package io.pairkit.control;

import io.pairkit.api.MirrorMode;
import java.util.Locale;

/**
 * Mirror modes in the words of pairctl and the configuration file: {@code auto}, {@code sync},
 * {@code async} (the full names are accepted too, in any case).
 */
public final class MirrorModeWords {
  private MirrorModeWords() {
  }

  /**
   * The mode a word names.
   *
   * @throws IllegalArgumentException naming the word and the choices
   */
  public static MirrorMode parse(String word) {
    return switch (word.trim().toLowerCase(Locale.ROOT)) {
      case "auto", "automatic" -> MirrorMode.AUTOMATIC;
      case "sync", "synchronous" -> MirrorMode.SYNCHRONOUS;
      case "async", "asynchronous" -> MirrorMode.ASYNCHRONOUS;
      default -> throw new IllegalArgumentException("'" + word + "' is not one of sync, async, "
          + "auto");
    };
  }
}
