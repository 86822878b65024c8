package io.pairkit.core.internal.engine;

import io.pairkit.api.error.VolumeIOException;
import io.pairkit.core.internal.cache.TrackCache;
import io.pairkit.core.internal.metadata.MetadataStore;
import io.pairkit.core.registry.VolumeProviders;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The order in which a controller stops, so that a clean close leaves nothing to redo: the lazy
 * clearer, then every pair (before any copy is let go), the copy workers, then every volume
 * flushed and closed, then the metadata (a clean checkpoint of exact bits only if every flush
 * worked), then the track cache (after the volumes, whose close destaged it) and the providers.
 * A failure is logged and the first one thrown at the end, after everything was tried.
 */
final class ControllerShutdown {
  private ControllerShutdown() {
  }

  /**
   * @param metadataMayCloseClean false if durable pairs could not all be restored at start (the
   *     metadata then keeps its journal for the next open)
   * @param providersToClose the providers, if the controller owns them, else null
   */
  static void run(Engine engine, List<AbstractPair> toStop, List<ManagedVolume> toClose,
      MetadataStore store, boolean metadataMayCloseClean, TrackCache cache,
      VolumeProviders providersToClose) {
    engine.stopClearer();
    for (AbstractPair p : toStop) {
      p.stopForClose(); // first: a paused copy let go below then finds its pair stopped
    }
    engine.pacer.setPaused(false);
    engine.shutdown();
    VolumeIOException failure = null;
    for (ManagedVolume v : toClose) {
      try {
        v.backend().flush(); // every volume, secondaries too: no pair needs to flush another
      } catch (RuntimeException e) {
        failure = remember(failure, "flush of " + v + " failed at close; writes it had not made "
            + "durable may be lost", e);
      }
      try {
        v.close();
      } catch (IOException | RuntimeException e) {
        failure = remember(failure, "close of " + v + " failed; writes it had not made durable "
            + "may be lost", e);
      }
    }
    if (store != null) {
      closeMetadata(store, toStop, failure == null && metadataMayCloseClean);
    }
    if (cache != null) {
      cache.close(); // after the volumes: their close destaged what was dirty
    }
    if (providersToClose != null) {
      providersToClose.close();
    }
    if (failure != null) {
      throw failure;
    }
  }

  /**
   * A clean close records the pairs' exact bits (every copy is durable now: the volumes were
   * flushed), so the next open has nothing to redo; after a failed flush it leaves the journal as
   * it is, and the next open treats the stop as unclean.
   */
  private static void closeMetadata(MetadataStore store, List<AbstractPair> stopped,
      boolean volumesDurable) {
    try {
      if (volumesDurable) {
        Map<String, MetadataStore.ExactBits> exact = new LinkedHashMap<>();
        for (AbstractPair p : stopped) {
          if (!p.lifecycle.gone() || p.lifecycle.closed()) {
            exact.put(p.id(), new MetadataStore.ExactBits(p.bitmaps.pendingSnapshot(),
                p.bitmaps.changedSnapshot()));
          }
        }
        store.closeClean(exact);
      } else {
        store.closeDirty();
      }
    } catch (RuntimeException e) {
      Engine.LOG.log(Level.WARNING, "closing the metadata failed; the next open recovers as "
          + "after a crash", e);
    }
  }

  private static VolumeIOException remember(VolumeIOException first, String what, Exception e) {
    Engine.LOG.log(Level.WARNING, what, e);
    VolumeIOException now = new VolumeIOException(what + ": " + e.getMessage(), e);
    if (first == null) {
      return now;
    }
    first.addSuppressed(now);
    return first;
  }
}
