package io.pairkit.benchmarks;

import io.pairkit.api.CopyProgress;
import io.pairkit.api.HostVolume;
import io.pairkit.api.PairController;
import io.pairkit.api.VolumePair;
import io.pairkit.core.PairKit;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.zip.CRC32C;

/**
 * Scenarios 7 and 8: PairKit's initial copy against other copy tools on the same two files, and a
 * sparse volume against a dense one.
 *
 * <ul>
 *   <li>{@code copy-vs-qemu}: a fully allocated image of random data (nothing a thin copy could
 *       skip) copied by PairKit ({@code direct=false} and {@code direct=true} file volumes), by
 *       QEMU's {@code blockdev-backup sync=full} in {@code qemu-storage-daemon}
 *       ({@code cache.direct=off} and {@code on}) and by {@code dd bs=1M} (with and without
 *       O_DIRECT). Every run writes a fresh sparse destination of the full size, starts after
 *       {@code sync} and a page cache drop, ends durable (fdatasync), and is verified afterwards
 *       (size, CRC32C of every byte against the source, blocks allocated).</li>
 *   <li>{@code sparse-copy}: a 1 TiB sparse image holding {@code size} bytes of random data in
 *       64 MiB pieces spread over it, copied by PairKit to a fresh 1 TiB sparse file, against the
 *       dense copy of {@code size} bytes in the same run; the secondary's allocated size is
 *       checked.</li>
 * </ul>
 */
final class CopyComparison {
  private static final Duration WAIT = Duration.ofHours(1);
  private static final long PIECE = 64L << 20;
  private static final long SPARSE_SIZE = 1L << 40;

  private final long size;
  private final Path dir;
  private final int repeats;

  CopyComparison(long size, Path dir, int repeats) {
    this.size = size;
    this.dir = dir;
    this.repeats = repeats;
  }

  private interface Timed {
    /** Runs one copy into a fresh destination; returns the timed seconds. */
    double run(Path src, Path dst) throws Exception;
  }

  private record Case(String tool, String mode, Timed body) {
  }

  // ------------------------------------------------------------------ 7. copy vs QEMU and dd

  void copyVsQemu() throws Exception {
    Path src = dir.resolve("src.img");
    Path dst = dir.resolve("dst.img");
    Scenarios.makeRandomImage(src, size);
    long srcAllocated = allocatedBytes(src);
    if (srcAllocated < size) {
      throw new IllegalStateException(src + " is not fully allocated (" + srcAllocated
          + " of " + size + " bytes); delete it and rerun");
    }
    long srcCrc = crc(src, 0, size);
    Optional<Path> qemu = QemuStorageDaemon.find();
    System.out.println("## 7. Initial copy against QEMU blockdev-backup and dd");
    System.out.println();
    if (qemu.isEmpty()) {
      System.out.println("(" + QemuStorageDaemon.BINARY + " is not installed, so the QEMU rows "
          + "are skipped. On Debian/Ubuntu it is in the package qemu-system-common: "
          + "`sudo apt-get install qemu-system-common`; nothing is installed by this program.)");
      System.out.println();
    } else {
      System.out.println("QEMU: " + QemuStorageDaemon.version(qemu.get()));
      System.out.println();
    }
    List<Case> cases = new ArrayList<>();
    cases.add(new Case("PairKit", "direct=false", (s, d) -> pairKit(s, d, false)));
    cases.add(new Case("PairKit", "direct=true", (s, d) -> pairKit(s, d, true)));
    if (qemu.isPresent()) {
      cases.add(new Case("QEMU blockdev-backup", "cache.direct=off",
          (s, d) -> qemuBackup(qemu.get(), s, d, false)));
      cases.add(new Case("QEMU blockdev-backup", "cache.direct=on",
          (s, d) -> qemuBackup(qemu.get(), s, d, true)));
    }
    cases.add(new Case("dd bs=1M", "iflag=direct oflag=direct", (s, d) -> dd(s, d, true)));
    cases.add(new Case("dd bs=1M", "page cache", (s, d) -> dd(s, d, false)));

    Map<Case, List<Double>> rates = new LinkedHashMap<>();
    for (int r = 0; r < repeats; r++) {
      for (int i = 0; i < cases.size(); i++) {
        Case c = cases.get((i + r) % cases.size()); // rotate: no case always runs first
        Files.deleteIfExists(dst);
        double seconds = c.body().run(src, dst);
        verifyDense(c, dst, srcCrc);
        rates.computeIfAbsent(c, k -> new ArrayList<>()).add(size / seconds / 1e6);
      }
    }
    Files.deleteIfExists(dst);

    Map<String, Double> median = new LinkedHashMap<>();
    for (Case c : cases) {
      median.put(c.tool() + " " + c.mode(), Stats.median(rates.get(c)));
    }
    double pkCached = median.get("PairKit direct=false");
    double pkDirect = median.get("PairKit direct=true");
    System.out.println("| tool | mode | MB/s (median of " + repeats + ") | min - max | "
        + "PairKit, same mode / this |");
    System.out.println("|---|---|---|---|---|");
    for (Case c : cases) {
      List<Double> v = rates.get(c);
      double m = median.get(c.tool() + " " + c.mode());
      boolean direct = c.mode().contains("direct=true") || c.mode().contains("direct=on")
          || c.mode().contains("oflag=direct");
      double pk = direct ? pkDirect : pkCached;
      String ratio = c.tool().equals("PairKit") ? "" : Scenarios.fmt(pk / m) + "x";
      System.out.printf("| %s | %s | %s | %s - %s | %s |%n", c.tool(), c.mode(),
          Scenarios.fmt(m), Scenarios.fmt(v.stream().mapToDouble(x -> x).min().orElse(0)),
          Scenarios.fmt(v.stream().mapToDouble(x -> x).max().orElse(0)), ratio);
    }
    System.out.println();
    System.out.println("Targets:");
    if (qemu.isPresent()) {
      target("PairKit direct=false / QEMU cache.direct=off", pkCached
          / median.get("QEMU blockdev-backup cache.direct=off"), 1.0);
      target("PairKit direct=true / QEMU cache.direct=on", pkDirect
          / median.get("QEMU blockdev-backup cache.direct=on"), 1.0);
    }
    target("PairKit direct=true / dd O_DIRECT", pkDirect
        / median.get("dd bs=1M iflag=direct oflag=direct"), 0.9);
    System.out.println();
  }

  private static void target(String what, double ratio, double goal) {
    System.out.printf(java.util.Locale.ROOT, "- %s: %.3fx (target >= %.2fx): %s%n", what, ratio,
        goal, ratio >= goal ? "met" : "MISSED");
  }

  /** Size, every byte (CRC32C) and allocation of a dense copy; throws if anything is off. */
  private void verifyDense(Case c, Path dst, long srcCrc) throws Exception {
    long actual = Files.size(dst);
    if (actual != size) {
      throw new IllegalStateException(c + ": destination is " + actual + " bytes, not " + size);
    }
    long crc = crc(dst, 0, size);
    if (crc != srcCrc) {
      throw new IllegalStateException(c + ": destination differs from the source (CRC32C "
          + Long.toHexString(crc) + " != " + Long.toHexString(srcCrc) + ")");
    }
  }

  /** PairKit: volumes opened untimed; timed from createVolumePair to copied and flushed. */
  private double pairKit(Path src, Path dst, boolean direct) throws Exception {
    try (PairController pk = PairKit.controller()) {
      HostVolume p = pk.openVolume(Scenarios.fileSpec("p", src, "open", direct, size));
      HostVolume s = pk.openVolume(Scenarios.fileSpec("s", dst, "create", direct, size));
      settle();
      long t0 = System.nanoTime();
      VolumePair pair = pk.createVolumePair("copy", p, s);
      pair.initialCopy().await(WAIT);
      s.flush();
      return (System.nanoTime() - t0) / 1e9;
    }
  }

  /**
   * QEMU: daemon started untimed on the source and a fresh sparse destination; timed from the
   * {@code blockdev-backup} command to its {@code BLOCK_JOB_COMPLETED} event plus an fdatasync of
   * the destination (QEMU's job does not flush its target; the other tools end durable).
   */
  private double qemuBackup(Path binary, Path src, Path dst, boolean direct) throws Exception {
    sparseFile(dst, size);
    try (QemuStorageDaemon d = new QemuStorageDaemon(binary, src, dst, direct,
        dir.resolve("qmp.sock"))) {
      settle();
      long t0 = System.nanoTime();
      d.backupFull();
      try (FileChannel ch = FileChannel.open(dst, StandardOpenOption.WRITE)) {
        ch.force(false);
      }
      return (System.nanoTime() - t0) / 1e9;
    } finally {
      Files.deleteIfExists(dir.resolve("qmp.sock"));
    }
  }

  /** dd into a fresh sparse destination (conv=notrunc keeps it), ending with fsync. */
  private double dd(Path src, Path dst, boolean direct) throws Exception {
    sparseFile(dst, size);
    List<String> cmd = new ArrayList<>(List.of("dd", "if=" + src, "of=" + dst, "bs=1M",
        "conv=notrunc,fsync", "status=none"));
    if (direct) {
      cmd.add("iflag=direct");
      cmd.add("oflag=direct");
    }
    settle();
    long t0 = System.nanoTime();
    Process p = new ProcessBuilder(cmd).inheritIO().start();
    int rc = p.waitFor();
    double seconds = (System.nanoTime() - t0) / 1e9;
    if (rc != 0) {
      throw new IOException(String.join(" ", cmd) + " exited with " + rc);
    }
    return seconds;
  }

  /**
   * The investigation behind scenario 7's O_DIRECT rows: PairKit {@code direct=true} with 1 to 16
   * runs in flight (the file volumes' {@code concurrency} property; copyThreads 64 so it is never
   * the limit), with {@code copyThreads=1}, and with 4 MiB tracks (so 4 MiB runs: a run is the
   * preferred I/O size, 1 MiB, or one track if larger), against QEMU {@code cache.direct=on} (if
   * installed) and dd O_DIRECT, interleaved.
   */
  void copyTuning() throws Exception {
    Path src = dir.resolve("src.img");
    Path dst = dir.resolve("dst.img");
    Scenarios.makeRandomImage(src, size);
    long srcCrc = crc(src, 0, size);
    List<Case> cases = new ArrayList<>();
    for (int c : new int[] {1, 8, 32, 64}) {
      cases.add(new Case("PairKit direct=true", "concurrency=" + c + ", copyThreads=64",
          (s, d) -> pairKit(s, d, true, c, 64, 64 << 10)));
    }
    cases.add(new Case("PairKit direct=true", "concurrency=8, copyThreads=1",
        (s, d) -> pairKit(s, d, true, 8, 1, 64 << 10)));
    for (int c : new int[] {8}) {
      cases.add(new Case("PairKit direct=true", "trackSize=4 MiB (4 MiB runs), concurrency=" + c,
          (s, d) -> pairKit(s, d, true, c, 16, 4 << 20)));
    }
    Optional<Path> qemu = QemuStorageDaemon.find();
    if (qemu.isPresent()) {
      cases.add(new Case("QEMU blockdev-backup", "cache.direct=on",
          (s, d) -> qemuBackup(qemu.get(), s, d, true)));
    }
    cases.add(new Case("dd bs=1M", "iflag=direct oflag=direct", (s, d) -> dd(s, d, true)));
    Map<Case, List<Double>> rates = new LinkedHashMap<>();
    for (int r = 0; r < repeats; r++) {
      for (int i = 0; i < cases.size(); i++) {
        Case c = cases.get((i + r) % cases.size());
        Files.deleteIfExists(dst);
        double seconds = c.body().run(src, dst);
        verifyDense(c, dst, srcCrc);
        rates.computeIfAbsent(c, k -> new ArrayList<>()).add(size / seconds / 1e6);
      }
    }
    Files.deleteIfExists(dst);
    double dd = Stats.median(rates.get(cases.get(cases.size() - 1)));
    System.out.println("## 7b. O_DIRECT copy: runs in flight");
    System.out.println();
    System.out.println("| tool | setting | MB/s (median of " + repeats + ") | min - max | vs dd |");
    System.out.println("|---|---|---|---|---|");
    for (Case c : cases) {
      List<Double> v = rates.get(c);
      double m = Stats.median(v);
      System.out.printf("| %s | %s | %s | %s - %s | %sx |%n", c.tool(), c.mode(),
          Scenarios.fmt(m), Scenarios.fmt(v.stream().mapToDouble(x -> x).min().orElse(0)),
          Scenarios.fmt(v.stream().mapToDouble(x -> x).max().orElse(0)),
          Scenarios.fmt(m / dd));
    }
    System.out.println();
  }

  private double pairKit(Path src, Path dst, boolean direct, int concurrency, int threads,
      int trackSize) throws Exception {
    try (PairController pk = PairKit.builder().copyThreads(threads).trackSize(trackSize)
        .build()) {
      HostVolume p = pk.openVolume(io.pairkit.api.spi.VolumeSpec.builder("p", "file")
          .property("path", src.toString()).property("mode", "open")
          .property("direct", String.valueOf(direct))
          .property("concurrency", String.valueOf(concurrency)).build());
      HostVolume s = pk.openVolume(io.pairkit.api.spi.VolumeSpec.builder("s", "file")
          .property("path", dst.toString()).property("mode", "create").property("size", size)
          .property("direct", String.valueOf(direct))
          .property("concurrency", String.valueOf(concurrency)).build());
      settle();
      long t0 = System.nanoTime();
      VolumePair pair = pk.createVolumePair("copy", p, s);
      pair.initialCopy().await(WAIT);
      s.flush();
      return (System.nanoTime() - t0) / 1e9;
    }
  }

  // ------------------------------------------------------------------ 8. sparse copy

  void sparseCopy() throws Exception {
    Path dense = dir.resolve("src.img");
    Path sparse = dir.resolve("sparse.img");
    Path dst = dir.resolve("dst.img");
    Scenarios.makeRandomImage(dense, size);
    long pieces = Math.max(1, size / PIECE);
    long stride = SPARSE_SIZE / pieces / PIECE * PIECE;
    long[] pieceCrc = makeSparseImage(sparse, pieces, stride);
    long data = pieces * PIECE;
    long sparseAllocated = allocatedBytes(sparse);
    System.out.println("## 8. Sparse initial copy: 1 TiB image with " + (data >> 20)
        + " MiB of data (" + pieces + " pieces of 64 MiB, one every " + (stride >> 30)
        + " GiB) against a dense " + (size >> 20) + " MiB copy, same run");
    System.out.println();
    System.out.println("Source allocated: " + (sparseAllocated >> 20) + " MiB (du).");
    System.out.println();
    System.out.println("| mode | dense " + (size >> 20) + " MiB (s) | sparse 1 TiB (s) | sparse / "
        + "dense | sparse effective (MB/s of data) | JVM CPU s, dense / sparse | secondary "
        + "allocated (MiB) | tracks copied / of |");
    System.out.println("|---|---|---|---|---|---|---|---|");
    for (boolean direct : new boolean[] {false, true}) {
      List<Double> denseTimes = new ArrayList<>();
      List<Double> sparseTimes = new ArrayList<>();
      List<Double> denseCpu = new ArrayList<>();
      List<Double> sparseCpu = new ArrayList<>();
      long allocated = 0;
      CopyProgress last = null;
      for (int r = 0; r < repeats; r++) {
        for (int k = 0; k < 2; k++) {
          boolean doSparse = (k + r) % 2 == 1;
          Files.deleteIfExists(dst);
          if (doSparse) {
            CopyProgress[] done = new CopyProgress[1];
            double cpu0 = cpuSeconds();
            sparseTimes.add(pairKitTimed(sparse, dst, direct, SPARSE_SIZE, done));
            sparseCpu.add(cpuSeconds() - cpu0);
            last = done[0];
            allocated = Math.max(allocated, allocatedBytes(dst));
            verifySparse(dst, pieces, stride, pieceCrc, data);
          } else {
            double cpu0 = cpuSeconds();
            denseTimes.add(pairKitTimed(dense, dst, direct, size, new CopyProgress[1]));
            denseCpu.add(cpuSeconds() - cpu0);
          }
        }
      }
      double d = Stats.median(denseTimes);
      double s = Stats.median(sparseTimes);
      System.out.printf("| direct=%s | %s | %s | %sx | %s | %s / %s | %d | %d / %d |%n", direct,
          Scenarios.fmt(d), Scenarios.fmt(s), Scenarios.fmt(s / d),
          Scenarios.fmt(data / s / 1e6), Scenarios.fmt(Stats.median(denseCpu)),
          Scenarios.fmt(Stats.median(sparseCpu)), allocated >> 20, last.tracksCopied(),
          last.tracksToCopy());
    }
    System.out.println();
    Files.deleteIfExists(dst);
    Files.deleteIfExists(sparse);
  }

  private double pairKitTimed(Path src, Path dst, boolean direct, long bytes,
      CopyProgress[] done) throws Exception {
    try (PairController pk = PairKit.controller()) {
      HostVolume p = pk.openVolume(Scenarios.fileSpec("p", src, "open", direct, bytes));
      HostVolume s = pk.openVolume(Scenarios.fileSpec("s", dst, "create", direct, bytes));
      settle();
      long t0 = System.nanoTime();
      VolumePair pair = pk.createVolumePair("copy", p, s);
      done[0] = pair.initialCopy().await(WAIT);
      s.flush();
      return (System.nanoTime() - t0) / 1e9;
    }
  }

  /** A 1 TiB sparse file with {@code pieces} pieces of 64 MiB random data; their CRC32Cs. */
  private static long[] makeSparseImage(Path path, long pieces, long stride) throws IOException {
    Files.deleteIfExists(path);
    sparseFile(path, SPARSE_SIZE);
    long[] crcs = new long[(int) pieces];
    Random random = new Random(2);
    byte[] chunk = new byte[8 << 20];
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.WRITE)) {
      for (int i = 0; i < pieces; i++) {
        CRC32C crc = new CRC32C();
        long base = i * stride + stride / 2 / PIECE * PIECE; // mid-stride, 64 MiB aligned
        for (long pos = 0; pos < PIECE; pos += chunk.length) {
          random.nextBytes(chunk);
          crc.update(chunk);
          ByteBuffer b = ByteBuffer.wrap(chunk);
          while (b.hasRemaining()) {
            ch.write(b, base + pos + b.position());
          }
        }
        crcs[i] = crc.getValue();
      }
      ch.force(true);
    }
    return crcs;
  }

  /** The pieces match, sampled holes read as zeros, and the allocation is about the data. */
  private static void verifySparse(Path dst, long pieces, long stride, long[] pieceCrc,
      long data) throws IOException, InterruptedException {
    if (Files.size(dst) != SPARSE_SIZE) {
      throw new IllegalStateException("sparse copy: destination size " + Files.size(dst));
    }
    for (int i = 0; i < pieces; i++) {
      long base = i * stride + stride / 2 / PIECE * PIECE;
      if (crc(dst, base, PIECE) != pieceCrc[i]) {
        throw new IllegalStateException("sparse copy: piece " + i + " differs");
      }
    }
    ByteBuffer b = ByteBuffer.allocate(1 << 20);
    try (FileChannel ch = FileChannel.open(dst, StandardOpenOption.READ)) {
      Random random = new Random(3);
      for (int k = 0; k < 64; k++) {
        long at = Math.floorMod(random.nextLong(), SPARSE_SIZE / b.capacity()) * b.capacity();
        long inStride = at % stride;
        long pieceStart = stride / 2 / PIECE * PIECE;
        if (inStride + b.capacity() > pieceStart && inStride < pieceStart + PIECE) {
          continue; // inside a data piece
        }
        b.clear();
        while (b.hasRemaining() && ch.read(b, at + b.position()) > 0) {
          // fill
        }
        for (int j = 0; j < b.capacity(); j++) {
          if (b.get(j) != 0) {
            throw new IllegalStateException("sparse copy: non-zero byte in a hole at " + (at + j));
          }
        }
      }
    }
    long allocated = allocatedBytes(dst);
    if (allocated > data + (64L << 20)) {
      throw new IllegalStateException("sparse copy: secondary allocates " + (allocated >> 20)
          + " MiB for " + (data >> 20) + " MiB of data");
    }
  }

  // ------------------------------------------------------------------ helpers

  /** CPU seconds this JVM used so far (all threads; includes setup outside the timed part). */
  private static double cpuSeconds() {
    return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
        .getOperatingSystemMXBean()).getProcessCpuTime() / 1e9;
  }

  /** {@code sync}, then drop the page cache (if permitted; says once if not). */
  private static void settle() throws Exception {
    Scenarios.sync();
    Scenarios.dropPageCache();
  }

  /** A fresh sparse file of {@code bytes}, as PairKit's file volumes create theirs. */
  private static void sparseFile(Path path, long bytes) throws IOException {
    Files.deleteIfExists(path);
    try (RandomAccessFile raf = new RandomAccessFile(path.toFile(), "rw")) {
      raf.setLength(bytes);
    }
  }

  /** Bytes the file system allocated to {@code path} ({@code stat %b x %B}). */
  static long allocatedBytes(Path path) throws IOException, InterruptedException {
    Process p = new ProcessBuilder("stat", "-c", "%b %B", path.toString()).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    if (p.waitFor() != 0) {
      throw new IOException("stat " + path + " failed");
    }
    String[] f = out.split(" ");
    return Long.parseLong(f[0]) * Long.parseLong(f[1]);
  }

  private static long crc(Path path, long offset, long length) throws IOException {
    CRC32C crc = new CRC32C();
    ByteBuffer b = ByteBuffer.allocateDirect(8 << 20);
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
      long pos = offset;
      long end = offset + length;
      while (pos < end) {
        b.clear().limit((int) Math.min(b.capacity(), end - pos));
        int n = ch.read(b, pos);
        if (n < 0) {
          throw new IOException(path + " ends at " + pos);
        }
        b.flip();
        crc.update(b);
        pos += n;
      }
    }
    return crc.getValue();
  }
}
