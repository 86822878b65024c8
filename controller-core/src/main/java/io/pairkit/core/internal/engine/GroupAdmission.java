package io.pairkit.core.internal.engine;

import io.pairkit.api.CopyRequest;
import io.pairkit.api.PairState;
import io.pairkit.api.RequestKind;
import io.pairkit.api.error.PairStateException;
import io.pairkit.core.internal.engine.copy.CopyJob;
import io.pairkit.core.internal.engine.track.TrackLocks;
import io.pairkit.core.internal.metadata.MetadataStore;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import org.roaringbitmap.longlong.Roaring64Bitmap;

/**
 * A consistency group's request instant: the members' requests take effect together, with host
 * writes to every member volume held off (each volume's barrier, primaries before secondaries as
 * single requests take them, each kind in name order, so no two requests wait for each other),
 * every member's life cycle locked, and every member admitted before any changes. With durable metadata the members' instants go into one record, so a crash finds
 * all of them or none.
 */
final class GroupAdmission {
  private GroupAdmission() {
  }

  /** Issues {@code plans.get(i)} to {@code pairs.get(i)} at one instant; all or nothing. */
  static List<CopyRequest> atOneInstant(String group, List<AbstractPair> pairs,
      List<RequestAdmission.Planned> plans, MetadataStore store) {
    boolean freezes = plans.stream().anyMatch(p -> p.kind() == RequestKind.SPLIT
        || p.kind() == RequestKind.EXTENT_SPLIT);
    if (freezes && store != null) {
      for (AbstractPair p : pairs) {
        p.settle(); // as a single split does, before the instant
      }
    }
    List<ManagedVolume> volumes = volumesOf(pairs);
    List<CopyJob> jobs = new ArrayList<>();
    long ticket = 0;
    RuntimeException unrecorded = null;
    for (ManagedVolume v : volumes) {
      v.barrier.writeLock().lock();
    }
    List<TrackLocks.Held> exact = new ArrayList<>();
    try {
      for (ManagedVolume v : volumes) { // the exactly copied tracks' locks, primaries by name
        Roaring64Bitmap tracks = new Roaring64Bitmap();
        for (int i = 0; i < pairs.size(); i++) {
          if (pairs.get(i).primary == v) {
            tracks.or(plans.get(i).exactTracks());
          }
        }
        if (!tracks.isEmpty()) {
          exact.add(v.trackLocks.lockTracks(tracks));
        }
      }
      for (int i = 0; i < pairs.size(); i++) {
        pairs.get(i).admission.beforeInstant(plans.get(i).kind());
      }
      try {
        ticket = withMonitors(pairs, () -> admitAndApply(group, pairs, plans, store, jobs));
      } catch (RuntimeException e) {
        if (jobs.size() < pairs.size()) {
          throw e; // refused before any change: nothing to run
        }
        unrecorded = e; // the metadata failed after the changes: their copies must run
      }
      for (int i = 0; i < pairs.size(); i++) {
        pairs.get(i).engine.instantHook.atInstant(pairs.get(i), jobs.get(i).id());
      }
    } finally {
      for (int i = exact.size() - 1; i >= 0; i--) {
        exact.get(i).close();
      }
      for (int i = volumes.size() - 1; i >= 0; i--) {
        volumes.get(i).barrier.writeLock().unlock();
      }
    }
    try {
      if (ticket > 0) {
        store.awaitDurable(ticket); // rule 4, for all members at once
      }
    } catch (RuntimeException e) {
      unrecorded = e; // applied in memory all the same: the copies must run
    }
    for (int i = 0; i < pairs.size(); i++) {
      pairs.get(i).publishState();
      jobs.get(i).start(pairs.get(i).engine.scheduler);
    }
    if (unrecorded != null) {
      throw unrecorded;
    }
    return List.copyOf(jobs);
  }

  /**
   * Every member's volumes, once each, in the order every request takes barriers: primaries
   * before secondaries (as a single request takes its pair's, and a volume is never both), each
   * kind by name. Any other order waits for good against a single request on a member.
   */
  private static List<ManagedVolume> volumesOf(List<AbstractPair> pairs) {
    Set<ManagedVolume> primaries = new java.util.TreeSet<>(
        Comparator.comparing(ManagedVolume::name));
    Set<ManagedVolume> secondaries = new java.util.TreeSet<>(
        Comparator.comparing(ManagedVolume::name));
    for (AbstractPair p : pairs) {
      primaries.add(p.primary);
      secondaries.add(p.secondary);
    }
    List<ManagedVolume> ordered = new ArrayList<>(primaries);
    ordered.addAll(secondaries);
    return ordered;
  }

  @FunctionalInterface
  private interface Body {
    long run();
  }

  /**
   * Runs {@code body} holding every member's life-cycle monitor and then every member's bitmaps
   * monitor, each in member-id order (a single request takes its pair's two in the same order),
   * so the group's record lands in the order of its members' bit changes, as a single one does.
   */
  private static long withMonitors(List<AbstractPair> pairs, Body body) {
    List<Object> monitors = new ArrayList<>();
    List<AbstractPair> sorted = new ArrayList<>(pairs);
    sorted.sort(Comparator.comparing(AbstractPair::id));
    for (AbstractPair p : sorted) {
      monitors.add(p.lifecycle);
    }
    for (AbstractPair p : sorted) {
      monitors.add(p.bitmaps);
    }
    return nest(monitors, 0, body);
  }

  private static long nest(List<Object> monitors, int i, Body body) {
    if (i == monitors.size()) {
      return body.run();
    }
    synchronized (monitors.get(i)) {
      return nest(monitors, i + 1, body);
    }
  }

  /** Admits every member, then applies every change; returns the record's ticket (0: none). */
  private static long admitAndApply(String group, List<AbstractPair> pairs,
      List<RequestAdmission.Planned> plans, MetadataStore store, List<CopyJob> jobs) {
    List<RequestAdmission.Change> changes = new ArrayList<>();
    for (int i = 0; i < pairs.size(); i++) {
      AbstractPair pair = pairs.get(i);
      RequestAdmission.Planned plan = plans.get(i);
      PairState state = pair.state();
      try {
        pair.admission.checkLive(plan.kind(), state);
        changes.add(plan.instant().admit(state));
      } catch (PairStateException e) {
        throw new PairStateException(e.pairId(), e.state(), "group '" + group + "': "
            + e.getMessage() + "; no member of the group changed");
      }
    }
    List<MetadataStore.InstantRecord> records = new ArrayList<>();
    for (int i = 0; i < pairs.size(); i++) {
      AbstractPair pair = pairs.get(i);
      RequestAdmission.Planned plan = plans.get(i);
      Roaring64Bitmap tracks = changes.get(i).apply();
      CopyJob job = pair.admission.newJob(plan.kind(), plan.region(), tracks,
          plan.drainsMirror());
      job.copiedAtInstant(changes.get(i).copiedAtInstant());
      jobs.add(job);
      if (store != null) {
        records.add(new MetadataStore.InstantRecord(pair.id(), job.id(), plan.kind().name(),
            plan.region(), plan.drainsMirror(), RequestAdmission.transitionName(plan.kind()),
            tracks, pair.bitmaps.mayNeedCopyIn(tracks)));
      }
    }
    return store == null ? 0 : store.instants(records);
  }

}
