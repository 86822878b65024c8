package io.pairkit.core.internal.engine;

import io.pairkit.api.CopyRequest;
import io.pairkit.api.Extent;
import io.pairkit.api.ExtentPair;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.ExtentSplitPair;
import io.pairkit.api.HostVolume;
import io.pairkit.api.MirrorMode;
import io.pairkit.api.Pair;
import io.pairkit.api.Pair;
import io.pairkit.api.PairController;
import io.pairkit.api.PairState;
import io.pairkit.api.TrackStates;
import io.pairkit.api.VolumePair;
import io.pairkit.api.error.PairKitException;
import io.pairkit.api.spi.VolumeSpec;
import io.pairkit.core.PairKit;
import io.pairkit.core.cache.TrackCacheConfig;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.StringJoiner;

/**
 * The child of {@link KillTest}: a random single-threaded workload on three durable pairs that
 * share one primary (a volume pair, an extent-split pair and an extent pair), run until the
 * parent kills it with SIGKILL. Before each operation it appends a line to {@code log.txt} and
 * forces it; after each it prints {@code op N} on stdout, which the parent counts to choose its
 * moment. A request is preceded by a flush (the application quiesces), so the primary's image at
 * the request instant is the child's model, which the line records as per-track hashes.
 *
 * <p>Log lines: {@code B h0,h1,...} (the primary at start), {@code W t0 t1 h...} (a write to the
 * primary covering tracks [t0, t1), with their hashes after it), {@code F} (a flush returned; it
 * counts once a later line follows), {@code S pair t0 t1} (a write to the secondary's frozen
 * tracks), {@code R pair kind t:h,...} (a request and its region's tracks with the primary's
 * hashes at the instant; acknowledged once a later line follows), {@code X} (the operation of
 * the line before was refused, so it did not happen).
 *
 * <p>Arguments: directory, seed, whether to use the write-back track cache, and the number of
 * operations to run at most.
 */
public final class KillChild {
  static final int TS = 4096;
  static final int TRACKS = 64;
  static final long SIZE = (long) TS * TRACKS;
  static final ExtentSet EP_SCOPE = ExtentSet.of(Extent.of(8L * TS, 16L * TS),
      Extent.of(40L * TS, 48L * TS));
  static final String[] SECONDARIES = {"s1", "s2", "s3"};

  private final FileChannel log;
  private final Random rnd;
  private final byte[] model = new byte[(int) SIZE];

  private KillChild(FileChannel log, Random rnd) {
    this.log = log;
    this.rnd = rnd;
  }

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    long seed = Long.parseLong(args[1]);
    boolean cache = Boolean.parseBoolean(args[2]);
    int maxOps = Integer.parseInt(args[3]);
    Random rnd = new Random(seed);
    PairKit.Builder builder = PairKit.builder().trackSize(TS).metadataDirectory(dir.resolve("meta"))
        .lazyClearDelay(Duration.ofMillis(1 + rnd.nextInt(40)));
    if (cache) {
      builder.trackCache(new TrackCacheConfig(24L * TS, false, 0.5)); // small: destages often
    }
    try (FileChannel log = FileChannel.open(dir.resolve("log.txt"), StandardOpenOption.CREATE,
        StandardOpenOption.WRITE, StandardOpenOption.APPEND);
        PairController pk = builder.build()) {
      new KillChild(log, rnd).run(pk, dir, maxOps);
    }
  }

  static VolumeSpec spec(Path dir, String name) {
    return VolumeSpec.builder(name, "file").property("path", dir.resolve(name + ".img").toString())
        .property("size", SIZE).property("mode", "openOrCreate").build();
  }

  static String hash(byte[] data, int from, int length) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      md.update(data, from, length);
      return HexFormat.of().formatHex(md.digest(), 0, 8);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  static String[] trackHashes(byte[] image) {
    String[] out = new String[TRACKS];
    for (int t = 0; t < TRACKS; t++) {
      out[t] = hash(image, t * TS, TS);
    }
    return out;
  }

  private static HostVolume volume(PairController pk, Path dir, String name) {
    return pk.volumes().stream().filter(v -> v.name().equals(name)).findFirst()
        .orElseGet(() -> pk.openVolume(spec(dir, name)));
  }

  static boolean has(PairController pk, String pairId) {
    return pk.pairs().stream().anyMatch(p -> p.id().equals(pairId));
  }

  private void run(PairController pk, Path dir, int maxOps) throws IOException {
    HostVolume p = volume(pk, dir, "p");
    HostVolume[] s = new HostVolume[SECONDARIES.length];
    for (int i = 0; i < s.length; i++) {
      s[i] = volume(pk, dir, SECONDARIES[i]);
    }
    p.read(0, ByteBuffer.wrap(model));
    line("B " + String.join(",", trackHashes(model)));
    if (!has(pk, "vp")) {
      pk.createVolumePair("vp", p, s[0]);
    }
    if (!has(pk, "xs")) {
      pk.createExtentSplitPair("xs", p, s[1]);
    }
    if (!has(pk, "ep")) {
      pk.createExtentPair("ep", p, s[2], EP_SCOPE);
    }
    for (Pair pair : pk.pairs()) { // both mirror modes, switched across children
      if (rnd.nextBoolean()) {
        pair.setMirrorMode(rnd.nextBoolean() ? MirrorMode.SYNCHRONOUS : MirrorMode.ASYNCHRONOUS);
      }
    }
    boolean paused = false;
    for (int op = 1; op <= maxOps; op++) {
      int k = rnd.nextInt(100);
      if (k < 55) {
        writePrimary(p);
      } else if (k < 62) {
        pk.flush();
        line("F");
      } else if (k < 70) {
        writeSecondary(pk, s);
      } else if (k < 94) {
        request(pk, paused);
      } else {
        paused = !paused;
        if (paused) {
          pk.pauseBackgroundCopies();
        } else {
          pk.resumeBackgroundCopies();
        }
      }
      System.out.println("op " + op);
      System.out.flush();
    }
  }

  private void writePrimary(HostVolume p) throws IOException {
    long offset = (long) rnd.nextInt(TRACKS) * TS + (rnd.nextBoolean() ? rnd.nextInt(TS) : 0);
    int length = (int) Math.min(SIZE - offset, 1 + rnd.nextInt(2 * TS));
    byte[] data = new byte[length];
    rnd.nextBytes(data);
    System.arraycopy(data, 0, model, (int) offset, length);
    int t0 = (int) (offset / TS);
    int t1 = (int) ((offset + length + TS - 1) / TS);
    StringJoiner hs = new StringJoiner(",");
    for (int t = t0; t < t1; t++) {
      hs.add(hash(model, t * TS, TS));
    }
    line("W " + t0 + " " + t1 + " " + hs);
    p.write(offset, data);
  }

  private void writeSecondary(PairController pk, HostVolume[] s) throws IOException {
    int i = rnd.nextInt(SECONDARIES.length);
    Pair pair = pk.pair(new String[] {"vp", "xs", "ep"}[i]);
    TrackStates st = pair.trackStates(Extent.of(0, SIZE));
    List<Long> split = new ArrayList<>();
    for (long t = 0; t < TRACKS; t++) {
      if (st.state(t).isSplit()) {
        split.add(t);
      }
    }
    if (split.isEmpty()) {
      return;
    }
    long t = split.get(rnd.nextInt(split.size()));
    line("S " + pair.id() + " " + t + " " + (t + 1));
    byte[] data = new byte[1 + rnd.nextInt(TS)];
    rnd.nextBytes(data);
    try {
      s[i].write(t * TS + rnd.nextInt(TS - data.length + 1), data);
    } catch (PairKitException e) {
      line("X " + e.getClass().getSimpleName());
    }
  }

  private void request(PairController pk, boolean paused) throws IOException {
    String id = new String[] {"vp", "xs", "ep"}[rnd.nextInt(3)];
    Pair pair = pk.pair(id);
    PairState state = pair.state();
    boolean split = state == PairState.SPLIT || state == PairState.SPLITTING;
    String kind;
    ExtentSet region;
    switch (id) {
      case "vp" -> {
        if (!split) {
          kind = "SPLIT";
          region = ExtentSet.of(0, SIZE);
        } else if (rnd.nextBoolean()) {
          kind = "UPDATE";
          region = randomRange(8);
        } else {
          kind = "RESYNC";
          region = ExtentSet.of(0, SIZE);
        }
      }
      case "ep" -> {
        kind = split ? "RESYNC" : "SPLIT";
        region = EP_SCOPE;
      }
      default -> {
        ExtentSet frozen = pair.splitExtents();
        if (!frozen.isEmpty() && rnd.nextBoolean()) {
          kind = "JOIN";
          region = rnd.nextBoolean() ? frozen : randomRange(16).intersection(frozen);
        } else {
          kind = "XSPLIT";
          region = randomRange(16).minus(frozen);
        }
        if (region.isEmpty()) {
          return;
        }
      }
    }
    pk.flush();
    line("F");
    StringJoiner tracks = new StringJoiner(",");
    ExtentSet inScope = region.intersection(pair.scope());
    for (Extent r : inScope.trackRanges(TS)) {
      for (long t = r.start(); t < r.end(); t++) {
        tracks.add(t + ":" + hash(model, (int) t * TS, TS));
      }
    }
    line("R " + id + " " + kind + " " + tracks);
    try {
      CopyRequest req = switch (kind) {
        case "SPLIT" -> id.equals("vp") ? ((VolumePair) pair).split() : ((ExtentPair) pair).split();
        case "UPDATE" -> ((VolumePair) pair).extentUpdate(region);
        case "RESYNC" -> id.equals("vp") ? ((VolumePair) pair).resync()
            : ((ExtentPair) pair).resync();
        case "JOIN" -> ((ExtentSplitPair) pair).extentJoin(region);
        default -> ((ExtentSplitPair) pair).extentSplit(region);
      };
      if (!paused && rnd.nextInt(3) == 0) {
        req.await(Duration.ofSeconds(30));
      }
    } catch (PairKitException e) {
      line("X " + e.getClass().getSimpleName());
    }
  }

  private ExtentSet randomRange(int maxTracks) {
    long t0 = rnd.nextInt(TRACKS);
    long t1 = Math.min(TRACKS, t0 + 1 + rnd.nextInt(maxTracks));
    return ExtentSet.of(t0 * TS, t1 * TS);
  }

  private void line(String text) throws IOException {
    ByteBuffer b = ByteBuffer.wrap((text + "\n").getBytes(StandardCharsets.UTF_8));
    while (b.hasRemaining()) {
      log.write(b);
    }
    log.force(false);
  }
}
