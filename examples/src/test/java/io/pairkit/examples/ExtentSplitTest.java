package io.pairkit.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

class ExtentSplitTest {
  @TempDir
  Path dir;

  @Test
  @Timeout(60)
  void frozenFileKeepsItsVersionWhileTheRestMirrors_andTheJoinCopiesOnlyItsTracks()
      throws Exception {
    ExtentSplit example = new ExtentSplit();
    assertTrue(example.run(dir), "the example printed a failed check; see its output");
    assertEquals(ExtentSplit.DB.trackCount(ExtentSplit.TRACK), example.joinTracksCopied);
  }
}
