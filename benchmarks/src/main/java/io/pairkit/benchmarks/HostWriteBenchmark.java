package io.pairkit.benchmarks;

import io.pairkit.api.HostVolume;
import io.pairkit.api.PairController;
import io.pairkit.api.VolumePair;
import io.pairkit.testkit.MemoryVolume;
import io.pairkit.core.PairKit;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The engine's cost per host write, without a disk: 4 KiB writes to a 256 MiB memory volume with
 * no pair, a mirrored pair, and a split (drained) pair.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(1)
public class HostWriteBenchmark {
  private static final long SIZE = 256L << 20;
  private static final int TRACK = 64 * 1024;

  @Param({"NO_PAIR", "MIRRORED", "SPLIT"})
  public String mode;

  private PairController pk;
  private HostVolume p;
  private final byte[] block = new byte[4096];

  @Setup(Level.Trial)
  public void setUp() {
    pk = PairKit.controller();
    p = pk.attachVolume(new MemoryVolume("p", SIZE));
    HostVolume s = pk.attachVolume(new MemoryVolume("s", SIZE));
    ThreadLocalRandom.current().nextBytes(block);
    if (!mode.equals("NO_PAIR")) {
      VolumePair pair = pk.createVolumePair("bench", p, s);
      pair.initialCopy().await(Duration.ofMinutes(5));
      if (mode.equals("SPLIT")) {
        pair.split().await(Duration.ofMinutes(5));
      }
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    pk.close();
  }

  @Benchmark
  public void write4k() {
    long offset = ThreadLocalRandom.current().nextLong(SIZE / 4096) * 4096;
    p.write(offset, block);
  }
}
