package io.pairkit.server;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.pairkit.api.Pair;
import io.pairkit.api.PairController;
import io.pairkit.api.PairState;
import io.pairkit.api.PairStats;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntSupplier;

/**
 * pairkitd's metrics in Prometheus text (Micrometer): per pair its state, tracks pending,
 * changed, split and in the mirror's backlog, tracks copied by reason and requests running; the
 * track cache's hits and misses; NBD connections; control calls by method and status. Pairs come
 * and go, so their series are refreshed at each scrape (a deleted pair's series go away).
 *
 * <p>Threading: thread-safe.
 */
final class ServerMetrics {
  private final PrometheusMeterRegistry registry =
      new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final PairController controller;
  private final MultiGauge state;
  private final MultiGauge tracks;
  private final MultiGauge copied;
  private final MultiGauge requests;
  private final MultiGauge degraded;
  private final MultiGauge inSync;

  ServerMetrics(PairController controller, IntSupplier nbdConnections) {
    this.controller = controller;
    state = MultiGauge.builder("pairkit_pair_state").description("1 for the pair's current "
        + "state, 0 for the others").register(registry);
    tracks = MultiGauge.builder("pairkit_pair_tracks").description("tracks of the pair by "
        + "kind: pending (to copy), changed (since the split), split, mirror_backlog")
        .register(registry);
    copied = MultiGauge.builder("pairkit_pair_copied_tracks").description("tracks copied for "
        + "the pair since the daemon started, by reason (skipped_hole: holes of a thin primary "
        + "not copied)").register(registry);
    requests = MultiGauge.builder("pairkit_pair_requests_running")
        .description("requests of the pair whose copy is running").register(registry);
    FunctionCounter.builder("pairkit_cache_hits", controller,
        c -> c.cacheStats().hits()).description("track cache hits").register(registry);
    FunctionCounter.builder("pairkit_cache_misses", controller,
        c -> c.cacheStats().misses()).description("track cache misses").register(registry);
    degraded = MultiGauge.builder("pairkit_volume_degraded").description("1 while the "
        + "volume's backend runs degraded (a RAID member failed or rebuilding)").register(registry);
    inSync = MultiGauge.builder("pairkit_volume_part_in_sync_ratio").description("part of a "
        + "volume's member in sync (1: in sync; rising while it rebuilds)").register(registry);
    Gauge.builder("pairkit_nbd_connections", nbdConnections::getAsInt)
        .description("NBD connections open").register(registry);
  }

  /** Counts one control call. */
  void controlCall(String method, int status) {
    Counter.builder("pairkit_control_requests").tags("method", method, "status",
        Integer.toString(status)).description("control endpoint calls").register(registry)
        .increment();
  }

  /** The Prometheus text of every metric, pairs as they are now. */
  synchronized String scrape() {
    List<MultiGauge.Row<?>> stateRows = new ArrayList<>();
    List<MultiGauge.Row<?>> trackRows = new ArrayList<>();
    List<MultiGauge.Row<?>> copyRows = new ArrayList<>();
    List<MultiGauge.Row<?>> requestRows = new ArrayList<>();
    for (Pair p : controller.pairs()) {
      PairState now = p.state();
      PairStats s = p.stats();
      for (PairState st : PairState.values()) {
        stateRows.add(MultiGauge.Row.of(Tags.of("pair", p.id(), "state", st.name()),
            st == now ? 1 : 0));
      }
      trackRows.add(row(p, "kind", "pending", s.pendingTracks()));
      trackRows.add(row(p, "kind", "changed", s.changedTracks()));
      trackRows.add(row(p, "kind", "split", s.frozenTracks()));
      trackRows.add(row(p, "kind", "mirror_backlog", s.mirrorBacklogTracks()));
      copyRows.add(row(p, "reason", "request", s.jobCopies()));
      copyRows.add(row(p, "reason", "mirror", s.mirrorCopies()));
      copyRows.add(row(p, "reason", "copy_on_write", s.copyOnWriteCopies()));
      copyRows.add(row(p, "reason", "secondary_base", s.secondaryBaseCopies()));
      copyRows.add(row(p, "reason", "skipped_hole", s.skippedTracks()));
      requestRows.add(MultiGauge.Row.of(Tags.of("pair", p.id()), p.activeRequests().size()));
    }
    List<MultiGauge.Row<?>> degradedRows = new ArrayList<>();
    List<MultiGauge.Row<?>> partRows = new ArrayList<>();
    for (io.pairkit.api.HostVolume v : controller.volumes()) {
      io.pairkit.api.spi.VolumeHealth h = v.health();
      degradedRows.add(MultiGauge.Row.of(Tags.of("volume", v.name()), h.degraded() ? 1 : 0));
      for (io.pairkit.api.spi.VolumeHealth.Component c : h.components()) {
        partRows.add(MultiGauge.Row.of(Tags.of("volume", v.name(), "part", c.name(), "state",
            c.state()), c.totalBytes() == 0 ? 1.0 : (double) c.doneBytes() / c.totalBytes()));
      }
    }
    degraded.register(degradedRows, true);
    inSync.register(partRows, true);
    state.register(stateRows, true);
    tracks.register(trackRows, true);
    copied.register(copyRows, true);
    requests.register(requestRows, true);
    return registry.scrape();
  }

  private static MultiGauge.Row<?> row(Pair p, String key, String value, long n) {
    return MultiGauge.Row.of(Tags.of("pair", p.id(), key, value), n);
  }
}
