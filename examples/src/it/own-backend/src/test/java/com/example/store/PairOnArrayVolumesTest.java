package com.example.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pairkit.api.ExtentSet;
import io.pairkit.api.HostVolume;
import io.pairkit.api.PairController;
import io.pairkit.api.PairState;
import io.pairkit.api.VolumePair;
import io.pairkit.api.spi.VolumeSpec;
import io.pairkit.core.PairKit;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** A pair on the product's own backend, through the exported API only. */
class PairOnArrayVolumesTest {
  private static final Duration WAIT = Duration.ofSeconds(30);

  @Test
  void aSplitCopyKeepsItsInstantAndAnExtentUpdateRefreshesOnlyItsExtent() {
    int size = 1 << 20;
    try (PairController pk = PairKit.builder().trackSize(64 * 1024).build()) {
      HostVolume p = pk.openVolume(VolumeSpec.builder("p", "array").property("size", size)
          .build());
      HostVolume s = pk.openVolume(VolumeSpec.builder("s", "array").property("size", size)
          .build());
      byte[] first = new byte[size];
      Arrays.fill(first, (byte) 1);
      p.write(0, first);
      VolumePair pair = pk.createVolumePair("backup", p, s);
      pair.initialCopy().await(WAIT);
      pair.split().await(WAIT);
      assertEquals(PairState.SPLIT, pair.state());
      byte[] second = new byte[size];
      Arrays.fill(second, (byte) 2);
      p.write(0, second);
      assertArrayEquals(first, s.read(0, size), "the copy holds the split instant");
      pair.extentUpdate(ExtentSet.of(0, 4096)).await(WAIT);
      assertEquals(2, s.read(0, 1)[0], "the extent was refreshed");
      assertEquals(1, s.read(4096, 1)[0], "nothing outside it");
    }
  }
}
