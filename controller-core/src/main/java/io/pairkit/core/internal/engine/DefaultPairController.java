package io.pairkit.core.internal.engine;

import java.lang.System.Logger.Level;
import io.pairkit.api.CacheStats;
import io.pairkit.api.ExtentPair;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.ExtentSplitPair;
import io.pairkit.api.HostVolume;
import io.pairkit.api.Pair;
import io.pairkit.api.PairController;
import io.pairkit.api.PairListener;
import io.pairkit.api.PairOptions;
import io.pairkit.api.PairState;
import io.pairkit.api.RecoveryReport;
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
import io.pairkit.api.spi.VolumeProvider;
import io.pairkit.api.spi.VolumeSpec;
import io.pairkit.core.internal.cache.TrackCache;
import io.pairkit.core.config.ControllerConfig;
import io.pairkit.core.internal.engine.volume.BackendVolume;
import io.pairkit.core.internal.metadata.DirectoryStorage;
import io.pairkit.core.internal.metadata.MetaStorage;
import io.pairkit.core.internal.metadata.MetadataStore;
import io.pairkit.core.internal.metadata.PairInfo;
import io.pairkit.core.internal.metadata.VolumeRef;
import io.pairkit.core.registry.VolumeProviders;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The controller: volume registry, pair table, and the engine's threads. Public only so that
 * {@code io.pairkit.core.PairKit} (another package) can create it: it is not API. Build a
 * controller with {@code PairKit.builder()} and use it as a {@link PairController}, whose javadoc
 * is the whole contract (threading, missing things, partial failure, use after close).
 *
 * <p>Over 500 lines: the registry of volumes, pairs and consistency groups, and their creation
 * with its checks, all under the controller's monitor; restarting durable pairs is
 * {@link PairRecovery}'s and stopping is {@link ControllerShutdown}'s.
 */
public final class DefaultPairController implements PairController {
  private final Engine engine;
  private final VolumeProviders providers;
  private final boolean ownsProviders;
  private final Map<String, ManagedVolume> volumes = new LinkedHashMap<>();
  private final Map<String, AbstractPair> pairs = new LinkedHashMap<>();
  /** Consistency groups by name; guarded by this. */
  private final Map<String, ConsistencyGroupImpl> groups = new LinkedHashMap<>();
  private final TrackCache cache;
  private final MetadataStore store;
  private RecoveryReport recovery = RecoveryReport.none();
  private boolean restoreFailed;
  private volatile boolean closed;

  private DefaultPairController(ControllerConfig config, VolumeProviders providers,
      boolean ownsProviders, Engine.InstantHook hook, MetaStorage storage) {
    // The cache first: if it cannot be built, nothing else was started.
    this.cache = config.trackCache() == null ? null
        : new TrackCache(config.trackCache(), config.trackSize());
    MetadataStore opened = null;
    try {
      if (storage == null && config.metadataDirectory() != null) {
        storage = DirectoryStorage.open(config.metadataDirectory());
      }
      if (storage != null) {
        opened = MetadataStore.open(storage);
      }
    } catch (RuntimeException e) {
      closeQuietly(storage);
      if (cache != null) {
        cache.close();
      }
      throw e;
    }
    this.store = opened;
    if (cache != null && store != null) {
      cache.setDurability(store::awaitDurable); // destage waits for the bits it relies on
    }
    this.engine = new Engine(config, hook, store);
    this.providers = providers;
    this.ownsProviders = ownsProviders;
    if (store != null) {
      engine.requestIds.set(store.nextRequestId() - 1);
      try {
        restorePairs();
      } catch (RuntimeException e) {
        restoreFailed = true; // the close below must not record a clean stop
        try {
          close();
        } catch (RuntimeException suppressed) {
          e.addSuppressed(suppressed);
        }
        throw e;
      }
    }
  }

  private static void closeQuietly(MetaStorage storage) {
    if (storage != null) {
      try {
        storage.close();
      } catch (Exception e) {
        Engine.LOG.log(Level.DEBUG, "close of metadata after a failed open", e);
      }
    }
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
    return new DefaultPairController(config, providers, ownsProviders, Engine.InstantHook.NONE,
        null);
  }

  /**
   * For test kits ({@code io.pairkit.core.testing.ObservedController}): a controller that calls
   * {@code atInstant} with the pair and the request id at every request instant, while host
   * writes to both volumes are held off.
   */
  public static DefaultPairController observed(ControllerConfig config,
      VolumeProviders providers, java.util.function.ObjLongConsumer<Pair> atInstant) {
    return new DefaultPairController(config, providers, false, atInstant::accept, null);
  }

  /** For engine tests: a controller that calls {@code hook} at every request instant. */
  static DefaultPairController withInstantHook(ControllerConfig config,
      VolumeProviders providers, Engine.InstantHook hook) {
    return new DefaultPairController(config, providers, false, hook, null);
  }

  /** For crash tests: a durable controller over {@code storage} (a recorded metadata store). */
  static DefaultPairController withStorage(ControllerConfig config, VolumeProviders providers,
      Engine.InstantHook hook, MetaStorage storage) {
    return new DefaultPairController(config, providers, false, hook, storage);
  }

  // ---------------------------------------------------------------- durable pairs

  /** Rebuilds every pair the metadata holds (see {@link PairRecovery}). */
  private void restorePairs() {
    PairRecovery.Result r;
    synchronized (this) {
      r = new PairRecovery(this, engine, store).rebuild(pairs, groups);
      recovery = r.report();
    }
    for (AbstractPair pair : r.restored()) {
      pair.publishState();
      pair.start();
    }
    Engine.LOG.log(Level.INFO, "PairKit metadata: restored " + r.restored().size() + " pairs ("
        + (recovery.cleanStop() ? "clean stop" : "after an unclean stop") + ", "
        + recovery.pendingTracks() + " tracks to copy)");
  }

  /** The managed volume of {@code name} if open here, else null; under the monitor. */
  ManagedVolume openVolumeNamed(String name) {
    return volumes.get(name);
  }

  /** Registers a volume recovery opened by its recorded spec; under the monitor. */
  ManagedVolume registerRecovered(Volume raw, VolumeSpec spec) {
    return (ManagedVolume) register(raw, true, spec);
  }

  VolumeProviders providers() {
    return providers;
  }

  /** How the metadata records {@code v}: its spec without secrets, size and volume id. */
  private VolumeRef refOf(ManagedVolume v, String pairId) {
    if (v.spec == null) {
      throw new VolumeConfigException("pair '" + pairId + "': volume '" + v.name() + "' was "
          + "attached, not opened by spec, so a durable controller could not reopen it after a "
          + "restart; open it with openVolume(spec)");
    }
    VolumeProvider provider = providers.get(v.spec.type(), v.name());
    Map<String, String> props = new LinkedHashMap<>(provider.reopenSpec(v.spec).properties());
    props.keySet().removeAll(provider.secretProperties());
    return new VolumeRef(v.name(), v.spec.type(), props, v.size(),
        v.backend().raw().volumeId().orElse(null));
  }

  @Override
  public RecoveryReport recoveryReport() {
    return recovery;
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
    return register(raw, true, spec);
  }

  /** See {@link PairController#attachVolume}: the caller keeps {@code volume} if this throws. */
  @Override
  public HostVolume attachVolume(Volume volume) {
    checkOpen();
    if (volume == null) {
      throw new InvalidArgumentException("attachVolume needs a volume, got null");
    }
    return register(volume, false, null);
  }

  private synchronized HostVolume register(Volume raw, boolean openedHere, VolumeSpec spec) {
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
        engine.config.trackSize(), spec);
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

  /** For engine tests: the metadata store, or null. */
  MetadataStore engineStore() {
    return store;
  }

  /**
   * For engine tests and test kits: the volume beneath the pair logic (through the cache, if
   * any), as the engine reads and writes it.
   */
  public synchronized Volume backendOf(String name) {
    return ((ManagedVolume) volume(name)).backend().raw();
  }

  @Override
  public synchronized List<HostVolume> volumes() {
    checkOpen();
    return List.copyOf(volumes.values());
  }

  @Override
  public VolumePair createVolumePair(String pairId, HostVolume primary, HostVolume secondary,
      PairOptions options) {
    return create(pairId, primary, secondary, null, options,
        (p, s) -> new VolumePairImpl(engine, pairId, p, s, null));
  }

  @Override
  public ExtentPair createExtentPair(String pairId, HostVolume primary, HostVolume secondary,
      ExtentSet extents, PairOptions options) {
    if (extents == null || extents.isEmpty()) {
      throw new InvalidExtentException("extent pair '" + pairId + "' needs at least one extent; "
          + "give the extents of the data set to copy");
    }
    return create(pairId, primary, secondary, extents, options,
        (p, s) -> new ExtentPairImpl(engine, pairId, p, s, extents, null));
  }

  @Override
  public ExtentSplitPair createExtentSplitPair(String pairId, HostVolume primary,
      HostVolume secondary, PairOptions options) {
    return create(pairId, primary, secondary, null, options,
        (p, s) -> new ExtentSplitPairImpl(engine, pairId, p, s, null));
  }

  @FunctionalInterface
  private interface PairFactory<T extends AbstractPair> {
    T make(ManagedVolume primary, ManagedVolume secondary);
  }

  /** Longest pair id. */
  static final int MAX_ID_LENGTH = 64;
  /** What a pair id may hold: safe in a URL path segment, a file name and a log line. */
  private static final java.util.regex.Pattern VALID_ID =
      java.util.regex.Pattern.compile("[A-Za-z0-9._-]{1," + MAX_ID_LENGTH + "}");

  private <T extends AbstractPair> T create(String pairId, HostVolume primaryView,
      HostVolume secondaryView, ExtentSet extents, PairOptions options, PairFactory<T> factory) {
    checkOpen();
    if (pairId == null || pairId.isBlank()) {
      throw new InvalidArgumentException("a pair needs a non-blank id, got "
          + (pairId == null ? "null" : "'" + pairId + "'") + "; give a name such as \"nightly\"");
    }
    if (!VALID_ID.matcher(pairId).matches() || pairId.equals(".") || pairId.equals("..")) {
      throw new InvalidArgumentException("pair id '" + pairId + "' is not allowed: use 1 to "
          + MAX_ID_LENGTH + " letters, digits, '.', '_' or '-' (not '.' or '..' alone), such as "
          + "\"db-nightly.1\"; ids name pairs in paths, URLs and logs");
    }
    if (options == null) {
      throw new InvalidArgumentException("pair '" + pairId + "' needs options; give "
          + "PairOptions.defaults()");
    }
    T pair;
    long ticket = 0;
    synchronized (this) {
      checkOpen(); // again: a close may have run while this call waited for the monitor
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
      PairInfo info = null;
      if (store != null) {
        ExtentSet scope = extents != null ? extents : ExtentSet.of(0, p.size());
        info = new PairInfo(pairId, null, engine.config.trackSize(), scope, extents == null,
            refOf(p, pairId), refOf(s, pairId), PairOptionsCodec.toMap(options));
      }
      // The pair starts at an instant atomic with host writes to both volumes.
      p.barrier.writeLock().lock();
      s.barrier.writeLock().lock();
      try {
        checkCascade("pair '" + pairId + "'", p); // again, with the upper pair's requests held
        pair = factory.make(p, s);
        pair.applyOptions(options);
        long createId = pair.initialCopy().id();
        if (!options.initialCopy()) {
          pair.skipInitialCopy();
        }
        if (info != null) {
          PairInfo recorded = new PairInfo(info.id(), pair.strategy().name(), info.trackSize(),
              info.scope(), info.wholeVolume(), info.primary(), info.secondary(),
              info.options());
          ticket = options.initialCopy()
              ? store.create(recorded, createId, pair.bitmaps.scope())
              : store.createWithoutCopy(recorded, createId, pair.bitmaps.scope());
        }
        p.primaryOf.add(pair);
        s.secondaryOf = pair;
      } finally {
        s.barrier.writeLock().unlock();
        p.barrier.writeLock().unlock();
      }
      pairs.put(pairId, pair);
      pair.onDelete = () -> forget(pairId);
    }
    if (ticket > 0) {
      try {
        store.awaitDurable(ticket); // rule 4: a created pair is recorded before it is returned
      } catch (RuntimeException e) {
        pair.forceDelete();
        throw e;
      }
    }
    pair.publishState();
    pair.start();
    return pair;
  }

  /**
   * A cascade (the new pair's primary is the secondary of an upper pair) is allowed when the
   * upper pair is SPLIT with its point-in-time copy complete and no request running: the
   * primary is then a stable, writable image, written only by hosts, whose writes both pairs see.
   * While the cascade stands the upper pair refuses every request that would copy into it (see
   * RequestAdmission.checkLive).
   */
  private static void checkCascade(String what, ManagedVolume p) {
    AbstractPair upper = p.secondaryOf;
    if (upper == null) {
      return;
    }
    PairState state = upper.state();
    long due = upper.bitmaps.frozenPendingCount();
    if (state != PairState.SPLIT || due > 0 || !upper.activeRequests().isEmpty()) {
      throw new VolumeInUseException(what + ": '" + p.name() + "' is the secondary of pair '"
          + upper.id() + "' (" + state + (due > 0 ? ", " + due + " split tracks still to copy"
              : "") + "); a cascade needs that pair SPLIT with its copy complete: wait for "
          + "its split to complete, then create this pair");
    }
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
          + s.primaryOf.get(0).id() + "', and cascaded pairs (a volume both primary and "
          + "secondary) are not supported; use another secondary, or delete pair '"
          + s.primaryOf.get(0).id() + "' first");
    }
    checkCascade(what, p);
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

  synchronized void forget(String pairId) {
    AbstractPair gone = pairs.remove(pairId);
    // Its group loses it (the metadata's DELETE record says the same on replay).
    groups.values().removeIf(g -> gone != null && g.drop(gone));
  }

  /** The metadata store, or null without a metadata directory. */
  io.pairkit.core.internal.metadata.MetadataStore store() {
    return store;
  }

  @Override
  public io.pairkit.api.ConsistencyGroup createGroup(String name, List<String> pairIds) {
    checkOpen();
    if (name == null || !VALID_ID.matcher(name).matches()) {
      throw new InvalidArgumentException("group name " + (name == null ? "null" : "'" + name
          + "'") + " is not allowed: use 1 to " + MAX_ID_LENGTH + " letters, digits, '.', '_' "
          + "or '-', such as \"db\"");
    }
    if (pairIds == null || pairIds.isEmpty()) {
      throw new InvalidArgumentException("group '" + name + "' needs at least one pair");
    }
    if (new java.util.HashSet<>(pairIds).size() != pairIds.size()) {
      throw new InvalidArgumentException("group '" + name + "' names a pair twice: " + pairIds);
    }
    long ticket = 0;
    ConsistencyGroupImpl group;
    synchronized (this) {
      checkOpen();
      if (groups.containsKey(name)) {
        throw new PairStateException(pairIds.get(0), pairs.containsKey(pairIds.get(0))
            ? pairs.get(pairIds.get(0)).state() : io.pairkit.api.PairState.DELETED,
            "a group named '" + name + "' exists already (" + groups.get(name) + "); delete "
                + "it or choose another name");
      }
      List<AbstractPair> members = new ArrayList<>();
      for (String id : pairIds) {
        AbstractPair p = (AbstractPair) pair(id);
        for (String other : pairIds) {
          AbstractPair o = (AbstractPair) pair(other);
          if (o.primary == p.secondary) {
            throw new InvalidArgumentException("group '" + name + "': pair '" + other + "' "
                + "cascades from pair '" + id + "' (its primary is that pair's secondary); a "
                + "group holds one level of a cascade: group the upper or the lower pairs");
          }
        }
        for (ConsistencyGroupImpl g : groups.values()) {
          if (g.members().contains(p)) {
            throw new PairStateException(id, p.state(), "pair '" + id + "' belongs to group '"
                + g.name() + "' already; a pair belongs to at most one group: delete that group "
                + "first");
          }
        }
        members.add(p);
      }
      group = new ConsistencyGroupImpl(name, members, this);
      if (store != null) {
        ticket = store.group(name, List.copyOf(pairIds));
      }
      groups.put(name, group);
    }
    if (ticket > 0) {
      store.awaitDurable(ticket);
    }
    return group;
  }

  @Override
  public synchronized io.pairkit.api.ConsistencyGroup group(String name) {
    checkOpen();
    ConsistencyGroupImpl g = groups.get(name);
    if (g == null) {
      throw new NotFoundException("no consistency group named '" + name + "' (groups: "
          + groups.keySet() + "); create it with createGroup");
    }
    return g;
  }

  @Override
  public synchronized List<io.pairkit.api.ConsistencyGroup> groups() {
    checkOpen();
    return List.copyOf(groups.values());
  }

  /** Dissolves {@code group}; harmless if it is gone already. */
  void deleteGroup(ConsistencyGroupImpl group) {
    long ticket = 0;
    synchronized (this) {
      checkOpen();
      if (groups.get(group.name()) != group) {
        return;
      }
      groups.remove(group.name());
      if (store != null) {
        ticket = store.groupDeleted(group.name());
      }
    }
    if (ticket > 0) {
      store.awaitDurable(ticket);
    }
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
    ControllerShutdown.run(engine, toStop, toClose, store, !restoreFailed, cache,
        ownsProviders ? providers : null);
  }

  private static void closeQuietly(Volume v) {
    try {
      v.close();
    } catch (IOException | RuntimeException e) {
      Engine.LOG.log(Level.DEBUG, "close after failed registration", e);
    }
  }

  private void checkOpen() {
    if (closed) {
      throw new AlreadyClosedException("this PairKit controller is closed; build a new one with "
          + "PairKit.builder()");
    }
  }
}
