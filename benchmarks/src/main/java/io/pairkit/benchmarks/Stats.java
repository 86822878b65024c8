package io.pairkit.benchmarks;

import java.util.Arrays;
import java.util.List;

/** Small helpers for medians and percentiles. */
final class Stats {
  private Stats() {
  }

  static double median(List<Double> values) {
    double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  }

  /** The {@code p}-th percentile (0..100) of the first {@code n} entries, in microseconds. */
  static double percentileMicros(long[] nanos, int n, double p) {
    long[] sorted = Arrays.copyOf(nanos, n);
    Arrays.sort(sorted);
    int index = (int) Math.min(n - 1, Math.ceil(p / 100.0 * n) - 1);
    return sorted[Math.max(0, index)] / 1000.0;
  }
}
