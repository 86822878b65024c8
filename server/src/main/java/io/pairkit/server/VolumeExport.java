package io.pairkit.server;

import io.pairkit.api.HostVolume;
import io.pairkit.api.Pair;
import io.pairkit.api.PairState;
import io.pairkit.nbd.NbdExport;
import io.pairkit.api.TrackState;
import io.pairkit.api.TrackStates;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Serves a {@link HostVolume} over NBD, so every client write goes through the pair engine. A
 * volume that is the secondary of a pair in a state that refuses host writes there (anything but
 * SPLIT) is exported read-only, as is one configured so; if a pair changes state
 * under a connection, refused writes answer {@code EPERM}.
 */
final class VolumeExport implements NbdExport {
  private static final Logger LOG = Logger.getLogger(VolumeExport.class.getName());
  /**
   * States in which a secondary takes host writes everywhere. Not EXTENT_SPLIT: there the engine
   * refuses writes to mirrored tracks, most of the device, and NBD's read-only flag is per
   * export, so such a secondary is exported read-only.
   */
  private static final Set<PairState> SECONDARY_WRITABLE =
      Set.of(PairState.SPLIT, PairState.SPLITTING);

  private final HostVolume volume;
  private final boolean configuredReadOnly;
  private final IncompleteVolumes incomplete;
  private final io.pairkit.nbd.NbdClientRules clients;

  VolumeExport(HostVolume volume, boolean configuredReadOnly, IncompleteVolumes incomplete,
      io.pairkit.nbd.NbdClientRules clients) {
    this.volume = volume;
    this.configuredReadOnly = configuredReadOnly;
    this.incomplete = incomplete;
    this.clients = clients;
  }

  @Override
  public boolean allows(io.pairkit.nbd.NbdPeer peer) {
    return clients.admits(peer);
  }

  @Override
  public String name() {
    return volume.name();
  }

  @Override
  public String description() {
    StringBuilder d = new StringBuilder("PairKit volume");
    String why = incomplete.reason(volume.name());
    if (why != null) {
      d.append("; incomplete, read-only: ").append(why);
    }
    for (Pair p : volume.pairs()) {
      d.append("; ").append(p.primary() == volume ? "primary" : "secondary").append(" of ")
          .append(p.id()).append(" (").append(p.state()).append(')');
    }
    return d.toString();
  }

  @Override
  public long size() {
    return volume.size();
  }

  @Override
  public boolean readOnly() {
    return readOnly(volume, configuredReadOnly || incomplete.reason(volume.name()) != null);
  }

  /**
   * Whether {@code volume}'s export is read-only now: configured so, or the secondary of a pair
   * that refuses host writes there.
   */
  static boolean readOnly(HostVolume volume, boolean configuredReadOnly) {
    if (configuredReadOnly) {
      return true;
    }
    for (Pair p : volume.pairs()) {
      if (p.secondary().name().equals(volume.name())
          && !SECONDARY_WRITABLE.contains(p.state())) {
        return true;
      }
    }
    return false;
  }

  @Override
  public int preferredBlockSize() {
    int preferred = volume.capabilities().preferredIoSize();
    return Integer.highestOneBit(Math.max(4096, Math.min(preferred, 32 << 20)));
  }

  @Override
  public void read(long offset, ByteBuffer dst) {
    volume.read(offset, dst);
  }

  @Override
  public void write(long offset, ByteBuffer src) {
    volume.write(offset, src);
  }

  @Override
  public void flush() {
    volume.flush();
  }

  /**
   * The volume's allocation; when the volume cannot answer (a failing backend or member), all of
   * the range counts as data: block status is advice, and a client told "hole" copies zeros
   * without reading, so only a trusted answer may say hole. The reads then report the failure.
   */
  @Override
  public io.pairkit.api.ExtentSet allocated(long offset, long length) {
    try {
      return volume.allocated(offset, length);
    } catch (io.pairkit.api.error.VolumeIOException e) {
      LOG.log(Level.WARNING, "volume '" + volume.name() + "': block status answered 'data' for "
          + "[" + offset + ", " + (offset + length) + ") because the volume could not tell its "
          + "holes: " + e.getMessage());
      return io.pairkit.api.ExtentSet.of(offset, offset + length);
    }
  }

  /** The pairs of which this volume is the primary: each is a dirty bitmap of its export. */
  @Override
  public List<String> dirtyBitmaps() {
    List<String> out = new ArrayList<>();
    for (Pair p : volume.pairs()) {
      if (p.primary().name().equals(volume.name())) {
        out.add(p.id());
      }
    }
    return out;
  }

  /**
   * Pair {@code name}'s tracks where the primary holds data the secondary's image does not:
   * written since the split (SPLIT_CHANGED) or not yet mirrored (PENDING), so an incremental
   * backup reads exactly those. A deleted pair has no dirty tracks.
   */
  @Override
  public io.pairkit.api.ExtentSet dirty(String name, long offset, long length) {
    Pair pair = null;
    for (Pair p : volume.pairs()) {
      if (p.id().equals(name)) {
        pair = p;
      }
    }
    if (pair == null) {
      return io.pairkit.api.ExtentSet.of(List.of());
    }
    int ts = pair.trackSize();
    long first = offset / ts;
    long end = Math.min((offset + length + ts - 1) / ts, first + Pair.MAX_TRACK_STATES);
    TrackStates states = pair.trackStates(io.pairkit.api.Extent.of(first * ts,
        Math.min(end * ts, volume.size())));
    List<io.pairkit.api.Extent> dirty = new ArrayList<>();
    for (long t = states.firstTrack(); t < states.endTrack(); t++) {
      TrackState st = states.state(t);
      if (st == TrackState.PENDING || st == TrackState.SPLIT_CHANGED) {
        dirty.add(io.pairkit.api.Extent.of(t * ts, Math.min((t + 1) * ts, volume.size())));
      }
    }
    return io.pairkit.api.ExtentSet.of(dirty);
  }

  @Override
  public void trim(long offset, long length) {
    volume.discard(offset, length);
  }

  @Override
  public void writeZeroes(long offset, long length, boolean mayFree) {
    if (mayFree) {
      volume.discard(offset, length); // reads as zeros; frees space on a thin backend
      return;
    }
    ByteBuffer zeros = ByteBuffer.allocate((int) Math.min(length, 1 << 20));
    for (long done = 0; done < length; ) {
      int n = (int) Math.min(zeros.capacity(), length - done);
      volume.write(offset + done, zeros.clear().limit(n));
      done += n;
    }
  }
}
