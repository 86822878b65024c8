package io.pairkit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.HostVolume;
import io.pairkit.api.PairController;
import io.pairkit.api.VolumePair;
import io.pairkit.api.error.PairKitException;
import io.pairkit.testkit.MemoryVolume;
import io.pairkit.core.PairKit;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The SDK's refusals as pairctl shows them: the way out is a pairctl command naming the pair,
 * never a Java call. The messages are taken from a real controller, not copied by hand.
 */
class PairctlWordsTest {
  private static final int TS = 4096;

  private static String refusal(Runnable r) {
    try {
      r.run();
    } catch (PairKitException e) {
      return e.getMessage();
    }
    throw new AssertionError("not refused");
  }

  @Test
  void refusalsNameThePairctlCommand_notAJavaCall() {
    try (PairController pk = PairKit.builder().trackSize(TS).build()) {
      HostVolume p = pk.attachVolume(new MemoryVolume("p", 64 * TS));
      HostVolume s = pk.attachVolume(new MemoryVolume("s", 64 * TS));
      pk.pauseBackgroundCopies();
      VolumePair pair = pk.createVolumePair("db", p, s);
      List<String> sdk = List.of(
          refusal(pair::delete), // FORMING: forceDelete()
          refusal(pair::resume), // not suspended: resume()
          refusal(pair::resync), // not split: split() the pair first
          refusal(() -> pk.pair("nope"))); // createVolumePair
      pk.resumeBackgroundCopies();
      pair.initialCopy().await(Duration.ofSeconds(30));
      pair.split().await(Duration.ofSeconds(30));
      String split = refusal(pair::split); // resync() it first
      for (String m : List.of(sdk.get(0), sdk.get(1), sdk.get(2), sdk.get(3), split)) {
        String words = PairctlWords.of(m);
        assertFalse(words.matches("(?s).*[a-zA-Z]\\(\\).*") || words.contains("createVolumePair"),
            "a Java call left in: " + words + "\n  from: " + m);
      }
      assertTrue(PairctlWords.of(sdk.get(0)).contains("pairctl pair delete db --force"),
          PairctlWords.of(sdk.get(0)));
      assertTrue(PairctlWords.of(sdk.get(2)).contains("pairctl pair split db"),
          PairctlWords.of(sdk.get(2)));
      assertTrue(PairctlWords.of(split).contains("pairctl pair resync db"),
          PairctlWords.of(split));
      assertTrue(PairctlWords.of(sdk.get(3)).contains("pairctl pair create"),
          PairctlWords.of(sdk.get(3)));
      assertEquals("a plain message", PairctlWords.of("a plain message"));
    }
  }
}
