package io.pairkit.control;

import io.pairkit.api.Extent;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.error.InvalidArgumentException;
import io.pairkit.api.spi.VolumeSpec;
import java.util.ArrayList;
import java.util.List;

/**
 * Extents as people type them: {@code START-END[,START-END...]}, each a half-open byte range
 * {@code [START, END)}, with optional binary suffixes ({@code 4m-8m,1g-1025m}). Used by pairctl and
 * the control endpoint.
 */
public final class ExtentSyntax {
  private ExtentSyntax() {
  }

  /**
   * @throws InvalidArgumentException naming the bad part and showing the syntax
   */
  public static ExtentSet parse(String text) {
    if (text == null || text.isBlank()) {
      throw new InvalidArgumentException("no extents given: write START-END[,START-END...], "
          + "e.g. 0-1m,4m-8m (END is exclusive; k/m/g/t suffixes allowed)");
    }
    List<Extent> extents = new ArrayList<>();
    for (String part : text.split(",")) {
      String p = part.trim();
      int dash = p.indexOf('-');
      if (dash <= 0 || dash == p.length() - 1) {
        throw new InvalidArgumentException("extent '" + p + "' is not START-END: write e.g. "
            + "4m-8m (END is exclusive)");
      }
      long start = size(p.substring(0, dash), p);
      long end = size(p.substring(dash + 1), p);
      if (end <= start) {
        throw new InvalidArgumentException("extent '" + p + "' ends at or before its start: "
            + "END is exclusive and must be larger than START");
      }
      extents.add(Extent.of(start, end));
    }
    return ExtentSet.of(extents);
  }

  /** The set in this syntax. */
  public static String format(ExtentSet set) {
    StringBuilder b = new StringBuilder();
    for (Extent e : set.extents()) {
      b.append(b.length() == 0 ? "" : ",").append(e.start()).append('-').append(e.end());
    }
    return b.toString();
  }

  private static long size(String raw, String part) {
    try {
      return VolumeSpec.builder("extent", "extent").property("v", raw.trim()).build()
          .sizeProperty("v").orElseThrow();
    } catch (RuntimeException e) {
      throw new InvalidArgumentException("extent '" + part + "': '" + raw + "' is not a byte "
          + "offset; use digits with an optional k/m/g/t suffix");
    }
  }
}
