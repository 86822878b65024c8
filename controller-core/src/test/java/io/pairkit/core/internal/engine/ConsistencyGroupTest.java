package io.pairkit.core.internal.engine;

import static io.pairkit.core.internal.engine.Rig.WAIT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.ConsistencyGroup;
import io.pairkit.api.CopyRequest;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.HostVolume;
import io.pairkit.api.Pair;
import io.pairkit.api.PairController;
import io.pairkit.api.PairState;
import io.pairkit.api.VolumePair;
import io.pairkit.api.error.InvalidArgumentException;
import io.pairkit.api.error.NotFoundException;
import io.pairkit.api.error.PairStateException;
import io.pairkit.api.error.UnsupportedRequestException;
import io.pairkit.api.spi.VolumeSpec;
import io.pairkit.core.PairKit;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Consistency groups: a group request takes effect at one instant across its members (checked
 * with real writer threads and a per-writer cut across every member's frozen image), all or
 * nothing when a member refuses, membership rules, durable membership, and a group split that a
 * crash finds applied to every member or to none.
 */
@Timeout(120)
class ConsistencyGroupTest {
  private static final int TS = 4096;
  private static final int SIZE = 16 * TS;
  private static final int MEMBERS = 3;
  private static final int WRITERS = 3;
  private static final int SLOT = 512;

  @TempDir
  Path dir;

  /**
   * Writer w writes its stamps 1, 2, 3, ... in turn to the members' primaries (stamp n to
   * member n mod 3), each into its own 512-byte slot. A frozen image set taken at one instant
   * holds, per writer, the last stamp before the instant on each member: three stamps within
   * one round (largest minus smallest at most 2). Members split one after the other would hold
   * stamps many rounds apart.
   */
  @Test
  void aGroupSplitIsOneInstantAcrossItsMembers_underConcurrentWriters() throws Exception {
    try (Rig rig = new Rig(PairKit.builder().trackSize(TS), false)) {
      List<HostVolume> primaries = new ArrayList<>();
      List<HostVolume> secondaries = new ArrayList<>();
      List<String> ids = new ArrayList<>();
      for (int m = 0; m < MEMBERS; m++) {
        HostVolume p = rig.volume("p" + m, SIZE, TS);
        HostVolume s = rig.volume("s" + m, SIZE, TS);
        VolumePair pair = rig.pk.createVolumePair("m" + m, p, s);
        pair.initialCopy().await(WAIT);
        primaries.add(p);
        secondaries.add(s);
        ids.add(pair.id());
      }
      ConsistencyGroup group = rig.pk.createGroup("db", ids);
      AtomicBoolean stop = new AtomicBoolean();
      AtomicReference<Throwable> failure = new AtomicReference<>();
      AtomicLong[] progress = new AtomicLong[WRITERS];
      List<Thread> threads = new ArrayList<>();
      for (int w = 0; w < WRITERS; w++) {
        int writer = w;
        progress[w] = new AtomicLong();
        Thread t = new Thread(() -> {
          try {
            for (long n = 1; !stop.get(); n++) {
              ByteBuffer b = ByteBuffer.allocate(SLOT);
              b.putLong(0, n);
              primaries.get((int) (n % MEMBERS)).write((long) writer * SLOT, b);
              progress[writer].set(n);
            }
          } catch (Throwable e) {
            failure.compareAndSet(null, e);
          }
        });
        threads.add(t);
        t.start();
      }
      try {
        for (int round = 0; round < 12; round++) {
          long[] before = new long[WRITERS];
          for (int w = 0; w < WRITERS; w++) {
            before[w] = progress[w].get();
          }
          for (int w = 0; w < WRITERS; w++) { // every writer moves on between two cuts
            while (progress[w].get() < before[w] + 50 && failure.get() == null) {
              Thread.onSpinWait();
            }
          }
          for (CopyRequest r : group.split()) {
            r.await(WAIT);
          }
          for (int w = 0; w < WRITERS; w++) {
            long[] seen = new long[MEMBERS];
            for (int m = 0; m < MEMBERS; m++) {
              seen[m] = ByteBuffer.wrap(secondaries.get(m).read((long) w * SLOT, SLOT))
                  .getLong(0);
              assertTrue(seen[m] == 0 || seen[m] % MEMBERS == m, "writer " + w + " member " + m
                  + ": " + seen[m]);
            }
            long max = Math.max(seen[0], Math.max(seen[1], seen[2]));
            long min = Math.min(seen[0], Math.min(seen[1], seen[2]));
            assertTrue(max - min <= MEMBERS - 1, "round " + round + ", writer " + w
                + ": the members' images were not taken at one instant: "
                + java.util.Arrays.toString(seen));
          }
          for (CopyRequest r : group.resync()) {
            r.await(WAIT);
          }
        }
      } finally {
        stop.set(true);
        for (Thread t : threads) {
          t.join();
        }
      }
      if (failure.get() != null) {
        throw new AssertionError("a writer failed", failure.get());
      }
    }
  }

  @Test
  void aMemberThatRefusesLeavesEveryMemberUnchanged() throws Exception {
    try (Rig rig = new Rig(PairKit.builder().trackSize(TS), false)) {
      VolumePair a = rig.pk.createVolumePair("a", rig.volume("pa", SIZE, TS),
          rig.volume("sa", SIZE, TS));
      VolumePair b = rig.pk.createVolumePair("b", rig.volume("pb", SIZE, TS),
          rig.volume("sb", SIZE, TS));
      a.initialCopy().await(WAIT);
      b.initialCopy().await(WAIT);
      ConsistencyGroup g = rig.pk.createGroup("g", List.of("a", "b"));
      b.split().await(WAIT); // on its own: the group's split must now refuse, for both
      PairStateException e = assertThrows(PairStateException.class, g::split);
      assertTrue(e.getMessage().contains("group 'g'") && e.getMessage().contains("pair 'b'")
          && e.getMessage().contains("no member of the group changed"), e.getMessage());
      assertEquals(PairState.FORMED, a.state(), "the refusal changed no member");
      assertTrue(a.activeRequests().isEmpty());
      InvalidArgumentException notMember = assertThrows(InvalidArgumentException.class,
          () -> g.extentUpdate(Map.of("zz", ExtentSet.of(0, TS))));
      assertTrue(notMember.getMessage().contains("'zz', which is not a member"),
          notMember.getMessage());
      // An extent-split pair offers no SPLIT: refused by its strategy, again before any change.
      rig.pk.createExtentSplitPair("x", rig.volume("px", SIZE, TS), rig.volume("sx", SIZE, TS))
          .initialCopy().await(WAIT);
      b.resync().await(WAIT);
      ConsistencyGroup mixed = rig.pk.createGroup("mixed", List.of("x"));
      assertThrows(UnsupportedRequestException.class, mixed::split);
      assertEquals(PairState.FORMED, rig.pk.pair("x").state());
      // Extent update of each member on its own extents, at one instant.
      for (CopyRequest r : g.split()) {
        r.await(WAIT);
      }
      rig.pk.volume("pa").write(0, new byte[] {1});
      rig.pk.volume("pb").write(5L * TS, new byte[] {2});
      List<CopyRequest> updates = g.extentUpdate(Map.of("a", ExtentSet.of(0, TS),
          "b", ExtentSet.of(5L * TS, 6L * TS)));
      assertEquals(1, updates.get(0).await(WAIT).tracksCopied());
      assertEquals(1, updates.get(1).await(WAIT).tracksCopied());
      assertEquals(1, rig.pk.volume("sb").read(5L * TS, 1).length);
      assertEquals(2, rig.pk.volume("sb").read(5L * TS, 1)[0]);
    }
  }

  /**
   * Group requests and single requests on the same members, from two threads: every one of them
   * finishes (a group must take the volumes' barriers in the order single requests do, or the
   * two wait for each other for good). The secondaries' names sort before the primaries'.
   */
  @Test
  @Timeout(60)
  void groupAndSingleRequestsOnTheSameMembersAllFinish() throws Exception {
    try (Rig rig = new Rig(PairKit.builder().trackSize(TS), false)) {
      VolumePair a = rig.pk.createVolumePair("a", rig.volume("za", SIZE, TS),
          rig.volume("ya", SIZE, TS));
      VolumePair b = rig.pk.createVolumePair("b", rig.volume("zb", SIZE, TS),
          rig.volume("yb", SIZE, TS));
      a.initialCopy().await(WAIT);
      b.initialCopy().await(WAIT);
      ConsistencyGroup g = rig.pk.createGroup("g", List.of("a", "b"));
      AtomicReference<Throwable> failure = new AtomicReference<>();
      Thread group = new Thread(() -> {
        for (int i = 0; i < 300 && failure.get() == null; i++) {
          try {
            List<CopyRequest> rs = i % 2 == 0 ? g.split() : g.resync();
            for (CopyRequest r : rs) {
              r.await(WAIT);
            }
          } catch (PairStateException refused) {
            // the single thread moved a member: fine, try the other way next time
          } catch (Throwable e) {
            failure.compareAndSet(null, e);
          }
        }
      });
      Thread single = new Thread(() -> {
        for (int i = 0; i < 300 && failure.get() == null; i++) {
          try {
            (i % 2 == 0 ? a.split() : a.resync()).await(WAIT);
          } catch (PairStateException refused) {
            // the group moved it
          } catch (Throwable e) {
            failure.compareAndSet(null, e);
          }
        }
      });
      group.start();
      single.start();
      group.join();
      single.join();
      if (failure.get() != null) {
        throw new AssertionError("a request failed", failure.get());
      }
    }
  }

  @Test
  void membershipRules() throws Exception {
    try (Rig rig = new Rig(PairKit.builder().trackSize(TS), false)) {
      rig.pk.createVolumePair("a", rig.volume("pa", SIZE, TS), rig.volume("sa", SIZE, TS))
          .initialCopy().await(WAIT);
      rig.pk.createVolumePair("b", rig.volume("pb", SIZE, TS), rig.volume("sb", SIZE, TS))
          .initialCopy().await(WAIT);
      assertThrows(NotFoundException.class, () -> rig.pk.createGroup("g", List.of("a", "nope")));
      assertThrows(InvalidArgumentException.class, () -> rig.pk.createGroup("g", List.of()));
      assertThrows(InvalidArgumentException.class,
          () -> rig.pk.createGroup("g", List.of("a", "a")));
      assertThrows(InvalidArgumentException.class, () -> rig.pk.createGroup("a/b", List.of("a")));
      assertTrue(rig.pk.groups().isEmpty(), "refused groups are not created");
      ConsistencyGroup g = rig.pk.createGroup("g", List.of("a", "b"));
      PairStateException twice = assertThrows(PairStateException.class,
          () -> rig.pk.createGroup("h", List.of("b")));
      assertTrue(twice.getMessage().contains("belongs to group 'g'"), twice.getMessage());
      assertThrows(PairStateException.class, () -> rig.pk.createGroup("g", List.of("b")));
      rig.pk.pair("a").delete(); // a deleted member leaves its group
      assertEquals(List.of("b"), g.pairs().stream().map(Pair::id).toList());
      g.delete();
      assertThrows(NotFoundException.class, () -> rig.pk.group("g"));
      assertEquals(PairState.FORMED, rig.pk.pair("b").state(), "its pairs stay as they are");
      rig.pk.createGroup("h", List.of("b")); // free to join another group now
    }
  }

  private PairKit.Builder durable() {
    return PairKit.builder().trackSize(TS).metadataDirectory(dir.resolve("meta"));
  }

  private VolumeSpec spec(String name, String mode) {
    return VolumeSpec.builder(name, "file").property("path", dir.resolve(name + ".img").toString())
        .property("size", SIZE).property("mode", mode).build();
  }

  /**
   * The group's split is one record: the journal cut at every byte of it gives both members
   * split or both mirroring, never one of each, and the membership survives.
   */
  @Test
  void aCrashFindsAGroupSplitOnEveryMemberOrOnNone() throws Exception {
    Path snapshot = dir.resolve("snapshot");
    long before;
    long after;
    Path journal;
    try (PairController pk = durable().build()) {
      for (String m : List.of("a", "b")) {
        HostVolume p = pk.openVolume(spec("p" + m, "create"));
        HostVolume s = pk.openVolume(spec("s" + m, "create"));
        p.write(0, new byte[SIZE / 2]);
        pk.createVolumePair(m, p, s).initialCopy().await(WAIT);
      }
      ConsistencyGroup g = pk.createGroup("g", List.of("a", "b"));
      pk.flush();
      journal = newestJournal(dir.resolve("meta"));
      before = Files.size(journal);
      for (CopyRequest r : g.split()) {
        r.await(WAIT);
      }
      after = Files.size(journal);
      copyDir(dir.resolve("meta"), snapshot); // the metadata as a crash now would leave it
    }
    assertTrue(after > before, "the split was recorded in the journal");
    Path meta = dir.resolve("meta");
    int splitSeen = 0;
    for (long cut = before; cut <= after; cut++) {
      deleteDir(meta);
      copyDir(snapshot, meta);
      try (java.nio.channels.FileChannel f = java.nio.channels.FileChannel.open(
          meta.resolve(journal.getFileName()), java.nio.file.StandardOpenOption.WRITE)) {
        f.truncate(cut);
      }
      try (PairController pk = durable().build()) {
        PairState a = pk.pair("a").state();
        PairState b = pk.pair("b").state();
        assertEquals(a, b, "cut at byte " + cut + " of " + after + ": one member split alone");
        assertTrue(a == PairState.SPLIT || a == PairState.FORMED, a.toString());
        splitSeen += a == PairState.SPLIT ? 1 : 0;
        assertEquals(List.of("a", "b"),
            pk.group("g").pairs().stream().map(Pair::id).toList());
      }
    }
    assertTrue(splitSeen >= 1, "the whole record gives the split");
  }

  private static Path newestJournal(Path meta) throws Exception {
    try (Stream<Path> files = Files.list(meta)) {
      return files.filter(f -> f.getFileName().toString().startsWith("journal-")).sorted()
          .reduce((x, y) -> y).orElseThrow();
    }
  }

  private static void copyDir(Path from, Path to) throws Exception {
    Files.createDirectories(to);
    try (Stream<Path> files = Files.list(from)) {
      for (Path f : files.toList()) {
        if (!f.getFileName().toString().equals("LOCK")) {
          Files.copy(f, to.resolve(f.getFileName()),
              java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
      }
    }
  }

  private static void deleteDir(Path d) throws Exception {
    if (!Files.exists(d)) {
      return;
    }
    try (Stream<Path> files = Files.list(d)) {
      for (Path f : files.toList()) {
        Files.delete(f);
      }
    }
    Files.delete(d);
  }
}
