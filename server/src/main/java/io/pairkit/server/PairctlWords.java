package io.pairkit.server;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The SDK's error messages in pairctl's words: they name the way out as a Java call
 * ({@code call resume()}, {@code forceDelete()}, {@code createVolumePair}); an admin reads the
 * pairctl command instead. Messages without such calls pass unchanged.
 */
final class PairctlWords {
  /** The first pair a message names. */
  private static final Pattern PAIR = Pattern.compile("pair '([A-Za-z0-9._-]+)'");

  /** Java phrase, then its pairctl words; {@code %s} is the pair. Longest phrases first. */
  private static final String[][] WORDS = {
      {"or call forceDelete() to leave it incomplete",
          "or delete it anyway with pairctl pair delete %s --force (the secondary stays "
              + "incomplete)"},
      {"or use forceDelete()", "or pairctl pair delete %s --force"},
      {"call forceDelete()", "pairctl pair delete %s --force"},
      {"forceDelete()", "pairctl pair delete %s --force"},
      {"fix the backend, then call resume()", "fix the backend, then pairctl pair resume %s"},
      {"fix the backend and call resume()", "fix the backend, then pairctl pair resume %s"},
      {"resume() it first", "pairctl pair resume %s first"},
      {"resume() it to copy", "pairctl pair resume %s to copy"},
      {"call resume()", "pairctl pair resume %s"},
      {"resume() copies", "pairctl pair resume %s copies"},
      {"resume() is only for", "pair resume is only for"},
      {"resume()", "pairctl pair resume %s"},
      {"wait for the resync's completion(), then split",
          "pairctl pair wait %s --state FORMED, then pairctl pair split %s"},
      {"the split request's completion()", "the split (pairctl pair wait %s --state SPLIT)"},
      {"the running request's completion()", "the running request (pairctl pair wait %s)"},
      {"the copy's completion()", "the copy (pairctl pair wait %s)"},
      {"completion()", "completion (pairctl pair wait %s)"},
      {"resync() it first", "pairctl pair resync %s first"},
      {"split() the pair first", "pairctl pair split %s first"},
      {"split() it first", "pairctl pair split %s first"},
      {"create it with createVolumePair, createExtentPair or createExtentSplitPair",
          "create it with pairctl pair create"},
      {"open it with openVolume(spec) here", "add it to pairkitd's configuration"},
      {"open it with openVolume(spec)", "add it to pairkitd's configuration"},
      {"open a new controller", "restart pairkitd"},
  };

  private PairctlWords() {
  }

  static String of(String message) {
    if (message == null || !message.contains("(") && !message.contains("create")) {
      return message;
    }
    Matcher m = PAIR.matcher(message);
    String pair = m.find() ? m.group(1) : "PAIR";
    String out = message;
    for (String[] w : WORDS) {
      if (out.contains(w[0])) {
        out = out.replace(w[0], w[1].replace("%s", pair));
      }
    }
    return out;
  }
}
