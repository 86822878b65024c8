/**
 * Striped disk-array volumes: RAID-0, RAID-1 and RAID-5 (md's left-symmetric layout) over member
 * volumes of any backend, usually file volumes. Provider type {@code "raid"}.
 *
 * <p>Spec properties:
 * <ul>
 *   <li>{@code level}: {@code 0}, {@code 1} or {@code 5} (required);
 *   <li>{@code member.<i>.type} and {@code member.<i>.<property>}: member {@code i}'s own spec
 *       (indexes 0, 1, ... in array order; RAID-0 and RAID-1 need 2 members, RAID-5 needs 3);
 *       member volumes are named {@code <array>.m<i>};
 *   <li>{@code mode}: {@code open} (default) reassembles from the superblocks, {@code create}
 *       makes a new array (members without a {@code mode} are then created too, at the size
 *       {@code size} needs);
 *   <li>{@code size}: array bytes on create (default: all the members hold);
 *   <li>{@code stripeUnit}: power of two, 4 KiB to 16 MiB (default 64 KiB; on open, the
 *       superblocks' value is used and a different one refused);
 *   <li>{@code writeHole}: {@code ppl} (RAID-5 default: write-intent bitmap plus partial parity
 *       log), {@code bitmap} (RAID-1 default), {@code none};
 *   <li>{@code bitmapChunk}: array bytes per write-intent bit (default 4 MiB);
 *       {@code bitmapClearDelayMs}: how long a chunk stays idle before its bit is cleared
 *       (default 2000);
 *   <li>{@code rebuildSpeedLimit}: bytes per second a rebuild may move (default 200 MiB);
 *   <li>{@code pplSlots}: partial parity log slots per member (default 64).
 * </ul>
 *
 * <p>Entry points: {@link io.pairkit.backend.raid.RaidVolumeProvider} (through a controller),
 * {@link io.pairkit.backend.raid.RaidVolumes} (over members you opened),
 * {@link io.pairkit.backend.raid.RaidVolume#status()} and
 * {@link io.pairkit.backend.raid.RaidVolume#replaceMember} for administration. The on-member
 * layout is documented in {@code RaidGeometry}, the superblock in {@code Superblock}, the crash
 * protection in {@code WriteIntentBitmap} and {@code PartialParityLog}; docs/RAID.md has them
 * in one place.
 *
 * <p>Inside, a file per job, as md keeps one per level: {@code RaidVolume} ties together the
 * level's {@code RaidLayout} ({@code StripedLayout}, {@code MirroredLayout},
 * {@code ParityLayout}), the members' {@code ArrayState} (states, cursors, superblock writes),
 * the {@code WriteHoleGuard} (bitmap, log and the flushes they need), {@code MemberIo} and
 * {@code RowLocks}; {@code ArrayAssembler} and {@code ArrayRecovery} build it at open,
 * {@code Rebuilder} and {@code Scrubber} work beside host I/O.
 */
package io.pairkit.backend.raid;
