package io.pairkit.backend.raid;

import io.pairkit.api.ExtentSet;
import io.pairkit.api.spi.ScrubReport;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.VolumeCapabilities;
import io.pairkit.api.spi.VolumeHealth;
import io.pairkit.api.spi.Volumes;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A striped disk array (RAID-0, RAID-1 or RAID-5) over member volumes, judged against Linux md.
 * Layout in {@link RaidGeometry}; each level's I/O in its {@link RaidLayout}; the members' states
 * in {@link ArrayState}; crash consistency in {@link WriteHoleGuard} ({@link WriteIntentBitmap},
 * {@link PartialParityLog}); assembly from the members' superblocks in {@link ArrayAssembler};
 * rebuild in {@link Rebuilder}; scrub in {@link Scrubber}. This class ties them together behind
 * the {@link Volume} contract.
 *
 * <p>I/O: a request is cut into per-member pieces; consecutive pieces on one member are merged
 * into one member I/O, and all members' I/Os are issued at once. RAID-5 writes of whole rows
 * compute parity from the new data alone; a partial row reads either the old data and parity
 * (read-modify-write) or the rest of the row (reconstruct-write), whichever reads less.
 *
 * <p>Failures: a member I/O error (after three tries of a transient one) marks the member failed
 * on the others' superblocks, and the request is redone degraded: reads are reconstructed from
 * parity or served by another mirror, writes continue. One failure more than the level survives
 * fails the array with {@link ArrayFailedException}; it never returns wrong data. A RAID-0 member
 * error fails the request (there is nothing to fall back on) without failing the member.
 *
 * <p>Threading: thread-safe. RAID-1 and RAID-5 writes hold the locks of the rows they touch
 * (striped, taken in ascending order), as do reconstructing reads and the rebuild; plain reads
 * take none (overlapping a write, they may see old, new or a mix, as the contract allows).
 */
public final class RaidVolume implements Volume {
  private static final System.Logger LOG = System.getLogger(RaidVolume.class.getName());

  final RaidConfig config;
  final RaidGeometry g;
  private final String name;
  private final long size;
  private final VolumeCapabilities capabilities;
  /** Per-row locks: a request, a rebuild batch or a scrub batch holds its rows'. */
  private final RowLocks rowLocks = new RowLocks();
  private final ExecutorService ioPool;
  /** Member calls: retries of transient errors, failures typed, parallel batches. */
  private final MemberIo io;
  private final ArrayState state;
  private final WriteHoleGuard guard;
  private final RaidLayout layout;
  private final Thread housekeeper;
  private volatile Rebuilder rebuilder;
  /** Whether assembly finished: only then may close record a clean stop. */
  private volatile boolean started;

  RaidVolume(RaidConfig config, RaidGeometry geometry, long size, Volume[] members,
      Superblock superblock, String[] lastErrors) {
    this.config = config;
    this.g = geometry;
    this.name = config.name();
    this.size = size;
    Volume[] own = members.clone();
    String[] memberNames = new String[members.length];
    for (int i = 0; i < members.length; i++) {
      memberNames[i] = config.members().get(i).name();
    }
    this.capabilities = capabilitiesOf(geometry, members);
    int threads = Math.min(64, Math.max(4, members.length * 2));
    AtomicInteger count = new AtomicInteger();
    this.ioPool = Executors.newFixedThreadPool(threads, r -> {
      Thread t = new Thread(r, "raid-" + name + "-io-" + count.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    this.io = new MemberIo(name, own, memberNames, ioPool, this::isClosed);
    this.state = new ArrayState(name, geometry, own, memberNames, io, superblock, lastErrors);
    this.guard = new WriteHoleGuard(config, geometry, state, io);
    this.layout = switch (geometry.level) {
      case RAID0 -> new StripedLayout(geometry, state, io, rowLocks, guard);
      case RAID1 -> new MirroredLayout(geometry, state, io, rowLocks, guard);
      case RAID5 -> new ParityLayout(geometry, state, io, rowLocks, guard);
    };
    this.housekeeper = new Thread(this::housekeep, "raid-" + name + "-bitmap");
    housekeeper.setDaemon(true);
  }

  private static VolumeCapabilities capabilitiesOf(RaidGeometry g, Volume[] members) {
    int alignment = 1;
    int concurrency = 0;
    boolean thin = true;
    boolean durable = true;
    boolean fencing = true;
    boolean remote = false;
    int seen = 0;
    for (Volume m : members) {
      if (m == null) {
        continue;
      }
      seen++;
      VolumeCapabilities c = m.capabilities();
      alignment = Math.max(alignment, c.alignment());
      concurrency += c.concurrency();
      thin &= c.thin();
      durable &= c.durableFlush();
      fencing &= c.fencing();
      remote |= c.remote();
    }
    alignment = Math.min(alignment, g.unit);
    if (seen > 0) {
      concurrency = concurrency * members.length / seen;
    }
    int fullStripe = (int) Math.min(VolumeCapabilities.MAX_PREFERRED_IO_SIZE, g.rowBytes());
    int preferred = Math.max(alignment, fullStripe / alignment * alignment);
    return new VolumeCapabilities(alignment, preferred, Math.max(1, Math.min(1024, concurrency)),
        thin, durable, fencing && seen > 0, remote);
  }

  void start() {
    started = true;
    housekeeper.start();
    startRebuildIfNeeded();
  }

  /** The members' states, for assembly. */
  ArrayState arrayState() {
    return state;
  }

  /** The member calls, for assembly's recovery. */
  MemberIo memberIo() {
    return io;
  }

  /** The bitmap, the log and the member flushes, for assembly's recovery. */
  WriteHoleGuard writeHoleGuard() {
    return guard;
  }

  // ---------------------------------------------------------------- Volume

  @Override
  public String name() {
    return name;
  }

  @Override
  public long size() {
    return size;
  }

  @Override
  public VolumeCapabilities capabilities() {
    return capabilities;
  }

  @Override
  public Optional<String> volumeId() {
    return Optional.of("raid:" + state.arrayId());
  }

  @Override
  public void read(long offset, ByteBuffer dst) throws IOException {
    state.checkOpen();
    int len = dst.remaining();
    Volumes.checkRange(name, size, offset, len);
    if (len == 0) {
      return;
    }
    if (dst.hasArray()) {
      // Straight into the caller's array: no second buffer, no copy (a failed read leaves the
      // bytes unspecified and the position unchanged, as the contract allows).
      byte[] out = dst.array();
      int at = dst.arrayOffset() + dst.position();
      state.withRetry(() -> layout.read(offset, out, at, len));
      dst.position(dst.position() + len);
      return;
    }
    byte[] out = new byte[len];
    state.withRetry(() -> layout.read(offset, out, 0, len));
    dst.put(out);
  }

  @Override
  public void write(long offset, ByteBuffer src) throws IOException {
    state.checkOpen();
    int len = src.remaining();
    Volumes.checkRange(name, size, offset, len);
    if (len == 0) {
      return;
    }
    if (g.level == RaidLevel.RAID0 && src.hasArray()) {
      // No copy: without parity or mirrors, nothing can disagree if the caller's bytes change
      // during the call. RAID-1 and RAID-5 copy first, so every member and the parity are
      // computed from the same bytes (md asks for stable pages for the same reason).
      byte[] data = src.array();
      int at = src.arrayOffset() + src.position();
      state.withRetry(() -> layout.write(offset, data, at, len));
      src.position(src.position() + len);
      return;
    }
    byte[] data = new byte[len];
    src.duplicate().get(data);
    state.withRetry(() -> layout.write(offset, data, 0, len));
    src.position(src.position() + len);
  }

  @Override
  public void discard(long offset, long length) throws IOException {
    state.checkOpen();
    Volumes.checkRange(name, size, offset, length);
    if (length == 0) {
      return;
    }
    if (!capabilities.thin()) {
      Volumes.writeZeros(this, offset, length);
      return;
    }
    layout.discard(offset, length);
  }

  @Override
  public ExtentSet allocated(long offset, long length) throws IOException {
    state.checkOpen();
    Volumes.checkRange(name, size, offset, length);
    if (length == 0) {
      return ExtentSet.empty();
    }
    if (!capabilities.thin()) {
      return ExtentSet.of(offset, offset + length);
    }
    return layout.allocated(offset, length);
  }

  @Override
  public void flush() throws IOException {
    state.checkOpen();
    state.checkLost();
    guard.flushMembers();
    state.checkLost();
  }

  @Override
  public void close() throws IOException {
    // Wait for requests in flight; later ones see closed and fail.
    if (!state.close()) {
      return;
    }
    // Background threads stop by flag, never by interrupt: an interrupted FileChannel closes.
    LockSupport.unpark(housekeeper);
    Rebuilder r = rebuilder;
    if (r != null) {
      r.stop();
    }
    try {
      housekeeper.join(10_000);
      if (r != null) {
        r.join();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (started && !state.isLost()) {
      try {
        guard.recordCleanStop(); // nothing to resynchronise at the next assembly
      } catch (IOException | RuntimeException e) {
        LOG.log(Level.WARNING, "RAID volume '" + name + "': could not record a clean stop; the "
            + "next assembly resynchronises the rows written last", e);
      }
    }
    ioPool.shutdown();
    io.closeMembers();
  }

  @Override
  public String toString() {
    return "RaidVolume[" + name + ", " + g.level + ", " + state.memberCount() + " members]";
  }

  // ---------------------------------------------------------------- administration

  /** The members' states and rebuild progress, as {@link RaidStatus} says them. */
  @Override
  public VolumeHealth health() {
    RaidStatus st = status();
    List<VolumeHealth.Component> parts = new ArrayList<>();
    StringBuilder notes = new StringBuilder();
    for (RaidStatus.Member m : st.members()) {
      parts.add(new VolumeHealth.Component(m.name(), m.state().name(), m.rebuiltBytes(),
          m.dataBytes(), m.lastError()));
      if (m.state() != MemberState.ACTIVE) {
        notes.append(", member ").append(m.index()).append(" (").append(m.name()).append(") ")
            .append(m.state());
        if (m.dataBytes() > 0 && m.rebuiltBytes() < m.dataBytes()) {
          notes.append(' ').append(100 * m.rebuiltBytes() / m.dataBytes()).append('%');
        }
      }
    }
    return new VolumeHealth(st.degraded(), st.level() + ", " + st.members().size() + " members"
        + (st.degraded() ? ", degraded" : ", in sync") + notes
        + st.failure().map(f -> "; failed: " + f).orElse(""), parts);
  }

  /** A snapshot of the array's health. Works after close. */
  public RaidStatus status() {
    return new RaidStatus(g.level, g.unit, state.members(), guard.dirtyBits(),
        state.lostMessage());
  }

  /** See {@link Scrubber}: md's check, or repair, of every stripe, alongside host I/O. */
  @Override
  public ScrubReport scrub(boolean repair) throws IOException {
    return new Scrubber(name, size, g, state, io, rowLocks, guard, repair).run();
  }

  /**
   * Waits until no member is being rebuilt.
   *
   * @return true if none is (any more), false on timeout
   */
  public boolean awaitRebuild(Duration timeout) throws InterruptedException {
    Rebuilder r = rebuilder;
    return r == null || r.await(timeout);
  }

  /**
   * Puts {@code replacement} in place of failed member {@code index} and starts rebuilding it in
   * the background (host I/O continues; the pace is the {@code rebuildSpeedLimit} property). The
   * array owns the replacement from now on.
   *
   * @throws io.pairkit.api.error.VolumeConfigException if the member is not failed, or the
   *     replacement is smaller than the other members
   */
  public void replaceMember(int index, Volume replacement) throws IOException {
    state.checkOpen();
    state.exclusiveOpLock().lock(); // no request may still hold a snapshot with the old volume
    try {
      state.checkOpen();
      state.replace(index, replacement);
    } finally {
      state.exclusiveOpLock().unlock();
    }
    startRebuildIfNeeded();
  }

  // ---------------------------------------------------------------- background work

  private void startRebuildIfNeeded() {
    synchronized (state.lock()) {
      if (!state.rebuildWanted()) {
        return;
      }
      Rebuilder r = rebuilder;
      if (r != null && r.isRunning()) {
        return; // it looks for more members to rebuild before it stops
      }
      rebuilder = new Rebuilder(name, g, state, io, rowLocks, config.rebuildBytesPerSecond());
      rebuilder.start();
    }
  }

  /** Clears the write-intent bits of rows idle for a period, after a flush. */
  private void housekeep() {
    long idleBefore = 0;
    long period = Math.max(50, config.bitmapClearDelay().toMillis());
    while (!state.isClosed()) {
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(period));
      if (state.isClosed()) {
        return;
      }
      long mark = guard.epoch();
      try {
        guard.clearIdle(idleBefore);
      } catch (IOException | RuntimeException e) {
        LOG.log(Level.DEBUG, "bitmap clearing of '" + name + "' failed; retried later", e);
      }
      idleBefore = mark;
    }
  }

  private boolean isClosed() {
    return state != null && state.isClosed();
  }
}
