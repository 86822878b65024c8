package io.pairkit.core.engine;

import io.pairkit.api.CacheStats;
import io.pairkit.api.ExtentPair;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.ExtentSplitPair;
import io.pairkit.api.HostVolume;
import io.pairkit.api.Pair;
import io.pairkit.api.PairController;
import io.pairkit.api.VolumePair;
import io.pairkit.api.error.AlreadyClosedException;
import io.pairkit.api.error.ExtentOutOfRangeException;
import io.pairkit.api.error.InvalidExtentException;
import io.pairkit.api.error.NotFoundException;
import io.pairkit.api.error.PairStateException;
import io.pairkit.api.error.VolumeConfigException;
import io.pairkit.api.error.VolumeIOException;
import io.pairkit.api.error.VolumeInUseException;
import io.pairkit.api.error.VolumeMismatchException;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.VolumeSpec;
import io.pairkit.core.ControllerConfig;
import io.pairkit.core.RequestInstantObserver;
import io.pairkit.core.VolumeProviders;
import io.pairkit.core.cache.TrackCache;
import io.pairkit.core.cache.TrackCacheConfig;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;

/** The controller: volume registry, pair table, and the engine's threads. */
public final class DefaultPairController implements PairController {
  private final Engine engine;
  private final VolumeProviders providers;
  private final Map<String, ManagedVolume> volumes = new LinkedHashMap<>();
  private final Map<String, PairModel> pairs = new LinkedHashMap<>();
  /** One track cache per track size in use, when configured. */
  private final Map<Integer, TrackCache> caches = new LinkedHashMap<>();
  private volatile boolean closed;

  public DefaultPairController(ControllerConfig config, VolumeProviders providers,
      RequestInstantObserver observer) {
    this.engine = new Engine(config, observer);
    this.providers = providers;
  }

  @Override
  public HostVolume openVolume(VolumeSpec spec) {
    checkOpen();
    synchronized (this) {
      refuseTakenName(spec.name());
    }
    Volume raw;
    try {
      raw = providers.get(spec.type(), spec.name()).open(spec);
    } catch (IOException e) {
      throw new VolumeIOException("volume '" + spec.name() + "' (type " + spec.type()
          + ") could not be opened: " + e.getMessage() + "; check the backend and retry", e);
    }
    return register(raw, true);
  }

  /** The caller keeps ownership of {@code volume} if this throws. */
  @Override
  public HostVolume attachVolume(Volume volume) {
    checkOpen();
    return register(volume, false);
  }

  private synchronized HostVolume register(Volume raw, boolean openedHere) {
    checkOpen();
    try {
      refuseTakenName(raw.name());
      checkGeometry(raw);
    } catch (RuntimeException e) {
      if (openedHere) {
        closeQuietly(raw);
      }
      throw e;
    }
    Volume underEngine = raw;
    TrackCacheConfig cacheConfig = engine.config.trackCache();
    if (cacheConfig != null) {
      underEngine = caches.computeIfAbsent(raw.trackSize(),
          ts -> new TrackCache(cacheConfig, ts)).wrap(raw);
    }
    ManagedVolume v = new ManagedVolume(engine, underEngine);
    volumes.put(raw.name(), v);
    return v;
  }

  private void refuseTakenName(String name) {
    if (volumes.containsKey(name)) {
      throw new VolumeInUseException("a volume named '" + name + "' is already open in this "
          + "controller; use controller.volume(\"" + name + "\") or pick another name");
    }
  }

  private static void checkGeometry(Volume raw) {
    int ts = raw.trackSize();
    if (ts < VolumeSpec.MIN_TRACK_SIZE || ts > VolumeSpec.MAX_TRACK_SIZE
        || Integer.bitCount(ts) != 1) {
      throw new VolumeConfigException("volume '" + raw.name() + "' has track size " + ts
          + "; it must be a power of two from 4 KiB to 16 MiB");
    }
    if (raw.size() <= 0) {
      throw new VolumeConfigException("volume '" + raw.name() + "' has size " + raw.size()
          + "; a volume needs a positive size");
    }
  }

  @Override
  public synchronized HostVolume volume(String name) {
    checkOpen();
    ManagedVolume v = volumes.get(name);
    if (v == null) {
      throw new NotFoundException("no volume named '" + name + "' is open (open: "
          + volumes.keySet() + "); open it with openVolume(spec)");
    }
    return v;
  }

  @Override
  public synchronized List<HostVolume> volumes() {
    return List.copyOf(volumes.values());
  }

  @Override
  public VolumePair createVolumePair(String pairId, HostVolume primary, HostVolume secondary) {
    return create(pairId, primary, secondary, null,
        (p, s) -> new VolumePairImpl(engine, pairId, p, s));
  }

  @Override
  public ExtentPair createExtentPair(String pairId, HostVolume primary, HostVolume secondary,
      ExtentSet extents) {
    if (extents == null || extents.isEmpty()) {
      throw new InvalidExtentException("extent pair '" + pairId + "' needs at least one extent; "
          + "give the extents of the data set to copy");
    }
    return create(pairId, primary, secondary, extents,
        (p, s) -> new ExtentPairImpl(engine, pairId, p, s, extents));
  }

  @Override
  public ExtentSplitPair createExtentSplitPair(String pairId, HostVolume primary,
      HostVolume secondary) {
    return create(pairId, primary, secondary, null,
        (p, s) -> new ExtentSplitPairImpl(engine, pairId, p, s));
  }

  @FunctionalInterface
  private interface PairFactory<T extends PairModel> {
    T make(ManagedVolume primary, ManagedVolume secondary);
  }

  private <T extends PairModel> T create(String pairId, HostVolume primaryView,
      HostVolume secondaryView, ExtentSet extents, PairFactory<T> factory) {
    checkOpen();
    if (pairId == null || pairId.isBlank()) {
      throw new IllegalArgumentException("a pair needs a non-blank id");
    }
    T pair;
    synchronized (this) {
      ManagedVolume p = own(primaryView);
      ManagedVolume s = own(secondaryView);
      if (pairs.containsKey(pairId)) {
        PairModel other = pairs.get(pairId);
        throw new PairStateException(pairId, other.state().name(), "a pair with id '" + pairId
            + "' already exists (" + other + "); delete it or choose another id");
      }
      checkPairable(pairId, p, s);
      if (extents != null && extents.end() > p.size()) {
        throw new ExtentOutOfRangeException("extent pair '" + pairId + "': extents " + extents
            + " reach past the end of volume '" + p.name() + "' (" + p.size()
            + " bytes); keep extents within [0, " + p.size() + ")");
      }
      // The pair starts at an instant atomic with host writes to both volumes.
      p.barrier.writeLock().lock();
      s.barrier.writeLock().lock();
      try {
        pair = factory.make(p, s);
        p.primaryOf.add(pair);
        s.secondaryOf = pair;
      } finally {
        s.barrier.writeLock().unlock();
        p.barrier.writeLock().unlock();
      }
      pairs.put(pairId, pair);
      pair.onDelete = () -> forget(pairId);
    }
    pair.start((CopyJob) pair.initialCopy());
    return pair;
  }

  private void checkPairable(String pairId, ManagedVolume p, ManagedVolume s) {
    String what = "pair '" + pairId + "' (" + p.name() + " -> " + s.name() + ")";
    if (p == s) {
      throw new VolumeMismatchException(what + ": a volume cannot be its own secondary; give two "
          + "different volumes");
    }
    if (p.size() != s.size()) {
      throw new VolumeMismatchException(what + ": sizes differ (" + p.size() + " vs " + s.size()
          + " bytes); make the secondary the same size as the primary");
    }
    if (p.trackSize() != s.trackSize()) {
      throw new VolumeMismatchException(what + ": track sizes differ (" + p.trackSize() + " vs "
          + s.trackSize() + " bytes); open both with the same trackSize");
    }
    if (s.secondaryOf != null) {
      throw new VolumeInUseException(what + ": '" + s.name() + "' is already the secondary of "
          + "pair '" + s.secondaryOf.id() + "'; delete that pair first or use another volume");
    }
    if (!s.primaryOf.isEmpty()) {
      throw new VolumeInUseException(what + ": '" + s.name() + "' is the primary of pair '"
          + s.primaryOf.get(0).id() + "'; cascaded pairs are not supported");
    }
    if (p.secondaryOf != null) {
      throw new VolumeInUseException(what + ": '" + p.name() + "' is the secondary of pair '"
          + p.secondaryOf.id() + "'; cascaded pairs are not supported");
    }
    int limit = engine.config.maxPairsPerPrimary();
    if (p.primaryOf.size() >= limit) {
      throw new VolumeInUseException(what + ": '" + p.name() + "' already has " + limit
          + " pairs, the limit (maxPairsPerPrimary); delete one first");
    }
  }

  private ManagedVolume own(HostVolume view) {
    if (!(view instanceof ManagedVolume mv) || volumes.get(mv.name()) != mv) {
      throw new NotFoundException("volume " + (view == null ? "null" : "'" + view.name() + "'")
          + " was not opened by this controller; open it with openVolume(spec) here");
    }
    return mv;
  }

  private synchronized void forget(String pairId) {
    pairs.remove(pairId);
  }

  @Override
  public synchronized Pair pair(String pairId) {
    checkOpen();
    PairModel p = pairs.get(pairId);
    if (p == null) {
      throw new NotFoundException("no pair with id '" + pairId + "' (pairs: " + pairs.keySet()
          + ")");
    }
    return p;
  }

  @Override
  public synchronized List<Pair> pairs() {
    return List.copyOf(pairs.values());
  }

  @Override
  public synchronized CacheStats cacheStats() {
    CacheStats total = CacheStats.disabled();
    for (TrackCache c : caches.values()) {
      total = total.plus(c.stats());
    }
    return total;
  }

  @Override
  public void pauseBackgroundCopies() {
    checkOpen();
    engine.setPaused(true);
  }

  @Override
  public void resumeBackgroundCopies() {
    checkOpen();
    engine.setPaused(false);
  }

  @Override
  public void flush() {
    checkOpen();
    for (HostVolume v : volumes()) {
      v.flush();
    }
  }

  @Override
  public void close() {
    List<PairModel> toStop;
    List<ManagedVolume> toClose;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      toStop = new ArrayList<>(pairs.values());
      toClose = new ArrayList<>(volumes.values());
    }
    engine.setPaused(false);
    for (PairModel p : toStop) {
      p.stopForClose();
    }
    engine.shutdown();
    for (ManagedVolume v : toClose) {
      try {
        v.flush();
      } catch (RuntimeException e) {
        Engine.LOG.log(Level.WARNING, "flush of " + v + " failed at close", e);
      }
      try {
        v.close();
      } catch (IOException e) {
        Engine.LOG.log(Level.WARNING, "close of " + v + " failed", e);
      }
    }
    List<TrackCache> toRelease;
    synchronized (this) {
      toRelease = new ArrayList<>(caches.values());
      caches.clear();
    }
    for (TrackCache c : toRelease) {
      c.close(); // after the volumes: their close destaged what was dirty
    }
  }

  private static void closeQuietly(Volume v) {
    try {
      v.close();
    } catch (IOException | RuntimeException e) {
      Engine.LOG.log(Level.FINE, "close after failed registration", e);
    }
  }

  private void checkOpen() {
    if (closed) {
      throw new AlreadyClosedException("this PairKit controller is closed; build a new one");
    }
  }
}
