package io.pairkit.backend.raid;

import io.pairkit.api.error.AlreadyClosedException;
import io.pairkit.api.error.VolumeConfigException;
import io.pairkit.api.spi.TransientIOException;
import io.pairkit.api.spi.Volume;
import io.pairkit.backend.raid.MemberIo.MemberFailure;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The state machine of a RAID volume's members, md's {@code rdev} flags and superblock: each
 * member ACTIVE, FAILED or REBUILDING (with a cursor: rows below it are in sync), its incarnation
 * (bumped when it fails or is replaced, so a rebuild of the old one stops), the array lost once
 * more members are out than the level survives, and the superblocks that record all of it.
 * Every change is durable on the surviving members' superblocks before it is visible to I/O: a
 * write may skip a member only once a crash can no longer resync that member's stale data back.
 *
 * <p>The request paths, the {@link Rebuilder}, the {@link Scrubber} and the
 * {@link ArrayAssembler} all go through this class; none of them touches the states directly.
 *
 * <p>Threading: states, incarnations, last errors and the superblock are guarded by
 * {@link #lock()}; the cursors are a copy-on-write array (a request reads one snapshot). The
 * operation lock is held shared by requests, flushes and rebuild batches, and exclusively by a
 * member replacement and by close, so no request still uses a member's old volume.
 */
final class ArrayState {
  private static final System.Logger LOG = System.getLogger(ArrayState.class.getName());

  private final String name;
  private final RaidGeometry g;
  private final Volume[] members;
  private final String[] memberNames;
  private final MemberIo io;
  private final Object lock = new Object();
  private final MemberState[] states;
  private final String[] lastErrors;
  private final int[] incarnations;
  private Superblock superblock;
  /** Per member, rows below which it is in sync: 0 failed, Long.MAX_VALUE active. */
  private volatile long[] cursors;
  private volatile String lostMessage;
  private volatile Throwable lostCause;
  private volatile boolean closed;
  private final ReentrantReadWriteLock opLock = new ReentrantReadWriteLock();

  ArrayState(String name, RaidGeometry g, Volume[] members, String[] memberNames, MemberIo io,
      Superblock superblock, String[] lastErrors) {
    this.name = name;
    this.g = g;
    this.members = members;
    this.memberNames = memberNames;
    this.io = io;
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
  }

  // ---------------------------------------------------------------- reading the state

  String name() {
    return name;
  }

  int memberCount() {
    return members.length;
  }

  String memberName(int member) {
    return memberNames[member];
  }

  /** A snapshot of every member's cursor: rows below it are in sync on the member. */
  long[] cursors() {
    return cursors;
  }

  long cursor(int member) {
    return cursors[member];
  }

  MemberState state(int member) {
    synchronized (lock) {
      return states[member];
    }
  }

  /** The member's incarnation: it changes when the member fails or is replaced. */
  int incarnation(int member) {
    synchronized (lock) {
      return incarnations[member];
    }
  }

  /** The lock that guards states and incarnations, for a decision that must see them still. */
  Object lock() {
    return lock;
  }

  /** First member being rebuilt, or -1; call under {@link #lock()}. */
  int firstRebuilding() {
    for (int i = 0; i < states.length; i++) {
      if (states[i] == MemberState.REBUILDING) {
        return i;
      }
    }
    return -1;
  }

  java.util.UUID arrayId() {
    synchronized (lock) {
      return superblock.arrayId();
    }
  }

  /** Each member's state and rebuild progress, for {@link RaidStatus}. */
  List<RaidStatus.Member> members() {
    List<RaidStatus.Member> list = new ArrayList<>();
    long[] c = cursors;
    long memberData = g.rows * g.unit;
    synchronized (lock) {
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
    return List.copyOf(list);
  }

  Optional<String> lostMessage() {
    return Optional.ofNullable(lostMessage);
  }

  boolean isLost() {
    return lostMessage != null;
  }

  boolean isClosed() {
    return closed;
  }

  void checkOpen() {
    if (closed) {
      throw new AlreadyClosedException("RAID volume '" + name + "' is closed");
    }
  }

  void checkLost() throws ArrayFailedException {
    String lost = lostMessage;
    if (lost != null) {
      throw new ArrayFailedException(lost, lostCause);
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

  // ---------------------------------------------------------------- the operation lock

  /** Shared hold of the operation lock: requests, flushes, rebuild and scrub batches. */
  Lock sharedOpLock() {
    return opLock.readLock();
  }

  /** Exclusive hold: replacing a member and closing. */
  Lock exclusiveOpLock() {
    return opLock.writeLock();
  }

  /** Whether a replacement or a close waits for requests to drain (the rebuild yields). */
  boolean exclusiveOpWaiting() {
    return opLock.hasQueuedThreads();
  }

  /**
   * Marks the array closed, under the exclusive operation lock (requests in flight have drained;
   * later ones see it).
   *
   * @return false if it already was
   */
  boolean close() {
    opLock.writeLock().lock();
    try {
      if (closed) {
        return false;
      }
      closed = true;
      return true;
    } finally {
      opLock.writeLock().unlock();
    }
  }

  /** A request's member I/O, redone degraded after a member failure. */
  interface MemberOp {
    void run() throws MemberFailure, IOException;
  }

  /**
   * Runs {@code op} under the shared operation lock; a member failure is recorded (or fails the
   * request, as {@link #onMemberFailure} decides) and the op is run again on the members left.
   */
  void withRetry(MemberOp op) throws IOException {
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

  // ---------------------------------------------------------------- failures

  /**
   * What a request does with a member failure: RAID-0 fails the request (nothing to fall back
   * on); the others mark the member failed and go on degraded, unless the array is now lost.
   */
  void onMemberFailure(MemberFailure f) throws IOException {
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
    synchronized (lock) {
      failLocked(f.member, f.getCause());
    }
    checkLost();
  }

  /** Records a member failure seen outside a request (the rebuild, a scrub). */
  void memberFailed(MemberFailure f) {
    if (f.member < 0) {
      return;
    }
    synchronized (lock) {
      failLocked(f.member, f.getCause());
    }
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

  // ---------------------------------------------------------------- rebuild and replacement

  /**
   * Moves a rebuild's cursor, only if the member is still the one being rebuilt.
   *
   * @return false if it failed or was replaced meanwhile (the rebuild of it must stop)
   */
  boolean advanceRebuild(int member, int incarnation, long rows) {
    synchronized (lock) {
      if (states[member] != MemberState.REBUILDING || incarnations[member] != incarnation) {
        return false;
      }
      setCursor(member, rows);
      return true;
    }
  }

  /** Ends a rebuild: the member is in sync, if it is still the incarnation rebuilt. */
  void markActive(int member, int incarnation) {
    synchronized (lock) {
      if (states[member] != MemberState.REBUILDING || incarnations[member] != incarnation) {
        return;
      }
      states[member] = MemberState.ACTIVE;
      setCursor(member, Long.MAX_VALUE);
      writeSuperblocksLocked();
    }
  }

  /**
   * Puts {@code replacement} in place of failed member {@code index}, to be rebuilt from row 0;
   * call under the exclusive operation lock.
   *
   * @throws VolumeConfigException if the member is not failed, or the replacement does not fit
   */
  void replace(int index, Volume replacement) throws IOException {
    synchronized (lock) {
      if (index < 0 || index >= members.length) {
        throw new VolumeConfigException("RAID volume '" + name + "' has members 0.."
            + (members.length - 1) + ", not " + index);
      }
      if (states[index] != MemberState.FAILED) {
        throw new VolumeConfigException("RAID volume '" + name + "' member " + index + " ("
            + memberNames[index] + ") is " + states[index] + ", not FAILED: only a failed member "
            + "can be replaced");
      }
      if (replacement.size() != g.memberSize) {
        throw new VolumeConfigException("replacement '" + replacement.name() + "' for member "
            + index + " of RAID volume '" + name + "' has " + replacement.size() + " bytes; "
            + "members have exactly " + g.memberSize + ": give it that size");
      }
      Optional<String> id = replacement.volumeId();
      for (int i = 0; i < members.length && id.isPresent(); i++) {
        if (i != index && members[i] != null && members[i].volumeId().equals(id)) {
          throw new VolumeConfigException("replacement '" + replacement.name() + "' is the "
              + "image of member " + i + " (" + memberNames[i] + ") of RAID volume '" + name
              + "': give a blank image of its own");
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
  }

  /** Whether a rebuild has work: a member is being rebuilt and the array is open and whole. */
  boolean rebuildWanted() {
    synchronized (lock) {
      return firstRebuilding() >= 0 && !closed && lostMessage == null;
    }
  }

  // ---------------------------------------------------------------- superblocks

  /** Persists member states (a failure, a rebuild's progress or end). */
  void persist() {
    synchronized (lock) {
      writeSuperblocksLocked();
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
          io.write(m, mine.slotOffset(), bytes, 0, bytes.length);
          io.flush(m);
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

  private void setCursor(int member, long rows) {
    synchronized (lock) {
      long[] c = cursors.clone();
      c[member] = rows;
      cursors = c;
    }
  }
}
