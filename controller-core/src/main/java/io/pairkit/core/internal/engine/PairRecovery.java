package io.pairkit.core.internal.engine;

import io.pairkit.api.PairStats;
import io.pairkit.api.PairStrategy;
import io.pairkit.api.RecoveryReport;
import io.pairkit.api.error.MetadataException;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.VolumeSpec;
import io.pairkit.core.internal.metadata.MetadataStore;
import io.pairkit.core.internal.metadata.PairInfo;
import io.pairkit.core.internal.metadata.VolumeRef;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A durable controller's start: every pair the metadata holds is rebuilt in its state, with its
 * bits, options and running requests, on its volumes reopened by their recorded specs (refused by
 * name if an image is not the one the pair was made on), and every consistency group; the
 * recovery report says what each pair copies again and why.
 */
final class PairRecovery {
  /** What was rebuilt: the pairs (not started yet) and the report. */
  record Result(List<AbstractPair> restored, RecoveryReport report) {
  }

  private final DefaultPairController controller;
  private final Engine engine;
  private final MetadataStore store;

  PairRecovery(DefaultPairController controller, Engine engine, MetadataStore store) {
    this.controller = controller;
    this.engine = engine;
    this.store = store;
  }

  /**
   * Rebuilds every pair and group the metadata holds into the controller's {@code pairs} and
   * {@code groups} as it goes (so a failure part way leaves what was built for the controller's
   * close); the caller holds the controller.
   */
  Result rebuild(Map<String, AbstractPair> pairs, Map<String, ConsistencyGroupImpl> groups) {
    List<RecoveryReport.PairRecovery> found = new ArrayList<>();
    List<AbstractPair> restored = new ArrayList<>();
    for (MetadataStore.DurablePairView v : store.pairs().values()) {
      PairInfo info = v.info();
      if (info.trackSize() != engine.config.trackSize()) {
        throw new MetadataException("pair '" + info.id() + "' was recorded with "
            + info.trackSize() + "-byte tracks, but this controller tracks in "
            + engine.config.trackSize() + " bytes; build it with trackSize("
            + info.trackSize() + ")");
      }
      ManagedVolume p = reopen(info.primary(), info.id());
      ManagedVolume s = reopen(info.secondary(), info.id());
      AbstractPair.Restored r = new AbstractPair.Restored(v.pending(), v.changed(), v.frozen(),
          v.dirty(), v.initialCopyDone(), v.suspendedBecause(), v.requests(), v.restoring(),
          v.splitBytes());
      String id = info.id();
      AbstractPair pair = switch (PairStrategy.valueOf(info.strategy())) {
        case VOLUME_PAIR -> new VolumePairImpl(engine, id, p, s, r);
        case EXTENT_PAIR -> new ExtentPairImpl(engine, id, p, s, info.scope(), r);
        case EXTENT_SPLIT_PAIR -> new ExtentSplitPairImpl(engine, id, p, s, r);
      };
      pair.applyOptions(PairOptionsCodec.fromMap(info.options()));
      p.primaryOf.add(pair);
      s.secondaryOf = pair;
      pairs.put(id, pair);
      pair.onDelete = () -> controller.forget(id);
      restored.add(pair);
      PairStats st = pair.stats();
      long orphans = pair.recoveredSplitTracks();
      String reason = st.pendingTracks() == 0 && st.changedTracks() == 0 ? "nothing to copy"
          : "tracks copied too recently for their clear to be recorded, or still to copy for "
          + "a running request";
      if (v.impliedTracks() > 0) {
        reason += "; " + v.impliedTracks() + " tracks of write-intent regions that were dirty "
            + "(a write there may have reached one side only) count as pending (mirrored) or "
            + "changed (split)";
      }
      if (orphans > 0) {
        reason += "; " + orphans + " split tracks whose copy was not recorded as cleared are "
            + "copied again by a " + pair.splitKind() + " request started at recovery";
      }
      found.add(new RecoveryReport.PairRecovery(id, st.pendingTracks(), st.changedTracks(),
          v.impliedTracks(), v.requests().size() + (orphans > 0 ? 1 : 0), reason));
    }
    for (Map.Entry<String, List<String>> g : store.groups().entrySet()) {
      List<AbstractPair> members = new ArrayList<>();
      for (String id : g.getValue()) {
        members.add(pairs.get(id));
      }
      groups.put(g.getKey(), new ConsistencyGroupImpl(g.getKey(), members, controller));
    }
    return new Result(restored, store.report(found));
  }

  /** The managed volume of a recorded volume: already open, or opened by its recorded spec. */
  private ManagedVolume reopen(VolumeRef ref, String pairId) {
    ManagedVolume v = controller.openVolumeNamed(ref.name());
    if (v == null) {
      VolumeSpec spec = new VolumeSpec(ref.name(), ref.type(), ref.properties());
      Volume raw;
      try {
        raw = controller.providers().openVolume(spec);
      } catch (IOException | RuntimeException e) {
        throw new MetadataException("volume '" + ref.name() + "' of pair '" + pairId
            + "' could not be reopened from its recorded spec (type " + ref.type() + ", "
            + ref.properties() + "): " + e.getMessage() + "; make it available again, or move "
            + "the metadata directory away and recreate the pair", e);
      }
      v = controller.registerRecovered(raw, spec);
    }
    String id = v.backend().raw().volumeId().orElse(null);
    if (v.size() != ref.size() || (id != null && ref.volumeId() != null
        && !id.equals(ref.volumeId()))) {
      throw new MetadataException("volume '" + ref.name() + "' of pair '" + pairId + "' is not "
          + "the image the pair was made on: recorded " + ref.size() + " bytes, id "
          + ref.volumeId() + "; found " + v.size() + " bytes, id " + id + ". Put the right image "
          + "back, or move the metadata directory away and recreate the pair");
    }
    return v;
  }
}
