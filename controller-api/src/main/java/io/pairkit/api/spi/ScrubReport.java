package io.pairkit.api.spi;

import java.util.List;

/**
 * What a scrub of a redundant volume found (md's {@code check} and {@code repair}): every stripe
 * read whole, its redundancy compared with its data.
 *
 * @param checkedBytes   bytes of the volume whose stripes were compared
 * @param mismatches     stripes (rows) whose parity or mirror copies disagreed with the data
 * @param repaired       of those, how many were made consistent again (repair only)
 * @param firstOffsets   the volume byte offsets of the first mismatching rows (at most 16)
 * @param summary        one line for people
 */
public record ScrubReport(long checkedBytes, long mismatches, long repaired,
    List<Long> firstOffsets, String summary) {

  public ScrubReport {
    firstOffsets = List.copyOf(firstOffsets);
  }
}
