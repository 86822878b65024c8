package io.pairkit.core.internal.engine.bitmap;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.roaringbitmap.longlong.Roaring64Bitmap;

/** The range helpers agree with Roaring64Bitmap's own range calls, small and large. */
class BitsTest {
  @Test
  void smallAndLargeRangesAreAddedAndRemovedExactly() {
    for (long[] r : new long[][] {{5, 6}, {0, 17}, {65530, 65545}, {1000, 1000 + 2048},
        {3, 3 + 2049}, {70_000, 400_000}}) {
      Roaring64Bitmap expected = new Roaring64Bitmap();
      expected.addLong(600_000);
      expected.addLong(700_000);
      Roaring64Bitmap actual = expected.clone();
      expected.addRange(r[0], r[1]);
      Bits.addRange(actual, r[0], r[1]);
      assertEquals(expected, actual, "add [" + r[0] + ", " + r[1] + ")");
      assertEquals(r[1] - r[0], Bits.range(r[0], r[1]).getLongCardinality());
      Bits.removeRange(actual, r[0], r[1]);
      assertEquals(2, actual.getLongCardinality(), "remove [" + r[0] + ", " + r[1] + ")");
    }
  }
}
