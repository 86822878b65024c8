/**
 * Benchmarks: {@link io.pairkit.benchmarks.Scenarios}, the whole-scenario program behind
 * docs/BENCHMARKS.md (each scenario measures PairKit and a baseline in the same run), and JMH
 * micro-benchmarks such as {@link io.pairkit.benchmarks.HostWriteBenchmark}. Built only with the
 * {@code bench} Maven profile.
 */
package io.pairkit.benchmarks;
