package io.pairkit.core.engine;

import io.pairkit.api.CacheStats;
import io.pairkit.api.ExtentPair;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.ExtentSplitPair;
import io.pairkit.api.HostVolume;
import io.pairkit.api.Pair;
import io.pairkit.api.PairController;
import io.pairkit.api.PairListener;
import io.pairkit.api.VolumePair;
import io.pairkit.api.error.AlreadyClosedException;
import io.pairkit.api.error.ExtentOutOfRangeException;
import io.pairkit.api.error.InvalidArgumentException;
import io.pairkit.api.error.InvalidExtentException;
import io.pairkit.api.error.NotFoundException;
import io.pairkit.api.error.PairStateException;
import io.pairkit.api.error.VolumeConfigException;
import io.pairkit.api.error.VolumeIOException;
import io.pairkit.api.error.VolumeInUseException;
import io.pairkit.api.error.VolumeMismatchException;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.VolumeSpec;
import io.pairkit.core.cache.TrackCache;
import io.pairkit.core.config.ControllerConfig;
import io.pairkit.core.engine.volume.BackendVolume;
import io.pairkit.core.registry.VolumeProviders;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;

/**
 * The controller: volume registry, pair table, and the engine's threads. Public only so that
 * {@code io.pairkit.core.PairKit} (another package) can create it: it is not API. Build a
 * controller with {@code PairKit.builder()} and use it as a {@link PairController}, whose javadoc
 * is the whole contract (threading, missing things, partial failure, use after close).
 */
public final class DefaultPairController implements PairController {
  private final Engine engine;
  private final VolumeProviders providers;
  private final boolean ownsProviders;
  private final Map<String, ManagedVolume> volumes = new LinkedHashMap<>();
  private final Map<String, AbstractPair> pairs = new LinkedHashMap<>();
  private final TrackCache cache;
  private volatile boolean closed;

  private DefaultPairController(ControllerConfig config, VolumeProviders providers,
      boolean ownsProviders, Engine.InstantHook hook) {
    // The cache first: if it cannot be built, nothing else was started.
    this.cache = config.trackCache() == null ? null
        : new TrackCache(config.trackCache(), config.trackSize());
    this.engine = new Engine(config, hook);
    this.providers = providers;
    this.ownsProviders = ownsProviders;
  }

  /**
   * A controller over {@code providers}; for {@code PairKit.Builder.build()}, not for hosts.
   *
   * @param config        validated settings
   * @param ownsProviders whether {@link #close()} closes the providers (true for providers the
   *                      caller loaded for this controller alone)
   * @throws io.pairkit.api.error.ControllerConfigException if the track cache cannot be built;
   *     nothing was started then
   */
  public static DefaultPairController create(ControllerConfig config, VolumeProviders providers,
      boolean ownsProviders) {
    return new DefaultPairController(config, providers, ownsProviders, Engine.InstantHook.NONE);
  }

  /** For engine tests: a controller that calls {@code hook} at every request instant. */
  static DefaultPairController withInstantHook(ControllerConfig config,
      VolumeProviders providers, Engine.InstantHook hook) {
    return new DefaultPairController(config, providers, false, hook);
  }

  @Override
  public HostVolume openVolume(VolumeSpec spec) {
    checkOpen();
    if (spec == null) {
      throw new InvalidArgumentException("openVolume needs a VolumeSpec; build one with "
          + "VolumeSpec.builder(name, type)");
    }
    synchronized (this) {
      refuseTakenName(spec.name());
    }
    Volume raw;
    try {
      raw = providers.openVolume(spec);
    } catch (IOException e) {
      throw new VolumeIOException("volume '" + spec.name() + "' (type " + spec.type()
          + ") could not be opened: " + e.getMessage() + "; check the backend and retry", e);
    }
    return register(raw, true);
  }

  /** See {@link PairController#attachVolume}: the caller keeps {@code volume} if this throws. */
  @Override
  public HostVolume attachVolume(Volume volume) {
    checkOpen();
    if (volume == null) {
      throw new InvalidArgumentException("attachVolume needs a volume, got null");
    }
    return register(volume, false);
  }

  private synchronized HostVolume register(Volume raw, boolean openedHere) {
    Volume underEngine = raw;
    try {
      checkOpen();
      refuseTakenName(raw.name());
      checkGeometry(raw);
      if (cache != null) {
        underEngine = cache.wrap(raw);
      }
    } catch (RuntimeException e) {
      if (openedHere) {
        closeQuietly(raw); // never leak an open volume (and its lock) on a refused registration
      }
      throw e;
    }
    ManagedVolume v = new ManagedVolume(new BackendVolume(underEngine, engine.retry),
        engine.config.trackSize());
    volumes.put(raw.name(), v);
    return v;
  }

  private void refuseTakenName(String name) {
    if (volumes.containsKey(name)) {
      throw new VolumeInUseException("a volume named '" + name + "' is already open in this "
          + "controller; use controller.volume(\"" + name + "\") or pick another name");
    }
  }

  private void checkGeometry(Volume raw) {
    if (raw.size() <= 0) {
      throw new VolumeConfigException("volume '" + raw.name() + "' has size " + raw.size()
          + "; a volume needs a positive size");
    }
    int alignment = raw.capabilities().alignment();
    if (alignment > engine.config.trackSize()) {
      throw new VolumeConfigException("volume '" + raw.name() + "' has a native block size of "
          + alignment + " bytes, larger than the controller's track size ("
          + engine.config.trackSize() + "); build the controller with trackSize(" + alignment
          + ") or more");
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

  /** For engine tests: the volume beneath the pair logic (through the cache, if any). */
  synchronized Volume backendOf(String name) {
    return ((ManagedVolume) volume(name)).backend().raw();
  }

  @Override
  public synchronized List<HostVolume> volumes() {
    checkOpen();
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
  private interface PairFactory<T extends AbstractPair> {
    T make(ManagedVolume primary, ManagedVolume secondary);
  }

  private <T extends AbstractPair> T create(String pairId, HostVolume primaryView,
      HostVolume secondaryView, ExtentSet extents, PairFactory<T> factory) {
    checkOpen();
    if (pairId == null || pairId.isBlank()) {
      throw new InvalidArgumentException("a pair needs a non-blank id, got "
          + (pairId == null ? "null" : "'" + pairId + "'") + "; give a name such as \"nightly\"");
    }
    T pair;
    synchronized (this) {
      ManagedVolume p = own(primaryView);
      ManagedVolume s = own(secondaryView);
      if (pairs.containsKey(pairId)) {
        AbstractPair other = pairs.get(pairId);
        throw new PairStateException(pairId, other.state(), "a pair with id '" + pairId
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
    pair.publishState();
    pair.start();
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
    AbstractPair p = pairs.get(pairId);
    if (p == null) {
      throw new NotFoundException("no pair with id '" + pairId + "' (pairs: " + pairs.keySet()
          + "); create it with createVolumePair, createExtentPair or createExtentSplitPair");
    }
    return p;
  }

  @Override
  public synchronized List<Pair> pairs() {
    checkOpen();
    return List.copyOf(pairs.values());
  }

  @Override
  public void addListener(PairListener listener) {
    checkOpen();
    if (listener == null) {
      throw new InvalidArgumentException("addListener needs a listener, got null");
    }
    engine.listeners.add(listener);
  }

  @Override
  public void removeListener(PairListener listener) {
    engine.listeners.remove(listener);
  }

  @Override
  public CacheStats cacheStats() {
    return cache == null ? CacheStats.disabled() : cache.stats();
  }

  @Override
  public void pauseBackgroundCopies() {
    checkOpen();
    engine.pacer.setPaused(true);
  }

  @Override
  public void resumeBackgroundCopies() {
    checkOpen();
    engine.pacer.setPaused(false);
  }

  @Override
  public void flush() {
    checkOpen();
    VolumeIOException first = null;
    for (HostVolume v : volumes()) {
      try {
        v.flush();
      } catch (VolumeIOException e) {
        if (first == null) {
          first = e;
        } else {
          first.addSuppressed(e);
        }
      }
    }
    if (first != null) {
      throw first;
    }
  }

  @Override
  public void close() {
    List<AbstractPair> toStop;
    List<ManagedVolume> toClose;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      toStop = new ArrayList<>(pairs.values());
      toClose = new ArrayList<>(volumes.values());
    }
    for (AbstractPair p : toStop) {
      p.stopForClose(); // first: a paused copy let go below then finds its pair stopped
    }
    engine.pacer.setPaused(false);
    engine.shutdown();
    VolumeIOException failure = null;
    for (ManagedVolume v : toClose) {
      try {
        v.flush();
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
    if (cache != null) {
      cache.close(); // after the volumes: their close destaged what was dirty
    }
    if (ownsProviders) {
      providers.close();
    }
    if (failure != null) {
      throw failure;
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

  private static void closeQuietly(Volume v) {
    try {
      v.close();
    } catch (IOException | RuntimeException e) {
      Engine.LOG.log(Level.FINE, "close after failed registration", e);
    }
  }

  private void checkOpen() {
    if (closed) {
      throw new AlreadyClosedException("this PairKit controller is closed; build a new one with "
          + "PairKit.builder()");
    }
  }
}
