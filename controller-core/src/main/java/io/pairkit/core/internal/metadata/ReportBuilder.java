package io.pairkit.core.internal.metadata;

import io.pairkit.api.RecoveryReport;
import java.util.List;

/** Collects what recovery finds, for a {@link RecoveryReport}. Not thread-safe. */
final class ReportBuilder {
  private boolean clean = true;
  private long checkpoint;
  private long records;
  private long discardedBytes;
  private String discardedBecause;

  ReportBuilder clean(boolean value) {
    this.clean = value;
    return this;
  }

  ReportBuilder checkpoint(long gen) {
    this.checkpoint = gen;
    return this;
  }

  void replayed() {
    records++;
  }

  long records() {
    return records;
  }

  void discarded(long bytes, String because) {
    discardedBytes += bytes;
    discardedBecause = because;
  }

  boolean clean() {
    return clean;
  }

  RecoveryReport build(List<RecoveryReport.PairRecovery> pairs) {
    return new RecoveryReport(clean, checkpoint, records, discardedBytes, discardedBecause,
        List.copyOf(pairs));
  }
}
