package io.pairkit.core.internal.engine.hostio;

import java.lang.System.Logger.Level;
import io.pairkit.api.MirrorMode;
import io.pairkit.api.MirrorStatus;
import io.pairkit.api.spi.VolumeCapabilities;
import java.util.concurrent.TimeUnit;

/**
 * One pair's mirror mode (Linux md RAID-1 and DRBD's protocol C when synchronous): what it was
 * told, what is in force, and why. {@link MirrorMode#AUTOMATIC} resolves from the secondary's
 * capabilities. A synchronous pair drops to asynchronous, never silently, when a secondary write
 * or flush fails or when the secondary falls behind (its writes take much longer than the
 * primary's), and returns once the mirror has copied the backlog that left (after a pause when it
 * fell behind, so a slow secondary does not make it flap).
 *
 * <p>Threading: thread-safe; the host I/O path reads {@link #synchronous()} without a lock.
 */
public final class SyncMirror {
  private static final System.Logger LOG = System.getLogger("io.pairkit.core");
  /** Secondary writes slower than this many times the primary's (on average) fall behind. */
  private static final double BEHIND_FACTOR = 8;
  /**
   * ... and slower than this on average: jitter, or a busy machine that slows every thread
   * (measured on 2 cores with 8 writers: 30-50 ms averages for both volumes' writes), is no
   * reason; a secondary this slow is a network or a failing device.
   */
  private static final long BEHIND_FLOOR_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
  /** Samples the averages need before they can say the secondary fell behind. */
  private static final int MIN_SAMPLES = 64;
  /** How long a pair that fell behind stays asynchronous at least. */
  private static final long BEHIND_PAUSE_NANOS = TimeUnit.SECONDS.toNanos(30);
  /** Weight of a new sample in the running averages. */
  private static final double ALPHA = 1.0 / 32;

  private final String pairId;
  private final String secondaryName;
  private final java.util.function.LongSupplier clock;
  private final boolean secondaryRemote;
  /** The controller's mirror mode, which {@link MirrorMode#AUTOMATIC} pairs follow. */
  private final MirrorMode controllerMode;
  private volatile MirrorMode configured;
  private volatile boolean synchronous;
  /** Suspended by request: nothing goes to the secondary, whatever the mode. */
  private volatile boolean held;
  /** Why the pair runs asynchronously though configured otherwise, or null. */
  private volatile String degradedBecause;
  private volatile long degradedAt;
  private volatile boolean fellBehind;
  // Running averages of write latency (nanoseconds), updated racily: they steer, not account.
  private volatile double primaryNanos;
  private volatile double secondaryNanos;
  private volatile int samples;

  public SyncMirror(String pairId, String secondaryName, VolumeCapabilities secondary,
      MirrorMode controllerMode, MirrorMode configured) {
    this(pairId, secondaryName, secondary, controllerMode, configured, System::nanoTime);
  }

  /** With {@code clock} (nanoseconds) for the pause after falling behind; for tests. */
  public SyncMirror(String pairId, String secondaryName, VolumeCapabilities secondary,
      MirrorMode controllerMode, MirrorMode configured, java.util.function.LongSupplier clock) {
    this.clock = clock;
    this.pairId = pairId;
    this.secondaryName = secondaryName;
    this.secondaryRemote = secondary.remote();
    this.controllerMode = controllerMode;
    set(configured);
  }

  /** The mode as configured; the effective one follows (a degradation ends). */
  public synchronized void set(MirrorMode mode) {
    this.configured = mode;
    this.degradedBecause = null;
    this.fellBehind = false;
    this.synchronous = wanted();
  }

  private boolean wanted() {
    MirrorMode m = configured == MirrorMode.AUTOMATIC ? controllerMode : configured;
    return switch (m) {
      case SYNCHRONOUS -> true;
      case ASYNCHRONOUS -> false;
      case AUTOMATIC -> !secondaryRemote;
    };
  }

  /** Whether host writes to mirrored tracks go to the secondary too, now. */
  public boolean synchronous() {
    return synchronous && !held;
  }

  /**
   * Holds host writes back from the secondary while the pair is suspended by request (they are
   * recorded pending instead), or lets them go to it again. Called at an instant, with host
   * writes held off.
   */
  public void hold(boolean hold) {
    this.held = hold;
  }

  public MirrorMode configured() {
    return configured;
  }

  /** The status for {@link io.pairkit.api.Pair#mirrorStatus()}. */
  public synchronized MirrorStatus status() {
    if (held) {
      return new MirrorStatus(configured, MirrorMode.ASYNCHRONOUS, "suspended by request: host "
          + "writes are recorded, not mirrored, until the pair is resumed");
    }
    MirrorMode effective = synchronous ? MirrorMode.SYNCHRONOUS : MirrorMode.ASYNCHRONOUS;
    String reason = degradedBecause;
    if (reason == null && configured == MirrorMode.AUTOMATIC) {
      if (controllerMode != MirrorMode.AUTOMATIC) {
        reason = "automatic: the controller's mirror mode, " + controllerMode;
      } else {
        reason = secondaryRemote ? "automatic: the secondary '" + secondaryName + "' is remote, "
            + "so host writes do not wait for it" : "automatic: the secondary '" + secondaryName
            + "' is local, so host writes go to both volumes";
      }
    }
    return new MirrorStatus(configured, effective, reason);
  }

  /**
   * A synchronous secondary write or flush failed: the pair goes asynchronous (the caller has
   * marked the tracks pending, so the mirror copies them), and says so.
   */
  public synchronized void failed(String what, RuntimeException e) {
    fellBehind = false;
    degrade("degraded: the secondary '" + secondaryName + "' failed " + what + " ("
        + e.getMessage() + "); the mirror copies what it missed, then the pair is synchronous "
        + "again", e);
  }

  private void degrade(String why, Throwable cause) {
    boolean was = synchronous;
    synchronous = false;
    degradedBecause = why;
    degradedAt = clock.getAsLong();
    if (was) {
      LOG.log(Level.WARNING, "pair '" + pairId + "' is mirroring asynchronously: " + why, cause);
    }
  }

  /**
   * One synchronous write took {@code primary} and {@code secondary} nanoseconds on the two
   * volumes; a secondary that keeps taking much longer falls behind and the pair goes
   * asynchronous for a while.
   */
  public void timed(long primary, long secondary) {
    double p = primaryNanos == 0 ? primary : primaryNanos + ALPHA * (primary - primaryNanos);
    double s = secondaryNanos == 0 ? secondary
        : secondaryNanos + ALPHA * (secondary - secondaryNanos);
    primaryNanos = p;
    secondaryNanos = s;
    samples = Math.min(samples + 1, MIN_SAMPLES);
    if (samples >= MIN_SAMPLES && s > BEHIND_FLOOR_NANOS && s > BEHIND_FACTOR * p) {
      synchronized (this) {
        if (synchronous) {
          fellBehind = true;
          degrade(String.format(java.util.Locale.ROOT, "degraded: the secondary '%s' fell "
              + "behind (its writes took %.1f ms on average against %.1f ms on the primary); "
              + "host writes no longer wait for it, and the pair is synchronous again once the "
              + "mirror has caught up, after at least %d s", secondaryName, s / 1e6, p / 1e6,
              TimeUnit.NANOSECONDS.toSeconds(BEHIND_PAUSE_NANOS)), null);
          secondaryNanos = 0;
          primaryNanos = 0;
          samples = 0;
        }
      }
    }
  }

  /** The mirror has no backlog: a degraded pair that wants to be synchronous is again. */
  public synchronized void caughtUp() {
    if (synchronous || degradedBecause == null || !wanted()) {
      return;
    }
    if (fellBehind && clock.getAsLong() - degradedAt < BEHIND_PAUSE_NANOS) {
      return;
    }
    synchronous = true;
    degradedBecause = null;
    fellBehind = false;
    LOG.log(Level.INFO, "pair '" + pairId + "' is mirroring synchronously again: the mirror copied the "
        + "backlog to '" + secondaryName + "'");
  }
}
