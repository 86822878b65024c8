package io.pairkit.examples;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

class DemoTest {
  @TempDir
  Path dir;

  @Test
  @Timeout(120)
  void demoStoryPassesEveryChecksumCheck() throws Exception {
    assertTrue(new Demo().run(dir), "the demo printed a failed check; see its output");
  }
}
