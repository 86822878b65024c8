package io.pairkit.backend.raid;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.error.VolumeConfigException;
import io.pairkit.api.spi.ProviderContext;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.VolumeSpec;
import io.pairkit.backend.file.FileVolumeProvider;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reassembly from the members' superblocks through the provider, over image files, and every bad
 * input the issue names: each a typed error that names the member and the way out.
 */
@Timeout(120)
class RaidAssemblyTest {
  private static final int UNIT = 64 << 10;
  private static final long SIZE = 8L << 20;

  @TempDir
  Path dir;

  private final RaidVolumeProvider provider = new RaidVolumeProvider();
  private final FileVolumeProvider files = new FileVolumeProvider();
  private final ProviderContext context = spec -> files.open(spec, null);

  private VolumeSpec spec(String mode, Map<String, String> extra) {
    return RaidTesting.fileSpec(dir, "arr", RaidLevel.RAID5, 4, UNIT, SIZE, mode, extra);
  }

  private Volume create() throws IOException {
    return provider.open(spec("create", Map.of()), context);
  }

  private Volume reopen(VolumeSpec s) throws IOException {
    return provider.open(provider.reopenSpec(s), context);
  }

  private Path member(int i) {
    return dir.resolve("arr-m" + i + ".img");
  }

  @Test
  void createdArray_reassemblesFromItsSuperblocks_withItsData() throws Exception {
    byte[] data = new byte[(int) SIZE];
    new Random(1).nextBytes(data);
    try (Volume v = create()) {
      assertEquals(SIZE, v.size());
      assertEquals(3 * UNIT, v.capabilities().preferredIoSize(), "one full stripe");
      v.write(0, ByteBuffer.wrap(data.clone()));
      v.flush();
    }
    try (Volume v = reopen(spec("create", Map.of()))) {
      byte[] back = new byte[(int) SIZE];
      v.read(0, ByteBuffer.wrap(back));
      assertArrayEquals(data, back);
    }
  }

  @Test
  void missingImage_startsDegraded_andABlankImageInItsPlaceIsRebuiltAfterARestart()
      throws Exception {
    byte[] data = new byte[(int) SIZE];
    new Random(2).nextBytes(data);
    try (Volume v = create()) {
      v.write(0, ByteBuffer.wrap(data.clone()));
      v.flush();
    }
    Files.delete(member(2));
    VolumeSpec open = spec("open", Map.of());
    try (RaidVolume v = (RaidVolume) reopen(open)) {
      assertEquals(MemberState.FAILED, v.status().members().get(2).state());
      assertTrue(v.status().members().get(2).lastError().orElseThrow().contains("arr-m2"),
          v.status().toString());
      byte[] back = new byte[(int) SIZE];
      v.read(0, ByteBuffer.wrap(back));
      assertArrayEquals(data, back);
    }
    // The replacement: a blank image of the same size where the lost one was.
    long memberSize = Files.size(member(0));
    try (var ch = java.nio.channels.FileChannel.open(member(2),
        java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE)) {
      ch.truncate(memberSize);
      ch.write(ByteBuffer.allocate(1), memberSize - 1);
    }
    try (RaidVolume v = (RaidVolume) reopen(open)) {
      assertTrue(v.awaitRebuild(Duration.ofSeconds(60)));
      assertEquals(MemberState.ACTIVE, v.status().members().get(2).state());
    }
    // Rebuilt for real: lose another member and read everything.
    Files.delete(member(0));
    try (RaidVolume v = (RaidVolume) reopen(open)) {
      byte[] back = new byte[(int) SIZE];
      v.read(0, ByteBuffer.wrap(back));
      assertArrayEquals(data, back);
    }
  }

  @Test
  void interruptedRebuild_resumesAfterARestartFromItsRecordedCursor() throws Exception {
    byte[] data = new byte[(int) SIZE];
    new Random(3).nextBytes(data);
    try (Volume v = create()) {
      v.write(0, ByteBuffer.wrap(data.clone()));
      v.flush();
    }
    Files.delete(member(1));
    reopen(spec("open", Map.of())).close(); // starts degraded: member 1 is recorded as failed
    long memberSize = Files.size(member(0));
    try (var ch = java.nio.channels.FileChannel.open(member(1),
        java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.allocate(1), memberSize - 1);
    }
    // 512 KiB/s over ~2.7 MiB per member: still rebuilding when the array closes.
    VolumeSpec slow = spec("open", Map.of("rebuildSpeedLimit", "512k"));
    long before;
    try (RaidVolume v = (RaidVolume) reopen(slow)) {
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (v.status().members().get(1).rebuiltBytes() < (1 << 20)
          && System.nanoTime() < deadline) {
        Thread.onSpinWait();
      }
      Thread.sleep(1200); // the cursor is recorded about once a second
      before = v.status().members().get(1).rebuiltBytes();
      assertEquals(MemberState.REBUILDING, v.status().members().get(1).state());
    }
    try (RaidVolume v = (RaidVolume) reopen(spec("open", Map.of()))) {
      RaidStatus.Member m = v.status().members().get(1);
      assertTrue(m.state() == MemberState.ACTIVE || m.rebuiltBytes() > 0,
          "rebuild restarted from zero: " + m);
      assertTrue(m.rebuiltBytes() <= before || m.state() == MemberState.ACTIVE);
      assertTrue(v.awaitRebuild(Duration.ofSeconds(60)));
    }
    Files.delete(member(3));
    try (RaidVolume v = (RaidVolume) reopen(spec("open", Map.of()))) {
      byte[] back = new byte[(int) SIZE];
      v.read(0, ByteBuffer.wrap(back));
      assertArrayEquals(data, back);
    }
  }

  @Test
  void tooFewMembers_namesTheMinimum() {
    VolumeSpec s = RaidTesting.fileSpec(dir, "few", RaidLevel.RAID5, 2, UNIT, SIZE, "create",
        Map.of());
    VolumeConfigException e = assertThrows(VolumeConfigException.class,
        () -> provider.open(s, context));
    assertTrue(e.getMessage().contains("at least 3"), e.getMessage());
  }

  @Test
  void stripeUnitNotAPowerOfTwo_isRefused() {
    VolumeSpec s = spec("create", Map.of("stripeUnit", "48k"));
    VolumeConfigException e = assertThrows(VolumeConfigException.class,
        () -> provider.open(s, context));
    assertTrue(e.getMessage().contains("stripeUnit") && e.getMessage().contains("power of two"),
        e.getMessage());
  }

  @Test
  void memberListedTwice_isRefusedByName() {
    VolumeSpec base = spec("create", Map.of());
    VolumeSpec twice = VolumeSpec.builder("arr", "raid").properties(base.properties())
        .property("member.3.path", member(1).toString()).build();
    VolumeConfigException e = assertThrows(VolumeConfigException.class,
        () -> provider.open(twice, context));
    assertTrue(e.getMessage().contains("member 1") && e.getMessage().contains("member 3"),
        e.getMessage());
  }

  @Test
  void membersOfDifferentSizes_areRefusedByName() throws Exception {
    for (int i = 0; i < 4; i++) {
      try (var ch = java.nio.channels.FileChannel.open(member(i),
          java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE)) {
        ch.write(ByteBuffer.allocate(1), (i == 2 ? 9L << 20 : 8L << 20) - 1);
      }
    }
    VolumeSpec s = RaidTesting.fileSpec(dir, "arr", RaidLevel.RAID5, 4, UNIT, -1, "create",
        Map.of());
    VolumeSpec opening = VolumeSpec.builder("arr", "raid").properties(s.properties())
        .property("member.0.mode", "open").property("member.1.mode", "open")
        .property("member.2.mode", "open").property("member.3.mode", "open").build();
    VolumeConfigException e = assertThrows(VolumeConfigException.class,
        () -> provider.open(opening, context));
    assertTrue(e.getMessage().contains("arr.m2") && e.getMessage().contains("same size"),
        e.getMessage());
  }

  @Test
  void memberOfAnotherArray_wrongOrder_staleMember_areRefusedByName() throws Exception {
    try (Volume v = create()) {
      v.write(0, ByteBuffer.wrap(new byte[4096]));
    }
    VolumeSpec open = spec("open", Map.of());
    // Another array's member in position 1.
    Path other = dir.resolve("other");
    Files.createDirectories(other);
    VolumeSpec otherSpec = RaidTesting.fileSpec(other, "arr", RaidLevel.RAID5, 4, UNIT, SIZE,
        "create", Map.of());
    provider.open(otherSpec, context).close();
    Path saved = dir.resolve("saved-m1.img");
    Files.move(member(1), saved);
    Files.copy(other.resolve("arr-m1.img"), member(1));
    VolumeConfigException foreign = assertThrows(VolumeConfigException.class,
        () -> reopen(open));
    assertTrue(foreign.getMessage().contains("arr.m1")
        && foreign.getMessage().contains("another array"), foreign.getMessage());
    Files.move(saved, member(1), StandardCopyOption.REPLACE_EXISTING);
    // Wrong order: members 0 and 1 swapped.
    VolumeSpec swapped = VolumeSpec.builder("arr", "raid").properties(open.properties())
        .property("member.0.path", member(1).toString())
        .property("member.1.path", member(0).toString()).build();
    VolumeConfigException order = assertThrows(VolumeConfigException.class,
        () -> reopen(swapped));
    assertTrue(order.getMessage().contains("wrong order"), order.getMessage());
    // Stale: an old copy of member 3 while the array moved on by two generations.
    Files.copy(member(3), saved, StandardCopyOption.REPLACE_EXISTING);
    Files.delete(member(2));
    try (RaidVolume v = (RaidVolume) reopen(open)) {
      v.replaceMember(2, files.open(VolumeSpec.builder("arr.m2", "file")
          .property("path", member(2).toString()).property("mode", "create")
          .property("size", Files.size(member(0))).build(), null));
      assertTrue(v.awaitRebuild(Duration.ofSeconds(60)));
    }
    Files.copy(saved, member(3), StandardCopyOption.REPLACE_EXISTING);
    VolumeConfigException stale = assertThrows(VolumeConfigException.class, () -> reopen(open));
    assertTrue(stale.getMessage().contains("arr.m3") && stale.getMessage().contains("stale"),
        stale.getMessage());
  }

  @Test
  void blankImageWhereAnActiveMemberBelongs_isRefused() throws Exception {
    create().close();
    Files.delete(member(0));
    try (var ch = java.nio.channels.FileChannel.open(member(0),
        java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.allocate(1), Files.size(member(1)) - 1);
    }
    VolumeConfigException e = assertThrows(VolumeConfigException.class,
        () -> reopen(spec("open", Map.of())));
    assertTrue(e.getMessage().contains("arr.m0") && e.getMessage().contains("no superblock"),
        e.getMessage());
  }

  @Test
  void createOverAnExistingArray_isRefused() throws Exception {
    create().close();
    VolumeSpec again = VolumeSpec.builder("arr", "raid").properties(spec("create", Map.of())
        .properties()).property("member.0.mode", "open").property("member.1.mode", "open")
        .property("member.2.mode", "open").property("member.3.mode", "open").build();
    VolumeConfigException e = assertThrows(VolumeConfigException.class,
        () -> provider.open(again, context));
    assertTrue(e.getMessage().contains("already holds a superblock"), e.getMessage());
  }

  @Test
  void twoMembersMissing_refusesToStartAndListsBoth() throws Exception {
    create().close();
    Files.delete(member(0));
    Files.delete(member(3));
    VolumeConfigException e = assertThrows(VolumeConfigException.class,
        () -> reopen(spec("open", Map.of())));
    assertTrue(e.getMessage().contains("arr.m0") && e.getMessage().contains("arr.m3")
        && e.getMessage().contains("cannot start"), e.getMessage());
  }
}
