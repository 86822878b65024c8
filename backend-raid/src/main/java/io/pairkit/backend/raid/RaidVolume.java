package io.pairkit.backend.raid;

import io.pairkit.backend.raid.MemberIo.IoTask;
import io.pairkit.backend.raid.MemberIo.MemberFailure;

import java.lang.System.Logger.Level;
import io.pairkit.api.Extent;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.error.AlreadyClosedException;
import io.pairkit.api.spi.TransientIOException;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.VolumeCapabilities;
import io.pairkit.api.spi.Volumes;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A striped disk array (RAID-0, RAID-1 or RAID-5) over member volumes, judged against Linux md.
 * Layout in {@link RaidGeometry}; crash consistency in {@link WriteIntentBitmap} and
 * {@link PartialParityLog}; assembly from the members' superblocks in {@link ArrayAssembler};
 * rebuild in {@link Rebuilder}.
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
  private static final int MAX_BATCH_BYTES = 16 << 20;
  /** Unflushed rows tracked before a flush is forced (bounds memory). */
  private static final int MAX_UNFLUSHED_ROWS = 1 << 16;

  final RaidConfig config;
  final RaidGeometry g;
  private final String name;
  private final long size;
  final Volume[] members;
  private final String[] memberNames;
  private final VolumeCapabilities capabilities;
  private final Object stateLock = new Object();
  /** Guarded by stateLock. */
  private final MemberState[] states;
  /** Guarded by stateLock. */
  private final String[] lastErrors;
  /** Guarded by stateLock. */
  private Superblock superblock;
  /** Per member, rows below which it is in sync: 0 failed, Long.MAX_VALUE active. */
  private volatile long[] cursors;
  private volatile String lostMessage;
  private volatile Throwable lostCause;
  final WriteIntentBitmap bitmap;
  final PartialParityLog ppl;
  /** Per-row locks: a request, a rebuild batch or a scrub batch holds its rows'. */
  final RowLocks rowLocks = new RowLocks();
  private final ExecutorService ioPool;
  /** Member calls: retries of transient errors, failures typed, parallel batches. */
  private final MemberIo io;
  private final AtomicLong epoch = new AtomicLong(1);
  private volatile long durableEpoch;
  private final ReentrantLock flushLock = new ReentrantLock();
  /** Rows written since the last member flush: {data-unit mask, epoch of the last write}. */
  private final ConcurrentHashMap<Long, long[]> unflushed = new ConcurrentHashMap<>();
  private final Thread housekeeper;
  private volatile Rebuilder rebuilder;
  private volatile boolean closed;
  /** Whether assembly finished: only then may close record a clean stop. */
  private volatile boolean started;
  /**
   * Requests, flushes and rebuild batches hold it shared; replacing a member and closing hold it
   * exclusively, so no request still uses a member's old volume or snapshot when it changes.
   */
  private final java.util.concurrent.locks.ReentrantReadWriteLock opLock =
      new java.util.concurrent.locks.ReentrantReadWriteLock();
  /** Guarded by stateLock: bumped when a member fails or is replaced. */
  private final int[] incarnations;

  RaidVolume(RaidConfig config, RaidGeometry geometry, long size, Volume[] members,
      Superblock superblock, String[] lastErrors) {
    this.config = config;
    this.g = geometry;
    this.name = config.name();
    this.size = size;
    this.members = members.clone();
    this.memberNames = new String[members.length];
    for (int i = 0; i < members.length; i++) {
      memberNames[i] = config.members().get(i).name();
    }
    this.superblock = superblock;
    this.states = superblock.states().clone();
    this.lastErrors = lastErrors.clone();
    this.incarnations = new int[members.length];
    long[] c = new long[members.length];
    for (int i = 0; i < c.length; i++) {
      c[i] = switch (states[i]) {
        case ACTIVE -> Long.MAX_VALUE;
        case FAILED -> 0;
        case REBUILDING -> superblock.rebuildRows()[i];
      };
    }
    this.cursors = c;
    this.capabilities = capabilitiesOf(config, geometry, members);
    MetadataWriter writer = new MetadataWriter() {
      @Override
      public void writeToLiveMembers(long offset, byte[] data, boolean durable)
          throws IOException {
        RaidVolume.this.writeToLiveMembers(offset, data, durable);
      }

      @Override
      public void writeToMember(int member, long offset, byte[] data) throws IOException {
        RaidVolume.this.writeMetadata(member, offset, data);
      }

      @Override
      public void flushMembers() throws IOException {
        RaidVolume.this.flushMembers();
      }
    };
    this.bitmap = config.writeHole() == RaidConfig.WriteHoleProtection.NONE ? null
        : new WriteIntentBitmap(geometry, writer);
    this.ppl = config.writeHole() == RaidConfig.WriteHoleProtection.PPL
        ? new PartialParityLog(geometry, superblock.arrayId(), writer, 1) : null;
    int threads = Math.min(64, Math.max(4, members.length * 2));
    AtomicInteger count = new AtomicInteger();
    this.ioPool = Executors.newFixedThreadPool(threads, r -> {
      Thread t = new Thread(r, "raid-" + name + "-io-" + count.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    this.io = new MemberIo(name, this.members, memberNames, ioPool, () -> closed);
    this.housekeeper = new Thread(this::housekeep, "raid-" + name + "-bitmap");
    housekeeper.setDaemon(true);
  }

  private static VolumeCapabilities capabilitiesOf(RaidConfig config, RaidGeometry g,
      Volume[] members) {
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
    return Optional.of("raid:" + superblock.arrayId());
  }

  @Override
  public void read(long offset, ByteBuffer dst) throws IOException {
    checkOpen();
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
      withRetry(() -> readRange(offset, out, at, len));
      dst.position(dst.position() + len);
      return;
    }
    byte[] out = new byte[len];
    withRetry(() -> readRange(offset, out, 0, len));
    dst.put(out);
  }

  @Override
  public void write(long offset, ByteBuffer src) throws IOException {
    checkOpen();
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
      withRetry(() -> writeStriped(offset, data, at, len));
      src.position(src.position() + len);
      return;
    }
    byte[] data = new byte[len];
    src.duplicate().get(data);
    switch (g.level) {
      case RAID0 -> withRetry(() -> writeStriped(offset, data, 0, len));
      case RAID1 -> withRetry(() -> writeMirrored(offset, data, 0, len));
      case RAID5 -> withRetry(() -> writeWithParity(offset, data, 0, len));
    }
    src.position(src.position() + len);
  }

  @Override
  public void discard(long offset, long length) throws IOException {
    checkOpen();
    Volumes.checkRange(name, size, offset, length);
    if (length == 0) {
      return;
    }
    if (!capabilities.thin()) {
      Volumes.writeZeros(this, offset, length);
      return;
    }
    switch (g.level) {
      case RAID0 -> withRetry(() -> discardStriped(offset, length));
      case RAID1 -> withRetry(() -> discardMirrored(offset, length));
      case RAID5 -> discardWithParity(offset, length);
    }
  }

  @Override
  public ExtentSet allocated(long offset, long length) throws IOException {
    checkOpen();
    Volumes.checkRange(name, size, offset, length);
    if (length == 0) {
      return ExtentSet.empty();
    }
    if (!capabilities.thin()) {
      return ExtentSet.of(offset, offset + length);
    }
    long queryEnd = offset + length;
    List<Extent> found = new ArrayList<>();
    long[] c = cursors;
    if (g.level == RaidLevel.RAID1) {
      for (int m = 0; m < members.length; m++) {
        if (c[m] == Long.MAX_VALUE) {
          ExtentSet onMember;
          try {
            onMember = members[m].allocated(g.dataOffset + offset, length);
          } catch (IOException e) {
            continue; // a member that cannot answer is not trusted with holes; ask the next
          }
          for (Extent e : onMember.extents()) {
            found.add(Extent.of(e.start() - g.dataOffset, e.end() - g.dataOffset));
          }
          return ExtentSet.of(found);
        }
      }
      return ExtentSet.of(offset, queryEnd); // nobody could say: all of it may hold data
    }
    long rowBytes = g.rowBytes();
    long firstRow = offset / rowBytes;
    long lastRow = (queryEnd - 1) / rowBytes;
    long span = (lastRow - firstRow + 1) * g.unit;
    for (int m = 0; m < members.length; m++) {
      if (c[m] != Long.MAX_VALUE) {
        // Not (wholly) in sync: count every data unit it holds as allocated (a superset).
        for (long row = firstRow; row <= lastRow; row++) {
          int k = g.level == RaidLevel.RAID0 ? m : g.dataIndexOf(row, m);
          if (k >= 0) {
            long at = row * rowBytes + (long) k * g.unit;
            found.add(Extent.of(at, at + g.unit));
          }
        }
        continue;
      }
      ExtentSet onMember;
      try {
        onMember = members[m].allocated(g.memberOffset(firstRow, 0), span);
      } catch (IOException e) {
        // A member that cannot answer (failing, or its image truncated underneath) is never
        // trusted with a hole: all of the range may hold data.
        return ExtentSet.of(offset, queryEnd);
      }
      for (Extent e : onMember.extents()) {
        long from = e.start() - g.dataOffset;
        long to = e.end() - g.dataOffset;
        for (long row = from / g.unit; row * g.unit < to; row++) {
          int k = g.level == RaidLevel.RAID0 ? m : g.dataIndexOf(row, m);
          if (k < 0) {
            continue; // parity
          }
          long a = Math.max(from, row * g.unit) - row * g.unit;
          long b = Math.min(to, (row + 1) * g.unit) - row * g.unit;
          long at = row * rowBytes + (long) k * g.unit;
          found.add(Extent.of(at + a, at + b));
        }
      }
    }
    return ExtentSet.of(found).intersection(ExtentSet.of(offset, queryEnd));
  }

  @Override
  public void flush() throws IOException {
    checkOpen();
    checkLost();
    flushMembers();
    checkLost();
  }

  @Override
  public void close() throws IOException {
    // Wait for requests in flight; later ones see closed and fail.
    opLock.writeLock().lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
    } finally {
      opLock.writeLock().unlock();
    }
    // Background threads stop by flag, never by interrupt: an interrupted FileChannel closes.
    java.util.concurrent.locks.LockSupport.unpark(housekeeper);
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
    IOException failure = null;
    if (started && lostMessage == null && bitmap != null) {
      try {
        flushMembers();
        bitmap.writeClear(); // a clean stop: nothing to resynchronise at the next assembly
      } catch (IOException | RuntimeException e) {
        LOG.log(Level.WARNING, "RAID volume '" + name + "': could not record a clean stop; the "
            + "next assembly resynchronises the rows written last", e);
      }
    }
    ioPool.shutdown();
    for (Volume m : members) {
      if (m == null) {
        continue;
      }
      try {
        m.close();
      } catch (IOException e) {
        if (failure == null) {
          failure = e;
        }
      }
    }
    if (failure != null) {
      throw failure;
    }
  }

  @Override
  public String toString() {
    return "RaidVolume[" + name + ", " + g.level + ", " + members.length + " members]";
  }

  // ---------------------------------------------------------------- administration

  /** A snapshot of the array's health. Works after close. */
  /** The members' states and rebuild progress, as {@link RaidStatus} says them. */
  @Override
  public io.pairkit.api.spi.VolumeHealth health() {
    RaidStatus st = status();
    java.util.List<io.pairkit.api.spi.VolumeHealth.Component> parts = new java.util.ArrayList<>();
    StringBuilder notes = new StringBuilder();
    for (RaidStatus.Member m : st.members()) {
      parts.add(new io.pairkit.api.spi.VolumeHealth.Component(m.name(), m.state().name(),
          m.rebuiltBytes(), m.dataBytes(), m.lastError()));
      if (m.state() != MemberState.ACTIVE) {
        notes.append(", member ").append(m.index()).append(" (").append(m.name()).append(") ")
            .append(m.state());
        if (m.dataBytes() > 0 && m.rebuiltBytes() < m.dataBytes()) {
          notes.append(' ').append(100 * m.rebuiltBytes() / m.dataBytes()).append('%');
        }
      }
    }
    return new io.pairkit.api.spi.VolumeHealth(st.degraded(), st.level() + ", "
        + st.members().size() + " members" + (st.degraded() ? ", degraded" : ", in sync")
        + notes + st.failure().map(f -> "; failed: " + f).orElse(""), parts);
  }

  public RaidStatus status() {
    List<RaidStatus.Member> list = new ArrayList<>();
    long[] c = cursors;
    long memberData = g.rows * g.unit;
    synchronized (stateLock) {
      for (int i = 0; i < members.length; i++) {
        long done = switch (states[i]) {
          case ACTIVE -> memberData;
          case FAILED -> 0;
          case REBUILDING -> Math.min(c[i], g.rows) * g.unit;
        };
        list.add(new RaidStatus.Member(i, memberNames[i], states[i], done, memberData,
            Optional.ofNullable(lastErrors[i])));
      }
    }
    return new RaidStatus(g.level, g.unit, List.copyOf(list),
        bitmap == null ? 0 : bitmap.dirtyBits(), Optional.ofNullable(lostMessage));
  }

  /** See {@link Scrubber}: md's check, or repair, of every stripe, alongside host I/O. */
  @Override
  public io.pairkit.api.spi.ScrubReport scrub(boolean repair) throws IOException {
    return new Scrubber(this, repair).run();
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
    checkOpen();
    opLock.writeLock().lock(); // no request may still hold a snapshot with the old volume
    try {
      checkOpen();
      synchronized (stateLock) {
        if (index < 0 || index >= members.length) {
          throw new io.pairkit.api.error.VolumeConfigException("RAID volume '" + name
              + "' has members 0.." + (members.length - 1) + ", not " + index);
        }
        if (states[index] != MemberState.FAILED) {
          throw new io.pairkit.api.error.VolumeConfigException("RAID volume '" + name
              + "' member " + index + " (" + memberNames[index] + ") is " + states[index]
              + ", not FAILED: only a failed member can be replaced");
        }
        if (replacement.size() != g.memberSize) {
          throw new io.pairkit.api.error.VolumeConfigException("replacement '"
              + replacement.name() + "' for member " + index + " of RAID volume '" + name
              + "' has " + replacement.size() + " bytes; members have exactly " + g.memberSize
              + ": give it that size");
        }
        Optional<String> id = replacement.volumeId();
        for (int i = 0; i < members.length && id.isPresent(); i++) {
          if (i != index && members[i] != null && members[i].volumeId().equals(id)) {
            throw new io.pairkit.api.error.VolumeConfigException("replacement '"
                + replacement.name() + "' is the image of member " + i + " (" + memberNames[i]
                + ") of RAID volume '" + name + "': give a blank image of its own");
          }
        }
        Volume old = members[index];
        members[index] = replacement;
        if (old != null) {
          try {
            old.close();
          } catch (IOException e) {
            LOG.log(Level.DEBUG, "closing replaced member", e);
          }
        }
        incarnations[index]++;
        states[index] = MemberState.REBUILDING;
        lastErrors[index] = null;
        writeSuperblocksLocked();
        setCursor(index, 0);
      }
    } finally {
      opLock.writeLock().unlock();
    }
    startRebuildIfNeeded();
  }

  // ---------------------------------------------------------------- reads

  private void readRange(long offset, byte[] out, int outOff, int len) throws MemberFailure {
    if (g.level == RaidLevel.RAID1) {
      readMirrored(offset, out, outOff, len);
      return;
    }
    long[] c = cursors;
    if (g.level == RaidLevel.RAID5) {
      long firstRow = offset / g.rowBytes();
      long lastRow = (offset + len - 1) / g.rowBytes();
      for (int m = 0; m < members.length; m++) {
        if (c[m] <= lastRow) {
          readDegraded(offset, out, outOff, len, firstRow, lastRow);
          return;
        }
      }
    }
    List<List<Piece>> direct = piecesByMember(offset, len, outOff);
    List<Piece> lost = new ArrayList<>();
    for (List<Piece> pieces : direct) {
      pieces.removeIf(p -> {
        boolean inSync = p.row < c[p.member];
        if (!inSync) {
          lost.add(p);
        }
        return !inSync;
      });
    }
    List<IoTask> tasks = new ArrayList<>();
    for (int m = 0; m < members.length; m++) {
      for (List<Piece> run : runs(direct.get(m))) {
        tasks.add(() -> readRun(run, out));
      }
    }
    runAll(tasks);
    if (!lost.isEmpty()) { // RAID-0 only: RAID-5 went the degraded way above
      throw new MemberFailure(lost.get(0).member, new IOException("member is not readable"));
    }
  }

  private void readMirrored(long offset, byte[] out, int outOff, int len) throws MemberFailure {
    long[] c = cursors;
    long firstRow = offset / g.unit;
    long lastRow = (offset + len - 1) / g.unit;
    List<Integer> usable = new ArrayList<>();
    for (int m = 0; m < members.length; m++) {
      if (lastRow < c[m]) {
        usable.add(m);
      }
    }
    if (usable.isEmpty()) {
      throw new MemberFailure(-1, new IOException("no in-sync mirror holds rows " + firstRow
          + ".." + lastRow));
    }
    // Large reads are split into one contiguous piece per mirror; small ones pick by row.
    int pieces = len >= 2 * g.unit ? usable.size() : 1;
    int start = pieces == 1 ? (int) (firstRow % usable.size()) : 0;
    long per = (((long) len + pieces - 1) / pieces + g.unit - 1) / g.unit * g.unit;
    List<IoTask> tasks = new ArrayList<>();
    for (int i = 0; i < pieces; i++) {
      long from = i * per;
      long to = Math.min(len, from + per);
      if (from >= to) {
        break;
      }
      int m = usable.get((start + i) % usable.size());
      int at = outOff + (int) from;
      int n = (int) (to - from);
      tasks.add(() -> memberRead(m, g.dataOffset + offset + (at - outOff), out, at, n));
    }
    runAll(tasks);
  }

  private void readRun(List<Piece> run, byte[] out) throws MemberFailure {
    Piece first = run.get(0);
    if (run.size() == 1) {
      memberRead(first.member, first.memberOffset, out, first.outOff, first.length);
      return;
    }
    int total = (int) runLength(run);
    byte[] buf = new byte[total];
    memberRead(first.member, first.memberOffset, buf, 0, total);
    int at = 0;
    for (Piece p : run) {
      System.arraycopy(buf, at, out, p.outOff, p.length);
      at += p.length;
    }
  }

  /**
   * RAID-5 with a member not in sync for some of the rows: in one pass, under the rows' locks,
   * every other member's units of those rows are read as one I/O each, the missing member's
   * units are rebuilt from them by XOR, and the request is served from those buffers (one I/O
   * per member instead of one per piece, and no piece read twice).
   */
  private void readDegraded(long offset, byte[] out, int outOff, int len, long firstRow,
      long lastRow) throws MemberFailure {
    int[] stripes = rowLocks.lock(firstRow, lastRow);
    try {
      long[] c = cursors;
      int rows = (int) (lastRow - firstRow + 1);
      int bytes = rows * g.unit;
      int missing = -1;
      for (int m = 0; m < members.length; m++) {
        if (c[m] <= lastRow) {
          if (missing >= 0) {
            throw new MemberFailure(m, new IOException("a second member is not in sync"));
          }
          missing = m;
        }
      }
      byte[][] units = new byte[members.length][];
      List<IoTask> tasks = new ArrayList<>();
      long at = g.memberOffset(firstRow, 0);
      for (int m = 0; m < members.length; m++) {
        if (m == missing) {
          continue;
        }
        byte[] b = new byte[bytes];
        units[m] = b;
        int mm = m;
        tasks.add(() -> memberRead(mm, at, b, 0, bytes));
      }
      runAll(tasks);
      if (missing >= 0) {
        byte[] rebuilt = new byte[bytes];
        for (byte[] b : units) {
          if (b != null) {
            Xor.into(rebuilt, 0, b, 0, bytes);
          }
        }
        // Rows below a rebuilding member's cursor are in sync on it, but XOR gives the same.
        units[missing] = rebuilt;
      }
      for (List<Piece> pieces : piecesByMember(offset, len, outOff)) {
        for (Piece p : pieces) {
          System.arraycopy(units[p.member], (int) (p.row - firstRow) * g.unit + p.inUnit, out,
              p.outOff, p.length);
        }
      }
    } finally {
      rowLocks.unlock(stripes);
    }
  }

  // ---------------------------------------------------------------- writes

  private void writeStriped(long offset, byte[] data, int dataOff, int len) throws MemberFailure {
    List<List<Piece>> byMember = piecesByMember(offset, len, dataOff);
    List<IoTask> tasks = new ArrayList<>();
    for (int m = 0; m < members.length; m++) {
      for (List<Piece> run : runs(byMember.get(m))) {
        tasks.add(() -> writeRun(run, data));
      }
    }
    runAll(tasks);
  }

  private void writeRun(List<Piece> run, byte[] data) throws MemberFailure {
    Piece first = run.get(0);
    if (run.size() == 1) {
      memberWrite(first.member, first.memberOffset, data, first.outOff, first.length);
      return;
    }
    int total = (int) runLength(run);
    byte[] buf = new byte[total];
    int at = 0;
    for (Piece p : run) {
      System.arraycopy(data, p.outOff, buf, at, p.length);
      at += p.length;
    }
    memberWrite(first.member, first.memberOffset, buf, 0, total);
  }

  private void writeMirrored(long offset, byte[] data, int dataOff, int len)
      throws MemberFailure, IOException {
    long firstRow = offset / g.unit;
    long lastRow = (offset + len - 1) / g.unit;
    int[] stripes = rowLocks.lock(firstRow, lastRow);
    try {
      beginIntent(firstRow, lastRow);
      try {
        long[] c = cursors;
        List<IoTask> tasks = new ArrayList<>();
        for (int m = 0; m < members.length; m++) {
          if (c[m] <= firstRow) {
            continue; // failed, or being rebuilt and not there yet: the rebuild copies it
          }
          long inSync = c[m] == Long.MAX_VALUE ? Long.MAX_VALUE : c[m] * g.unit;
          int n = (int) Math.min(len, inSync - offset);
          int mm = m;
          tasks.add(() -> memberWrite(mm, g.dataOffset + offset, data, dataOff, n));
        }
        runAll(tasks);
      } finally {
        endIntent(firstRow, lastRow);
      }
    } finally {
      rowLocks.unlock(stripes);
    }
  }

  private void writeWithParity(long offset, byte[] data, int dataOff, int len)
      throws MemberFailure, IOException {
    long rowBytes = g.rowBytes();
    long firstRow = offset / rowBytes;
    long lastRow = (offset + len - 1) / rowBytes;
    int[] stripes = rowLocks.lock(firstRow, lastRow);
    try {
      beginIntent(firstRow, lastRow);
      try {
        forEachRowRun(offset, len,
            (row, rows, pos) -> writeFullRows(row, rows, data, dataOff + (int) pos),
            (row, inRow, n, pos) -> writePartialRow(row, inRow, n, data, dataOff + (int) pos));
      } finally {
        endIntent(firstRow, lastRow);
      }
    } finally {
      rowLocks.unlock(stripes);
    }
  }

  /** Whole rows: parity from the new data alone, one write per member. */
  private void writeFullRows(long row0, long rows, byte[] data, int dataOff)
      throws MemberFailure, IOException {
    invalidateLogged(row0, rows);
    int unit = g.unit;
    byte[][] bufs = new byte[members.length][(int) (rows * unit)];
    for (long r = row0; r < row0 + rows; r++) {
      int at = (int) ((r - row0) * unit);
      int p = g.parityMember(r);
      for (int k = 0; k < g.dataMembers; k++) {
        int m = g.dataMember(r, k);
        int src = dataOff + (int) ((r - row0) * g.rowBytes()) + k * unit;
        System.arraycopy(data, src, bufs[m], at, unit);
        Xor.into(bufs[p], at, data, src, unit);
      }
    }
    long[] c = cursors;
    List<IoTask> tasks = new ArrayList<>();
    for (int m = 0; m < members.length; m++) {
      if (c[m] <= row0) {
        continue;
      }
      int n = (int) (Math.min(rows, c[m] - row0) * unit);
      int mm = m;
      tasks.add(() -> memberWrite(mm, g.memberOffset(row0, 0), bufs[mm], 0, n));
    }
    runAll(tasks);
    long e = epoch.get();
    long all = (1L << g.dataMembers) - 1;
    for (long r = row0; r < row0 + rows; r++) {
      noteUnflushed(r, all, e);
    }
  }

  /** Part of one row: read-modify-write or reconstruct-write, logged in the PPL first. */
  private void writePartialRow(long row, int inRow, int n, byte[] data, int dataOff)
      throws MemberFailure, IOException {
    int unit = g.unit;
    int units = g.dataMembers;
    int[] from = new int[units];
    int[] to = new int[units];
    int kFirst = inRow / unit;
    int kLast = (inRow + n - 1) / unit;
    int lo = unit;
    int hi = 0;
    long modifiedMask = 0;
    long coveringMask = 0;
    for (int k = kFirst; k <= kLast; k++) {
      from[k] = k == kFirst ? inRow % unit : 0;
      to[k] = k == kLast ? (inRow + n - 1) % unit + 1 : unit;
      lo = Math.min(lo, from[k]);
      hi = Math.max(hi, to[k]);
      modifiedMask |= 1L << k;
    }
    for (int k = kFirst; k <= kLast; k++) {
      if (from[k] <= lo && to[k] >= hi) {
        coveringMask |= 1L << k;
      }
    }
    int w = hi - lo;
    int p = g.parityMember(row);
    long[] c = cursors;
    boolean healthy = true;
    for (int m = 0; m < members.length; m++) {
      healthy &= row < c[m];
    }
    // Partial parity must come from durable data (PPL rule 4).
    long[] pending = unflushed.get(row);
    boolean ppFromUnflushed = pending != null && pending[1] > durableEpoch
        && (!healthy || (pending[0] & ~coveringMask) != 0);
    if (ppl != null && row < c[p] && (ppFromUnflushed || ppl.wouldStale(row, from, to))) {
      flushMembers();
    }
    byte[] pp = new byte[w];
    if (healthy) {
      long rmwReads = w;
      long rcwReads = 0;
      for (int k = 0; k < units; k++) {
        rmwReads += to[k] - from[k];
        rcwReads += w - (to[k] - from[k]);
      }
      List<IoTask> tasks = new ArrayList<>();
      if (rmwReads <= rcwReads) {
        byte[][] old = new byte[units][];
        for (int k = kFirst; k <= kLast; k++) {
          byte[] o = new byte[to[k] - from[k]];
          old[k] = o;
          int m = g.dataMember(row, k);
          long off = g.memberOffset(row, from[k]);
          tasks.add(() -> memberRead(m, off, o, 0, o.length));
        }
        long pOff = g.memberOffset(row, lo);
        tasks.add(() -> memberRead(p, pOff, pp, 0, w));
        runAll(tasks);
        for (int k = kFirst; k <= kLast; k++) {
          Xor.into(pp, from[k] - lo, old[k], 0, old[k].length);
        }
      } else {
        byte[][] rest = new byte[units][];
        for (int k = 0; k < units; k++) {
          if (to[k] - from[k] == w) {
            continue;
          }
          byte[] r = new byte[w];
          rest[k] = r;
          int m = g.dataMember(row, k);
          int kk = k;
          if (from[k] == to[k]) {
            long off = g.memberOffset(row, lo);
            tasks.add(() -> memberRead(m, off, r, 0, w));
          } else {
            if (from[kk] > lo) {
              long off = g.memberOffset(row, lo);
              int len = from[kk] - lo;
              tasks.add(() -> memberRead(m, off, r, 0, len));
            }
            if (to[kk] < hi) {
              long off = g.memberOffset(row, to[kk]);
              int len = hi - to[kk];
              int at = to[kk] - lo;
              tasks.add(() -> memberRead(m, off, r, at, len));
            }
          }
        }
        runAll(tasks);
        for (byte[] r : rest) {
          if (r != null) {
            Xor.into(pp, 0, r, 0, w); // modified bytes of r are still zero
          }
        }
      }
    } else {
      // Degraded: read the whole [lo, hi) band of the row, rebuild the missing member's share.
      byte[][] band = new byte[members.length][];
      int missing = -1;
      List<IoTask> tasks = new ArrayList<>();
      for (int m = 0; m < members.length; m++) {
        if (row >= c[m]) {
          if (missing >= 0) {
            throw new MemberFailure(m, new IOException("a second member is not in sync"));
          }
          missing = m;
          continue;
        }
        byte[] b = new byte[w];
        band[m] = b;
        int mm = m;
        long off = g.memberOffset(row, lo);
        tasks.add(() -> memberRead(mm, off, b, 0, w));
      }
      runAll(tasks);
      if (missing >= 0 && missing != p) {
        byte[] b = new byte[w];
        for (int m = 0; m < members.length; m++) {
          if (band[m] != null) {
            Xor.into(b, 0, band[m], 0, w);
          }
        }
        band[missing] = b;
      }
      for (int k = 0; k < units; k++) {
        byte[] b = band[g.dataMember(row, k)];
        if (to[k] > from[k]) {
          Arrays.fill(b, from[k] - lo, to[k] - lo, (byte) 0);
        }
        Xor.into(pp, 0, b, 0, w);
      }
    }
    byte[] parity = pp.clone();
    for (int k = kFirst; k <= kLast; k++) {
      int src = dataOff + k * unit + from[k] - inRow;
      Xor.into(parity, from[k] - lo, data, src, to[k] - from[k]);
    }
    PartialParityLog.Ticket ticket = null;
    if (ppl != null && row < c[p]) {
      ticket = ppl.log(row, lo, hi, from, to, pp);
    }
    try {
      List<IoTask> tasks = new ArrayList<>();
      for (int k = kFirst; k <= kLast; k++) {
        int m = g.dataMember(row, k);
        if (row >= c[m]) {
          continue;
        }
        int src = dataOff + k * unit + from[k] - inRow;
        long off = g.memberOffset(row, from[k]);
        int len = to[k] - from[k];
        tasks.add(() -> memberWrite(m, off, data, src, len));
      }
      if (row < c[p]) {
        long off = g.memberOffset(row, lo);
        tasks.add(() -> memberWrite(p, off, parity, 0, w));
      }
      runAll(tasks);
      noteUnflushed(row, modifiedMask, epoch.get());
    } finally {
      if (ticket != null) {
        ppl.complete(ticket, epoch.get());
      }
    }
  }

  /** RAID-0: whole rows are one contiguous range per member; partial rows go piece by piece. */
  private void discardStriped(long offset, long length) throws MemberFailure, IOException {
    forEachRowRun(offset, length, (row, rows, pos) -> {
      List<IoTask> tasks = new ArrayList<>();
      for (int m = 0; m < members.length; m++) {
        int mm = m;
        tasks.add(() -> memberDiscard(mm, g.memberOffset(row, 0), rows * g.unit));
      }
      runAll(tasks);
    }, (row, inRow, n, pos) -> {
      List<IoTask> tasks = new ArrayList<>();
      for (List<Piece> pieces : piecesByMember(row * g.rowBytes() + inRow, n, 0)) {
        for (List<Piece> run : runs(pieces)) {
          Piece first = run.get(0);
          long bytes = runLength(run);
          tasks.add(() -> memberDiscard(first.member, first.memberOffset, bytes));
        }
      }
      runAll(tasks);
    });
  }

  /** Cuts {@code [offset, offset + len)} into stripe-unit pieces, per member, ascending. */
  private List<List<Piece>> piecesByMember(long offset, int len, int outOff) {
    List<List<Piece>> byMember = new ArrayList<>();
    for (int m = 0; m < members.length; m++) {
      byMember.add(new ArrayList<>());
    }
    long end = offset + len;
    for (long x = offset; x < end; ) {
      long u = x / g.unit;
      int in = (int) (x % g.unit);
      int n = (int) Math.min(g.unit - in, end - x);
      long row = u / g.dataMembers;
      int k = (int) (u % g.dataMembers);
      int m = g.dataMember(row, k);
      byMember.get(m).add(new Piece(m, row, k, in, g.memberOffset(row, in),
          outOff + (int) (x - offset), n));
      x += n;
    }
    return byMember;
  }

  private interface FullRows {
    void run(long row, long rows, long pos) throws MemberFailure, IOException;
  }

  private interface PartialRow {
    void run(long row, int inRow, int n, long pos) throws MemberFailure, IOException;
  }

  /**
   * Walks {@code [offset, offset + length)} row by row: runs of whole rows (at most
   * {@link #MAX_BATCH_BYTES} of member data at a time) and partial rows; {@code pos} is the
   * position relative to {@code offset}.
   */
  private void forEachRowRun(long offset, long length, FullRows full, PartialRow partial)
      throws MemberFailure, IOException {
    long rowBytes = g.rowBytes();
    long end = offset + length;
    long maxRows = Math.max(1, MAX_BATCH_BYTES / ((long) g.unit * members.length));
    for (long x = offset; x < end; ) {
      long row = x / rowBytes;
      long rowStart = row * rowBytes;
      if (x == rowStart && end - x >= rowBytes) {
        long rows = Math.min((end - x) / rowBytes, maxRows);
        full.run(row, rows, x - offset);
        x += rows * rowBytes;
      } else {
        int inRow = (int) (x - rowStart);
        int n = (int) Math.min(rowBytes - inRow, end - x);
        partial.run(row, inRow, n, x - offset);
        x += n;
      }
    }
  }

  private void discardMirrored(long offset, long length) throws MemberFailure, IOException {
    long firstRow = offset / g.unit;
    long lastRow = (offset + length - 1) / g.unit;
    int[] stripes = rowLocks.lock(firstRow, lastRow);
    try {
      beginIntent(firstRow, lastRow);
      try {
        long[] c = cursors;
        List<IoTask> tasks = new ArrayList<>();
        for (int m = 0; m < members.length; m++) {
          if (c[m] <= firstRow) {
            continue;
          }
          long inSync = c[m] == Long.MAX_VALUE ? Long.MAX_VALUE : c[m] * g.unit;
          long n = Math.min(length, inSync - offset);
          int mm = m;
          tasks.add(() -> memberDiscard(mm, g.dataOffset + offset, n));
        }
        runAll(tasks);
      } finally {
        endIntent(firstRow, lastRow);
      }
    } finally {
      rowLocks.unlock(stripes);
    }
  }

  /**
   * RAID-5: whole rows are discarded on every member (zeros everywhere keep parity right); in a
   * partial row, zeros are written through the parity path and the stripe units they cover
   * whole are then freed on their members, under the row's lock.
   */
  private void discardWithParity(long offset, long length) throws IOException {
    try {
      forEachRowRun(offset, length, (row, rows, pos) -> withRetry(() -> discardRows(row, rows)),
          (row, inRow, n, pos) -> withRetry(() -> discardPartialRow(row, inRow, n)));
    } catch (MemberFailure f) {
      throw new IllegalStateException("withRetry handles member failures", f);
    }
  }

  private void discardPartialRow(long row, int inRow, int n) throws MemberFailure, IOException {
    int[] stripes = rowLocks.lock(row, row);
    try {
      beginIntent(row, row);
      try {
        writePartialRow(row, inRow, n, new byte[n], 0);
        long[] c = cursors;
        List<IoTask> tasks = new ArrayList<>();
        for (int k = (inRow + g.unit - 1) / g.unit; (k + 1) * g.unit <= inRow + n; k++) {
          int m = g.dataMember(row, k);
          if (row < c[m]) {
            tasks.add(() -> memberDiscard(m, g.memberOffset(row, 0), g.unit));
          }
        }
        runAll(tasks);
      } finally {
        endIntent(row, row);
      }
    } finally {
      rowLocks.unlock(stripes);
    }
  }

  private void discardRows(long row0, long rows) throws MemberFailure, IOException {
    long last = row0 + rows - 1;
    int[] stripes = g.level == RaidLevel.RAID0 ? new int[0] : rowLocks.lock(row0, last);
    try {
      beginIntent(row0, last);
      try {
        invalidateLogged(row0, rows);
        long[] c = cursors;
        List<IoTask> tasks = new ArrayList<>();
        for (int m = 0; m < members.length; m++) {
          if (c[m] <= row0) {
            continue;
          }
          long n = Math.min(rows, c[m] - row0) * g.unit;
          int mm = m;
          tasks.add(() -> memberDiscard(mm, g.memberOffset(row0, 0), n));
        }
        runAll(tasks);
        long e = epoch.get();
        for (long r = row0; r <= last && g.level == RaidLevel.RAID5; r++) {
          noteUnflushed(r, (1L << g.dataMembers) - 1, e);
        }
      } finally {
        endIntent(row0, last);
      }
    } finally {
      rowLocks.unlock(stripes);
    }
  }

  /** Before writing whole rows, which log nothing: their older log entries must not replay. */
  private void invalidateLogged(long row0, long rows) throws IOException {
    if (ppl != null) {
      for (long r = row0; r < row0 + rows; r++) {
        ppl.invalidate(r); // nothing to do for a row without an entry
      }
    }
  }

  private void noteUnflushed(long row, long mask, long when) throws IOException {
    if (ppl == null) {
      return;
    }
    unflushed.merge(row, new long[] {mask, when}, (old, now) ->
        old[1] <= durableEpoch ? now : new long[] {old[0] | now[0], Math.max(old[1], now[1])});
    if (unflushed.size() > MAX_UNFLUSHED_ROWS) {
      flushMembers();
    }
  }

  void beginIntent(long firstRow, long lastRow) throws IOException {
    if (bitmap != null) {
      bitmap.begin(firstRow, lastRow);
    }
  }

  void endIntent(long firstRow, long lastRow) {
    if (bitmap != null) {
      bitmap.end(firstRow, lastRow, epoch.get());
    }
  }

  // ---------------------------------------------------------------- flush, metadata

  /** Flushes every member that is in use; group commit: a flush that began later covers us. */
  void flushMembers() throws IOException {
    long requested = epoch.get();
    opLock.readLock().lock();
    flushLock.lock();
    try {
      if (durableEpoch >= requested) {
        return;
      }
      long startEpoch = epoch.getAndIncrement();
      long seq = ppl == null ? 0 : ppl.completedSeq();
      while (true) {
        checkLost();
        long[] c = cursors;
        List<IoTask> tasks = new ArrayList<>();
        for (int m = 0; m < members.length; m++) {
          if (c[m] > 0) {
            int mm = m;
            tasks.add(() -> memberFlush(mm));
          }
        }
        try {
          runAll(tasks);
          break;
        } catch (MemberFailure f) {
          onMemberFailure(f);
        }
      }
      durableEpoch = startEpoch;
      if (ppl != null) {
        ppl.durable(startEpoch, seq);
      }
      unflushed.values().removeIf(v -> v[1] <= startEpoch);
    } finally {
      flushLock.unlock();
      opLock.readLock().unlock();
    }
  }

  private void writeToLiveMembers(long offset, byte[] data, boolean durable) throws IOException {
    opLock.readLock().lock();
    try {
      writeToLiveMembersLocked(offset, data, durable);
    } finally {
      opLock.readLock().unlock();
    }
  }

  private void writeToLiveMembersLocked(long offset, byte[] data, boolean durable)
      throws IOException {
    while (true) {
      checkLost();
      long[] c = cursors;
      List<IoTask> tasks = new ArrayList<>();
      for (int m = 0; m < members.length; m++) {
        if (c[m] > 0) {
          int mm = m;
          tasks.add(() -> {
            memberWrite(mm, offset, data, 0, data.length);
            if (durable) {
              memberFlush(mm);
            }
          });
        }
      }
      try {
        runAll(tasks);
        return;
      } catch (MemberFailure f) {
        onMemberFailure(f);
      }
    }
  }

  private void writeMetadata(int member, long offset, byte[] data) throws IOException {
    try {
      memberWrite(member, offset, data, 0, data.length);
      memberFlush(member);
    } catch (MemberFailure f) {
      onMemberFailure(f);
      // The member is gone, and with it the need for its log entry.
    }
  }

  /** Writes the current superblock to every member still in use, then flushes them. */
  private void writeSuperblocksLocked() {
    while (true) {
      long[] c = cursors;
      long[] rebuildRows = new long[members.length];
      for (int i = 0; i < members.length; i++) {
        rebuildRows[i] = states[i] == MemberState.REBUILDING ? Math.min(c[i], g.rows) : 0;
      }
      superblock = superblock.withStates(superblock.generation() + 1, states, rebuildRows);
      int failedNow = -1;
      Throwable cause = null;
      for (int m = 0; m < members.length; m++) {
        if (states[m] == MemberState.FAILED) {
          continue;
        }
        Superblock mine = superblock.forMember(m);
        byte[] bytes = mine.encode().array();
        try {
          memberWrite(m, mine.slotOffset(), bytes, 0, bytes.length);
          memberFlush(m);
        } catch (MemberFailure f) {
          failedNow = m;
          cause = f.getCause();
          break;
        }
      }
      if (failedNow < 0) {
        return;
      }
      failLocked(failedNow, cause);
    }
  }

  /** Persists member states (a failure, a rebuild's progress or end). */
  void persistStates() {
    synchronized (stateLock) {
      writeSuperblocksLocked();
    }
  }

  private void onMemberFailure(MemberFailure f) throws IOException {
    if (f.member < 0) {
      throw new ArrayFailedException("RAID volume '" + name + "': " + f.getCause().getMessage(),
          f.getCause());
    }
    if (g.level == RaidLevel.RAID0 && f.getCause() instanceof TransientIOException t) {
      throw new TransientIOException("RAID-0 volume '" + name + "': member " + f.member + " ("
          + memberNames[f.member] + "): " + t.getMessage(), t);
    }
    if (g.level == RaidLevel.RAID0) {
      throw new ArrayFailedException("RAID-0 volume '" + name + "': member " + f.member + " ("
          + memberNames[f.member] + ") failed: " + f.getCause().getMessage() + "; RAID-0 has no "
          + "redundancy, so the request failed (retry once the member is back)", f.getCause());
    }
    synchronized (stateLock) {
      failLocked(f.member, f.getCause());
    }
    checkLost();
  }

  private void failLocked(int m, Throwable cause) {
    if (states[m] == MemberState.FAILED || closed) {
      return; // a close in progress is not a member failure
    }
    LOG.log(Level.WARNING, "RAID volume '" + name + "': member " + m + " (" + memberNames[m]
        + ") failed; continuing degraded", cause);
    states[m] = MemberState.FAILED;
    lastErrors[m] = String.valueOf(cause);
    incarnations[m]++;
    int notInSync = 0;
    for (MemberState s : states) {
      if (s != MemberState.ACTIVE) {
        notInSync++;
      }
    }
    if (notInSync > g.level.redundancy(members.length)) {
      StringBuilder lost = new StringBuilder();
      for (int i = 0; i < members.length; i++) {
        if (states[i] != MemberState.ACTIVE) {
          lost.append(lost.length() == 0 ? "" : ", ").append(memberNames[i]).append(" (")
              .append(states[i] == MemberState.REBUILDING ? "being rebuilt" : lastErrors[i])
              .append(')');
        }
      }
      lostCause = cause;
      lostMessage = g.level + " volume '" + name + "' has lost " + notInSync + " members: "
          + lost + "; " + g.level + " survives " + g.level.redundancy(members.length)
          + ", so some data has no complete copy and I/O is refused. Bring the failed members "
          + "back and reopen, or restore the volume from a copy";
    }
    // Durable first, then visible: no write may skip the member (and no flush return) before
    // the superblocks say it failed, or a crash could resync its stale data back in.
    writeSuperblocksLocked();
    setCursor(m, 0);
  }

  void setCursor(int member, long rows) {
    synchronized (stateLock) {
      long[] c = cursors.clone();
      c[member] = rows;
      cursors = c;
    }
  }

  /** The member's incarnation: it changes when the member fails or is replaced. */
  int incarnation(int member) {
    synchronized (stateLock) {
      return incarnations[member];
    }
  }

  /**
   * Moves a rebuild's cursor, only if the member is still the one being rebuilt.
   *
   * @return false if it failed or was replaced meanwhile (the rebuild of it must stop)
   */
  boolean advanceRebuild(int member, int incarnation, long rows) {
    synchronized (stateLock) {
      if (states[member] != MemberState.REBUILDING || incarnations[member] != incarnation) {
        return false;
      }
      setCursor(member, rows);
      return true;
    }
  }

  void markActive(int member, int incarnation) {
    synchronized (stateLock) {
      if (states[member] != MemberState.REBUILDING || incarnations[member] != incarnation) {
        return;
      }
      states[member] = MemberState.ACTIVE;
      setCursor(member, Long.MAX_VALUE);
      writeSuperblocksLocked();
    }
  }

  Object stateLock() {
    return stateLock;
  }

  /** First member being rebuilt, or -1; call under {@link #stateLock()}. */
  int firstRebuilding() {
    for (int i = 0; i < states.length; i++) {
      if (states[i] == MemberState.REBUILDING) {
        return i;
      }
    }
    return -1;
  }

  /** Records a member failure seen outside a request (the rebuild). */
  void memberFailed(MemberFailure f) {
    if (f.member < 0) {
      return;
    }
    synchronized (stateLock) {
      failLocked(f.member, f.getCause());
    }
  }

  long cursor(int member) {
    return cursors[member];
  }

  MemberState state(int member) {
    synchronized (stateLock) {
      return states[member];
    }
  }

  String memberName(int member) {
    return memberNames[member];
  }

  private void startRebuildIfNeeded() {
    synchronized (stateLock) {
      boolean any = false;
      for (MemberState s : states) {
        any |= s == MemberState.REBUILDING;
      }
      if (!any || closed || lostMessage != null) {
        return;
      }
      Rebuilder r = rebuilder;
      if (r != null && r.isRunning()) {
        return; // it looks for more members to rebuild before it stops
      }
      rebuilder = new Rebuilder(this, config.rebuildBytesPerSecond());
      rebuilder.start();
    }
  }

  private void housekeep() {
    long idleBefore = 0;
    long period = Math.max(50, config.bitmapClearDelay().toMillis());
    while (!closed) {
      java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(period));
      if (closed) {
        return;
      }
      long mark = epoch.get();
      try {
        if (bitmap != null && bitmap.dirtyBits() > 0 && lostMessage == null) {
          flushMembers();
          bitmap.clearIdle(Math.min(durableEpoch, idleBefore));
        }
      } catch (IOException | RuntimeException e) {
        LOG.log(Level.DEBUG, "bitmap clearing of '" + name + "' failed; retried later", e);
      }
      idleBefore = mark;
    }
  }

  // ---------------------------------------------------------------- member I/O

  /** A piece of a request on one member. */
  record Piece(int member, long row, int dataIndex, int inUnit, long memberOffset, int outOff,
      int length) {
  }

  /** Consecutive pieces on one member, merged where their member ranges touch. */
  private static List<List<Piece>> runs(List<Piece> pieces) {
    List<List<Piece>> runs = new ArrayList<>();
    List<Piece> run = null;
    long next = -1;
    for (Piece p : pieces) {
      if (run == null || p.memberOffset != next || runLength(run) + p.length > MAX_BATCH_BYTES) {
        run = new ArrayList<>();
        runs.add(run);
      }
      run.add(p);
      next = p.memberOffset + p.length;
    }
    return runs;
  }

  private static long runLength(List<Piece> run) {
    long n = 0;
    for (Piece p : run) {
      n += p.length;
    }
    return n;
  }

  /** A member I/O failed for good (after retries of a transient failure). */
  private interface Op {
    void run() throws MemberFailure, IOException;
  }

  private void withRetry(Op op) throws IOException {
    while (true) {
      opLock.readLock().lock();
      try {
        checkOpen();
        checkLost();
        op.run();
        return;
      } catch (MemberFailure f) {
        onMemberFailure(f);
      } finally {
        opLock.readLock().unlock();
      }
    }
  }

  /**
   * Refuses a scrub batch while the array is degraded or rebuilding (nothing to compare) or
   * closed; call under the rows' locks.
   */
  void checkScrubbable() throws IOException {
    checkOpen();
    checkLost();
    long[] c = cursors;
    for (int m = 0; m < c.length; m++) {
      if (c[m] != Long.MAX_VALUE) {
        throw new IOException("RAID volume '" + name + "' is degraded (member " + memberNames[m]
            + " is " + state(m) + "): a scrub compares every member, so replace the member and "
            + "let it rebuild, then scrub");
      }
    }
  }

  /** Whether a replacement or a close waits for requests to drain (the rebuild yields). */
  boolean exclusiveOpWaiting() {
    return opLock.hasQueuedThreads();
  }

  /** Runs a member I/O on the pool; the future fails with the {@link MemberFailure}. */
  Future<?> submit(IoTask task) {
    return io.submit(task);
  }

  /** Runs the tasks at once (the caller runs one); the first member failure after all finish. */
  void runAll(List<IoTask> tasks) throws MemberFailure {
    io.runAll(tasks);
  }

  void memberRead(int m, long off, byte[] buf, int at, int len) throws MemberFailure {
    io.read(m, off, buf, at, len);
  }

  void memberWrite(int m, long off, byte[] buf, int at, int len) throws MemberFailure {
    io.write(m, off, buf, at, len);
  }

  private void memberDiscard(int m, long off, long len) throws MemberFailure {
    io.discard(m, off, len);
  }

  void memberFlush(int m) throws MemberFailure {
    io.flush(m);
  }

  /** Shared hold of the operation lock, for the rebuild's batches. */
  java.util.concurrent.locks.Lock sharedOpLock() {
    return opLock.readLock();
  }

  private void checkOpen() {
    if (closed) {
      throw new AlreadyClosedException("RAID volume '" + name + "' is closed");
    }
  }

  private void checkLost() throws ArrayFailedException {
    String lost = lostMessage;
    if (lost != null) {
      throw new ArrayFailedException(lost, lostCause);
    }
  }

  boolean isClosed() {
    return closed;
  }

  boolean isLost() {
    return lostMessage != null;
  }
}
