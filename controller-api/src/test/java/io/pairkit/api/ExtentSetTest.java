package io.pairkit.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.error.InvalidExtentException;
import java.util.List;
import org.junit.jupiter.api.Test;

class ExtentSetTest {

  @Test
  void emptyReversedAndNegativeExtentsAreRefusedWithTheirBounds() {
    InvalidExtentException empty =
        assertThrows(InvalidExtentException.class, () -> Extent.of(10, 10));
    assertTrue(empty.getMessage().contains("empty"), empty.getMessage());
    InvalidExtentException reversed =
        assertThrows(InvalidExtentException.class, () -> Extent.of(10, 5));
    assertTrue(reversed.getMessage().contains("reversed"), reversed.getMessage());
    assertThrows(InvalidExtentException.class, () -> Extent.of(-1, 5));
    assertThrows(InvalidExtentException.class, () -> Extent.ofLength(Long.MAX_VALUE - 1, 5));
  }

  @Test
  void overlappingAndTouchingExtentsMerge() {
    ExtentSet set = ExtentSet.of(Extent.of(100, 200), Extent.of(150, 300), Extent.of(300, 310),
        Extent.of(500, 600));
    assertEquals(List.of(Extent.of(100, 310), Extent.of(500, 600)), set.extents());
    assertEquals(310, set.bytes());
  }

  @Test
  void setAlgebra() {
    ExtentSet a = ExtentSet.of(0, 100);
    ExtentSet b = ExtentSet.of(50, 150);
    assertEquals(ExtentSet.of(0, 150), a.union(b));
    assertEquals(ExtentSet.of(50, 100), a.intersection(b));
    assertEquals(ExtentSet.of(0, 50), a.minus(b));
    assertTrue(a.union(b).encloses(a));
    assertFalse(a.encloses(b));
    assertTrue(ExtentSet.empty().isEmpty());
  }

  @Test
  void trackMappingRoundsOutAndMergesNeighbours() {
    int ts = 4096;
    ExtentSet set = ExtentSet.of(Extent.of(4095, 4097), Extent.of(3 * 4096, 3 * 4096 + 1),
        Extent.of(10 * 4096, 12 * 4096));
    // [4095, 4097) touches tracks 0 and 1; track 3; tracks 10, 11 (end exclusive at 12).
    assertEquals(List.of(Extent.of(0, 2), Extent.of(3, 4), Extent.of(10, 12)),
        set.trackRanges(ts));
    assertEquals(5, set.trackCount(ts));
    assertEquals(ExtentSet.of(4096, 3 * 4096), ExtentSet.ofTracks(1, 3, ts, 1L << 20));
    assertEquals(ExtentSet.of(4096, 5000), ExtentSet.ofTracks(1, 3, ts, 5000));
  }
}
