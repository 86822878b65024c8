package io.pairkit.backend.raid;

import java.lang.System.Logger.Level;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.error.VolumeConfigException;
import io.pairkit.api.spi.Volume;
import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Builds a {@link RaidVolume} from its members: creates a new array, or reassembles one from the
 * members' superblocks (checking that every member belongs, is in its place and is current),
 * then makes rows a crash left inconsistent consistent again before the volume serves any read.
 *
 * <p>Assembly rules:
 * <ul>
 *   <li>A member of another array, one in the wrong position, or one whose size differs is
 *       refused by name ({@link VolumeConfigException}).
 *   <li>A member whose superblock is older than the array's by more than one generation, while
 *       the array still lists it active, is stale (an old copy of the image) and refused. One
 *       generation behind is an update a crash interrupted, and accepted.
 *   <li>A member that cannot be opened or read, or that the array lists as failed, counts as
 *       failed; the array starts degraded if its level survives that, else the error lists each
 *       lost member and why.
 *   <li>A blank member (no superblock) in the place of a failed one is a replacement: it is
 *       rebuilt in the background. A blank member in the place of an active one is refused.
 *   <li>Recovery: rows under set write-intent bits are resynchronised from their data when all
 *       members are in sync for them, else repaired from the partial parity log.
 * </ul>
 */
final class ArrayAssembler {
  private static final System.Logger LOG = System.getLogger(ArrayAssembler.class.getName());

  private ArrayAssembler() {
  }

  /**
   * @param opened the member volumes in member order, null where opening failed
   * @param openErrors why each null member could not be opened
   */
  static RaidVolume assemble(RaidConfig cfg, List<Volume> opened, List<String> openErrors)
      throws IOException {
    int n = cfg.members().size();
    Volume[] members = opened.toArray(new Volume[0]);
    String[] errors = openErrors.toArray(new String[0]);
    checkSameSizes(cfg, members);
    checkDistinct(cfg, members);
    Superblock.Decoded[] found = new Superblock.Decoded[n];
    for (int i = 0; i < n; i++) {
      if (members[i] == null) {
        continue;
      }
      try {
        byte[] a = new byte[RaidGeometry.SUPERBLOCK_SIZE];
        byte[] b = new byte[RaidGeometry.SUPERBLOCK_SIZE];
        if (members[i].size() >= 2L * RaidGeometry.SUPERBLOCK_SIZE) {
          members[i].read(0, java.nio.ByteBuffer.wrap(a));
          members[i].read(RaidGeometry.SUPERBLOCK_SIZE, java.nio.ByteBuffer.wrap(b));
        }
        found[i] = Superblock.newest(a, b);
      } catch (IOException e) {
        errors[i] = "superblock unreadable: " + e.getMessage();
        closeQuietly(members[i]);
        members[i] = null;
      }
    }
    return cfg.create() ? create(cfg, members, errors, found) : open(cfg, members, errors, found);
  }

  private static RaidVolume create(RaidConfig cfg, Volume[] members, String[] errors,
      Superblock.Decoded[] found) throws IOException {
    int n = members.length;
    for (int i = 0; i < n; i++) {
      if (members[i] == null) {
        throw new VolumeConfigException("cannot create RAID volume '" + cfg.name() + "': member "
            + i + " (" + cfg.members().get(i).name() + ") did not open: " + errors[i]);
      }
      if (found[i] instanceof Superblock.Valid v) {
        throw new VolumeConfigException("cannot create RAID volume '" + cfg.name() + "': member "
            + i + " (" + cfg.members().get(i).name() + ") already holds a superblock of "
            + v.superblock().level() + " array " + v.superblock().arrayId() + "; mode=create "
            + "would destroy it: open the array with mode=open, or wipe the image first");
      }
    }
    long memberSize = members[0].size();
    int rowsPerBit = rowsPerBit(cfg);
    RaidGeometry g = new RaidGeometry(cfg.level(), n, cfg.unit(), memberSize, rowsPerBit,
        cfg.pplSlots());
    long size = cfg.size() < 0 ? g.capacity : cfg.size();
    if (size > g.capacity || g.rows == 0) {
      long needed = RaidGeometry.memberSizeFor(cfg.level(), n, cfg.unit(), Math.max(size, 1),
          rowsPerBit, cfg.pplSlots());
      throw new VolumeConfigException("RAID volume '" + cfg.name() + "' of " + size
          + " bytes does not fit on members of " + memberSize + " bytes (" + cfg.level() + ", "
          + n + " members, metadata included): give members of at least " + needed + " bytes");
    }
    MemberState[] states = new MemberState[n];
    java.util.Arrays.fill(states, MemberState.ACTIVE);
    Superblock sb = new Superblock(UUID.randomUUID(), cfg.level(), cfg.unit(), n, 0, 0, size,
        memberSize, g.dataOffset, rowsPerBit, g.pplSlots, states, new long[n]);
    RaidVolume volume = new RaidVolume(cfg, g, size, members, sb, new String[n]);
    // Metadata areas start clear; data rows need a first sync unless every member is empty.
    byte[] zeroBitmap = new byte[g.bitmapBytes];
    byte[] zeroHeader = new byte[RaidGeometry.PPL_HEADER_SIZE];
    boolean empty = true;
    for (Volume m : members) {
      m.write(RaidGeometry.BITMAP_OFFSET, java.nio.ByteBuffer.wrap(zeroBitmap));
      for (int s = 0; s < g.pplSlots; s++) {
        m.write(g.pplSlotOffset(s), java.nio.ByteBuffer.wrap(zeroHeader));
      }
      ExtentSet data = m.allocated(g.dataOffset, g.rows * g.unit);
      empty &= data.isEmpty();
    }
    if (!empty && cfg.level() != RaidLevel.RAID0) {
      LOG.log(Level.INFO, "RAID volume '" + cfg.name() + "': members hold data; computing "
          + (cfg.level() == RaidLevel.RAID1 ? "mirror copies" : "parity") + " for all "
          + g.rows + " rows");
      new ArrayRecovery(volume).resync(0, g.rows);
    }
    for (Volume m : members) {
      m.flush();
    }
    volume.arrayState().persist();
    volume.start();
    return volume;
  }

  private static RaidVolume open(RaidConfig cfg, Volume[] members, String[] errors,
      Superblock.Decoded[] found) throws IOException {
    int n = members.length;
    Superblock ref = null;
    for (Superblock.Decoded d : found) {
      if (d instanceof Superblock.Valid v
          && (ref == null || v.superblock().generation() > ref.generation())) {
        ref = v.superblock();
      }
    }
    if (ref == null) {
      throw new VolumeConfigException("no member of RAID volume '" + cfg.name() + "' holds a "
          + "RAID superblock" + describeAll(cfg, errors, found) + ": create the array with "
          + "mode=create, or check the member list");
    }
    // Another array's member, a wrong position: refused by name.
    for (int i = 0; i < n; i++) {
      if (found[i] instanceof Superblock.Valid v) {
        Superblock s = v.superblock();
        if (!s.arrayId().equals(ref.arrayId())) {
          throw new VolumeConfigException("member " + i + " (" + cfg.members().get(i).name()
              + ") of RAID volume '" + cfg.name() + "' belongs to another array (" + s.arrayId()
              + ", this one is " + ref.arrayId() + "): list this array's own image there");
        }
        if (s.index() != i) {
          throw new VolumeConfigException("member " + i + " (" + cfg.members().get(i).name()
              + ") of RAID volume '" + cfg.name() + "' is member " + s.index() + " of the "
              + "array: the member list is in the wrong order; list each image at the index its "
              + "superblock records");
        }
      }
    }
    if (ref.members() != n) {
      throw new VolumeConfigException("RAID volume '" + cfg.name() + "' lists " + n
          + " members, but its superblocks record " + ref.members() + ": list all of them");
    }
    if (ref.level() != cfg.level()) {
      throw new VolumeConfigException("RAID volume '" + cfg.name() + "' is configured as "
          + cfg.level() + ", but its members hold a " + ref.level() + " array: fix 'level'");
    }
    if (cfg.unitGiven() && ref.unit() != cfg.unit()) {
      throw new VolumeConfigException("RAID volume '" + cfg.name() + "' sets stripeUnit "
          + cfg.unit() + ", but its members record " + ref.unit() + ": remove the property or "
          + "set it to " + ref.unit());
    }
    MemberState[] states = ref.states().clone();
    long[] rebuildRows = ref.rebuildRows().clone();
    for (int i = 0; i < n; i++) {
      String memberName = cfg.members().get(i).name();
      if (members[i] != null && members[i].size() != ref.memberSize()) {
        throw new VolumeConfigException("member " + i + " (" + memberName + ") of RAID volume '"
            + cfg.name() + "' has " + members[i].size() + " bytes, the array's members have "
            + ref.memberSize() + ": is it the right image?");
      }
      Superblock.Decoded d = found[i];
      if (members[i] == null) {
        if (states[i] != MemberState.FAILED) {
          states[i] = MemberState.FAILED;
        }
      } else if (d instanceof Superblock.Blank) {
        if (states[i] == MemberState.ACTIVE) {
          throw new VolumeConfigException("member " + i + " (" + memberName + ") of RAID volume '"
              + cfg.name() + "' has no superblock, but the array lists it in sync: is it the "
              + "right image? To replace a member, it must have failed first");
        }
        states[i] = MemberState.REBUILDING; // a replacement
        rebuildRows[i] = 0;
      } else if (d instanceof Superblock.Corrupt c) {
        errors[i] = "unreadable superblock: " + c.why();
        closeQuietly(members[i]);
        members[i] = null;
        if (states[i] != MemberState.FAILED) {
          states[i] = MemberState.FAILED;
        }
      } else if (d instanceof Superblock.Valid v) {
        long behind = ref.generation() - v.superblock().generation();
        if (behind > 1 && states[i] != MemberState.FAILED) {
          throw new VolumeConfigException("member " + i + " (" + memberName + ") of RAID volume '"
              + cfg.name() + "' is stale: its superblock has generation "
              + v.superblock().generation() + ", the array is at " + ref.generation()
              + " (an old copy of the image?). Put the current image back, or replace it with "
              + "a blank image of the same size to rebuild it");
        }
        if (states[i] == MemberState.FAILED) {
          // Known failed: kept out until replaced by a blank image.
          errors[i] = errors[i] == null ? "recorded as failed by the array" : errors[i];
          closeQuietly(members[i]);
          members[i] = null;
        }
      }
    }
    int notInSync = 0;
    StringBuilder lost = new StringBuilder();
    for (int i = 0; i < n; i++) {
      if (states[i] != MemberState.ACTIVE) {
        notInSync++;
        lost.append(lost.length() == 0 ? "" : "; ").append("member ").append(i).append(" (")
            .append(cfg.members().get(i).name()).append("): ")
            .append(states[i] == MemberState.REBUILDING ? "being rebuilt" : errors[i]);
      }
    }
    if (notInSync > cfg.level().redundancy(n)) {
      closeAll(members);
      throw new VolumeConfigException("RAID volume '" + cfg.name() + "' (" + cfg.level()
          + ") cannot start: " + notInSync + " of its " + n + " members are not in sync and it "
          + "survives " + cfg.level().redundancy(n) + ": " + lost + ". Bring the members back "
          + "or restore the volume from a copy");
    }
    RaidGeometry g = new RaidGeometry(ref.level(), n, ref.unit(), ref.memberSize(),
        ref.rowsPerBit(), ref.pplSlots());
    if (g.dataOffset != ref.dataOffset()) {
      throw new VolumeConfigException("RAID volume '" + cfg.name() + "': superblock data offset "
          + ref.dataOffset() + " does not match this build's layout " + g.dataOffset);
    }
    Superblock current = ref.withStates(ref.generation(), states, rebuildRows);
    RaidConfig effective = new RaidConfig(cfg.name(), cfg.level(), true, ref.unit(), false,
        ref.arraySize(), cfg.writeHole(), cfg.bitmapChunk(), cfg.rebuildBytesPerSecond(),
        ref.pplSlots(), cfg.bitmapClearDelay(), cfg.members());
    RaidVolume volume = new RaidVolume(effective, g, ref.arraySize(), members, current, errors);
    try {
      // Every assembly moves the generation on, so an image copied before it is detectable.
      volume.arrayState().persist();
      new ArrayRecovery(volume).recover(members);
    } catch (IOException | RuntimeException e) {
      volume.close();
      throw e;
    }
    volume.start();
    return volume;
  }

  static int rowsPerBit(RaidConfig cfg) {
    long rowBytes = (long) cfg.unit() * cfg.level().dataMembers(cfg.members().size());
    return (int) Math.max(1, Math.min(Integer.MAX_VALUE, cfg.bitmapChunk() / rowBytes));
  }

  private static void checkSameSizes(RaidConfig cfg, Volume[] members) {
    Volume first = null;
    for (int i = 0; i < members.length; i++) {
      if (members[i] == null) {
        continue;
      }
      if (first == null) {
        first = members[i];
      } else if (members[i].size() != first.size()) {
        closeAll(members);
        throw new VolumeConfigException("members of RAID volume '" + cfg.name() + "' differ in "
            + "size: " + first.name() + " has " + first.size() + " bytes, " + members[i].name()
            + " has " + members[i].size() + ": give every member the same size");
      }
    }
  }

  private static void checkDistinct(RaidConfig cfg, Volume[] members) {
    Map<String, Integer> byId = new HashMap<>();
    for (int i = 0; i < members.length; i++) {
      if (members[i] == null || members[i].volumeId().isEmpty()) {
        continue;
      }
      Integer other = byId.putIfAbsent(members[i].volumeId().get(), i);
      if (other != null) {
        closeAll(members);
        throw new VolumeConfigException("RAID volume '" + cfg.name() + "' lists the same image "
            + "twice: member " + other + " (" + cfg.members().get(other).name() + ") and member "
            + i + " (" + cfg.members().get(i).name() + ") are both " + byId.keySet().stream()
                .filter(k -> byId.get(k) == (int) other).findFirst().orElse("?")
            + "; give each member its own image");
      }
    }
  }

  private static String describeAll(RaidConfig cfg, String[] errors,
      Superblock.Decoded[] found) {
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < found.length; i++) {
      String what = errors[i] != null ? errors[i]
          : found[i] instanceof Superblock.Corrupt c ? c.why() : "blank";
      s.append(i == 0 ? " (" : ", ").append(cfg.members().get(i).name()).append(": ")
          .append(what);
    }
    return s.append(')').toString();
  }

  static void closeAll(Volume[] members) {
    for (Volume m : members) {
      closeQuietly(m);
    }
  }

  private static void closeQuietly(Volume v) {
    if (v == null) {
      return;
    }
    try {
      v.close();
    } catch (IOException | RuntimeException e) {
      // already failing; the first error is the one to report
    }
  }
}
