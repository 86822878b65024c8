package io.pairkit.backend.s3;

import io.pairkit.api.Extent;
import io.pairkit.api.ExtentSet;
import io.pairkit.api.error.AlreadyClosedException;
import io.pairkit.api.error.VolumeConfigException;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.VolumeCapabilities;
import io.pairkit.api.spi.Volumes;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * A volume stored as a manifest object plus one object per chunk ({@code <prefix>manifest},
 * {@code <prefix>chunks/<16 hex digits of the chunk index>}), in a bucket of an S3 store.
 *
 * <p>Thin: a chunk that has no object reads as zeros; {@link #discard} deletes the chunks the
 * range covers whole and zeroes the parts of the others; {@link #allocated} answers the chunks
 * that exist (listed once at open, then kept by this volume, the only writer). Writes go through
 * a {@link ChunkBuffer}: they complete in memory, whole chunks go to the store in parallel, and
 * {@link #flush} returns once every completed write is stored. A chunk upload is one whole-object
 * PUT, so after any failure each chunk is old or new.
 *
 * <p>Read-ahead: a sequential reader (its reads start where earlier ones ended; see
 * {@link ReadAhead}) makes the volume fetch the next {@code concurrency} chunks whole, in
 * parallel, into the buffer, so a sequential read keeps {@code concurrency} GETs in flight
 * instead of one ranged GET per request. Random reads fetch only what they ask for and are not
 * cached. What read-ahead holds is bounded by the buffer ({@link ChunkBuffer#prefetch}).
 *
 * <p>Fencing ({@code fencing=lease}, the default): a {@link Lease} taken at open; a second writer
 * is refused with {@link io.pairkit.api.error.VolumeInUseException} naming the holder. A volume
 * whose lease is lost or runs out starts no further chunk request, and each chunk request it
 * starts is checked against the lease once it holds its permit and gets a timeout no longer than
 * the lease's safe window. Chunk PUTs are conditional on what this volume stored last
 * ({@code If-None-Match: *} for a chunk it knows no object of, {@code If-Match} its ETag
 * otherwise), so a PUT of a stale writer that reaches the store after the new holder changed the
 * chunk fails. Not fenced, and so resting on timing (the new holder's grace after a takeover): a
 * request the store receives later than the client gave up on it, to a chunk the new holder has
 * not changed yet (its next PUT of that chunk then fails rather than overwriting it), and DELETEs.
 * Opening probes once whether the store honours conditional writes ({@code If-None-Match: *} on
 * an existing key and {@code If-Match} of a wrong ETag refused with 412, the right ETag
 * accepted), and refuses fencing where it does not.
 *
 * <p>Threading: every method is safe from many threads. {@link #volumeId}: {@code s3:} and the
 * manifest's random id.
 *
 * <p>Over 500 lines: the volume's layout (manifest, chunk keys), its range arithmetic, open and
 * create with their manifest checks, and the Volume calls; the write-back, the S3 calls and the
 * lease live in their own classes ({@code ChunkBuffer}, {@code ObjectStore}, {@code Lease}).
 */
public final class S3Volume implements Volume {
  static final String CHUNKS = "chunks/";

  private final S3Settings settings;
  private final ObjectStore store;
  private final Manifest manifest;
  private final Lease lease;
  private final ChunkBuffer buffer;
  private final ReadAhead readAhead;
  private final VolumeCapabilities caps;
  /** ETags of the stored chunks (fencing only): each chunk PUT is conditional on them. */
  private final java.util.concurrent.ConcurrentHashMap<Long, String> etags =
      new java.util.concurrent.ConcurrentHashMap<>();
  /** Per-attempt timeout of a chunk request, from the chunk size. */
  private final java.time.Duration attemptCap;
  /** Volume calls hold it shared; close takes it exclusively to set {@link #closed}. */
  private final java.util.concurrent.locks.ReentrantReadWriteLock ops =
      new java.util.concurrent.locks.ReentrantReadWriteLock();
  private volatile boolean closed;

  /**
   * Per-attempt timeout of a chunk request: 10 s plus one second per MiB (a link of 1 MiB/s at
   * least), so 14 s for the default 4 MiB chunk and 26 s for the largest.
   */
  static java.time.Duration attemptTimeout(int chunkSize) {
    return java.time.Duration.ofMillis(10_000 + 1000L * chunkSize / (1 << 20));
  }

  private S3Volume(S3Settings settings, ObjectStore store, Manifest manifest, Lease lease,
      BitSet stored, java.util.Map<Long, String> listedEtags, java.time.Duration writeBack) {
    this.settings = settings;
    this.store = store;
    this.manifest = manifest;
    this.lease = lease;
    this.attemptCap = attemptTimeout(manifest.chunkSize());
    if (lease != null) {
      etags.putAll(listedEtags);
    }
    int concurrency = settings.concurrency();
    int maxChunks = (int) Math.max(4, Math.min(2L * concurrency,
        (256L << 20) / manifest.chunkSize()));
    this.buffer = new ChunkBuffer(settings.name(), manifest.size(), manifest.chunkSize(), stored,
        new ChunkStore() {
          @Override
          public void readStored(long index, int offset, ByteBuffer dst) throws IOException {
            int before = dst.position();
            if (!store.read(chunkKey(index), offset, dst, chunkLength(index))) {
              dst.position(before);
              while (dst.hasRemaining()) {
                dst.put((byte) 0);
              }
            }
          }

          @Override
          public void put(long index, byte[] data, int length) throws IOException {
            putChunk(index, data, length);
          }

          @Override
          public void delete(long index) throws IOException {
            store.deleteChunk(chunkKey(index), guard(), attemptCap);
            etags.remove(index);
          }
        }, concurrency, maxChunks, writeBack);
    this.readAhead = new ReadAhead(concurrency);
    this.caps = new VolumeCapabilities(1, manifest.chunkSize(), concurrency, true, true,
        lease != null, true); // remote: a pair mirrors to it asynchronously by default
  }

  /**
   * Opens or creates the volume the settings describe.
   *
   * @throws VolumeConfigException for a missing bucket, refused credentials, a missing or
   *     existing volume (as the mode requires), a manifest of another format or size, a chunk
   *     object of the wrong size, a foreign lease object, or fencing on a store that ignores
   *     conditional writes
   * @throws io.pairkit.api.error.VolumeInUseException if another writer holds the lease
   * @throws IOException if the store fails; nothing stays open then
   */
  static S3Volume open(S3Settings settings, ObjectStore store) throws IOException {
    return open(settings, store, WRITE_BACK);
  }

  /** How long a chunk may stay dirty before it is uploaded without a flush. */
  static final java.time.Duration WRITE_BACK = java.time.Duration.ofSeconds(2);

  /**
   * {@link #open(S3Settings, ObjectStore)} with another write-back time (tests set a long one to
   * see what happens without it).
   */
  static S3Volume open(S3Settings settings, ObjectStore store, java.time.Duration writeBack)
      throws IOException {
    try {
      store.headBucket();
    } catch (IOException e) {
      throw configError(settings, e);
    }
    if (settings.create() && store.get(settings.key(Manifest.OBJECT)).isPresent()) {
      throw new VolumeConfigException("volume '" + settings.name() + "': mode=create, but "
          + settings.location() + " already holds a volume (object "
          + settings.key(Manifest.OBJECT) + "); use mode=open, or another prefix");
    }
    Lease lease = null;
    boolean ok = false;
    try {
      Manifest existing = settings.create() ? null : readManifest(settings, store);
      if (settings.fencing()) {
        probeConditionalWrites(settings, store);
        lease = Lease.take(store, settings, Lease.newHolderIdentity(settings.name()));
      }
      Manifest manifest = existing != null ? existing : create(settings, store);
      java.util.Map<Long, String> listedEtags = new java.util.HashMap<>();
      BitSet stored = listChunks(settings, store, manifest, listedEtags);
      S3Volume v = new S3Volume(settings, store, manifest, lease, stored, listedEtags,
          writeBack);
      ok = true;
      return v;
    } finally {
      if (!ok && lease != null) {
        try {
          lease.close();
        } catch (IOException e) {
          // the open already fails; the lease runs out by itself
        }
      }
    }
  }

  /** Bucket missing or credentials refused: a configuration error naming it. */
  private static IOException configError(S3Settings settings, IOException e) {
    int status = e.getCause() instanceof S3Exception s ? s.statusCode() : 0;
    if (status == 301) {
      throw new VolumeConfigException("volume '" + settings.name() + "': bucket '"
          + settings.bucket() + "' is not in region '" + settings.region() + "' (HTTP 301); set "
          + "property 'region' to the bucket's region", e);
    }
    if (status == 0 && e.getCause() instanceof software.amazon.awssdk.core.exception
        .SdkClientException c && settings.accessKey().isEmpty()
        && String.valueOf(c.getMessage()).contains("credentials")) {
      throw new VolumeConfigException("volume '" + settings.name() + "': no credentials: the "
          + "SDK's default credential chain found none (" + c.getMessage() + "); set "
          + "'accessKey'/'secretKey' or configure the chain", e);
    }
    if (status == 404) {
      throw new VolumeConfigException("volume '" + settings.name() + "': bucket '"
          + settings.bucket() + "' does not exist" + settings.endpoint().map(u -> " at " + u)
              .orElse("") + "; create it first or fix property 'bucket'", e);
    }
    if (status == 403 || status == 401) {
      throw new VolumeConfigException("volume '" + settings.name() + "': the store refused the "
          + "credentials " + settings.accessKey().map(k -> "of access key " + S3Settings.redact(k))
              .orElse("of the default credential chain") + " for bucket '" + settings.bucket()
          + "' (HTTP " + status + "); fix 'accessKey'/'secretKey' or the bucket's policy", e);
    }
    return e;
  }

  /**
   * Puts a probe key twice with {@code If-None-Match: *}; a store that honours conditional
   * writes answers the second with 412.
   */
  private static void probeConditionalWrites(S3Settings settings, ObjectStore store)
      throws IOException {
    String key = settings.key("probe-" + UUID.randomUUID());
    byte[] probe = "pairkit conditional-write probe\n".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    boolean honoured;
    try {
      String etag = store.put(key, probe, probe.length, ObjectStore.Condition.IF_ABSENT, null);
      honoured = refused(store, key, probe, ObjectStore.Condition.IF_ABSENT, null)
          && refused(store, key, probe, ObjectStore.Condition.IF_MATCH, "0" + etag);
      if (honoured) {
        try {
          store.put(key, probe, probe.length, ObjectStore.Condition.IF_MATCH, etag);
        } catch (ObjectStore.ConditionFailedException e) {
          honoured = false; // If-Match of the real (unquoted) ETag must succeed
        }
      }
    } finally {
      store.delete(key);
    }
    if (!honoured) {
      throw new VolumeConfigException("volume '" + settings.name() + "': the store"
          + settings.endpoint().map(u -> " at " + u).orElse("") + " ignores conditional writes "
          + "(a PUT with If-None-Match: * of an existing key, or with If-Match of a wrong ETag, "
          + "was not refused with 412), so a lease cannot fence "
          + "a second writer; set fencing=none if you make sure only one writer opens the volume");
    }
  }

  /**
   * Whether the store answers a conditional PUT whose condition does not hold with 412 (a 500 or
   * 409 is no proof that it honours the condition).
   */
  private static boolean refused(ObjectStore store, String key, byte[] probe,
      ObjectStore.Condition condition, String etag) throws IOException {
    try {
      store.put(key, probe, probe.length, condition, etag);
      return false;
    } catch (ObjectStore.ConditionFailedException e) {
      return e.getCause() instanceof S3Exception s && s.statusCode() == 412;
    }
  }

  private static Manifest create(S3Settings settings, ObjectStore store) throws IOException {
    String key = settings.key(Manifest.OBJECT);
    int chunkSize = (int) (settings.chunkSize() > 0 ? settings.chunkSize()
        : S3Settings.DEFAULT_CHUNK_SIZE);
    if ((settings.size() + chunkSize - 1) / chunkSize > Integer.MAX_VALUE) {
      throw new VolumeConfigException("volume '" + settings.name() + "': size "
          + settings.size() + " needs more than 2^31 chunks of " + chunkSize + " bytes; use a "
          + "larger chunkSize");
    }
    Manifest m = new Manifest(Manifest.FORMAT_VERSION, settings.size(), chunkSize,
        UUID.randomUUID().toString());
    byte[] bytes = m.encode();
    String exists = "volume '" + settings.name() + "': " + settings.location()
        + " already holds a volume (object " + key + "); use mode=open, or another prefix";
    if (!settings.fencing() && store.get(key).isPresent()) {
      throw new VolumeConfigException(exists);
    }
    if (!store.list(settings.key(CHUNKS)).isEmpty()) {
      throw new VolumeConfigException("volume '" + settings.name() + "': " + settings.location()
          + " holds chunk objects but no manifest (a volume deleted in part?); delete them or "
          + "use another prefix");
    }
    try {
      store.put(key, bytes, bytes.length, ObjectStore.Condition.IF_ABSENT, null);
    } catch (ObjectStore.ConditionFailedException e) {
      throw new VolumeConfigException(exists, e);
    }
    return m;
  }

  private static Manifest readManifest(S3Settings settings, ObjectStore store)
      throws IOException {
    String key = settings.key(Manifest.OBJECT);
    ObjectStore.Stored stored = store.get(key).orElseThrow(() -> new VolumeConfigException(
        "volume '" + settings.name() + "': no volume at " + settings.location() + " (object "
            + key + " does not exist); create it with mode=create and size=..., or fix "
            + "'bucket'/'prefix'"));
    String where = "manifest s3://" + settings.bucket() + "/" + key;
    Manifest m = Manifest.decode(settings.name(), where, stored.bytes());
    if (settings.size() >= 0 && settings.size() != m.size()) {
      throw new VolumeConfigException("volume '" + settings.name() + "': " + where + " says "
          + "size " + m.size() + " but the spec says size=" + settings.size()
          + "; fix the size property or the prefix");
    }
    if (settings.chunkSize() > 0 && settings.chunkSize() != m.chunkSize()) {
      throw new VolumeConfigException("volume '" + settings.name() + "': " + where + " says "
          + "chunkSize " + m.chunkSize() + " but the spec says chunkSize=" + settings.chunkSize()
          + "; leave chunkSize out when opening");
    }
    return m;
  }

  /** The chunks that exist, checking each object's name and size. */
  private static BitSet listChunks(S3Settings settings, ObjectStore store, Manifest m,
      java.util.Map<Long, String> etagsOut) throws IOException {
    BitSet stored = new BitSet();
    String prefix = settings.key(CHUNKS);
    for (S3Object o : store.list(prefix)) {
      String name = o.key().substring(prefix.length());
      long index;
      try {
        index = Long.parseLong(name, 16);
      } catch (NumberFormatException e) {
        index = -1;
      }
      String where = "chunk object s3://" + settings.bucket() + "/" + o.key();
      if (index < 0 || index >= m.chunks() || name.length() != 16) {
        throw new VolumeConfigException("volume '" + settings.name() + "': " + where + " is not "
            + "a chunk of this " + m.size() + "-byte volume; remove it or use another prefix");
      }
      long expected = Math.min(m.chunkSize(), m.size() - index * m.chunkSize());
      if (o.size() == null || o.size() != expected) {
        throw new VolumeConfigException("volume '" + settings.name() + "': " + where + " is "
            + o.size() + " bytes, expected " + expected + " (chunk size " + m.chunkSize()
            + " of the manifest): it was not written by this volume; restore or delete it");
      }
      stored.set((int) index);
      etagsOut.put(index, ObjectStore.unquote(o.eTag()));
    }
    return stored;
  }

  String chunkKey(long index) {
    return settings.key(CHUNKS) + String.format("%016x", index);
  }

  private long chunkLength(long index) {
    return Math.min(manifest.chunkSize(), manifest.size() - index * manifest.chunkSize());
  }

  private void checkLease() throws IOException {
    if (lease != null) {
      lease.checkWritable();
    }
  }

  private ObjectStore.Guard guard() {
    return lease == null ? ObjectStore.UNGUARDED : lease::remainingNanos;
  }

  /**
   * Stores one chunk. With fencing, the PUT is conditional on what this volume stored last:
   * {@code If-None-Match: *} for a chunk it knows no object of, {@code If-Match} its last ETag
   * otherwise; so a stale writer's PUT that reaches the store after another writer changed the
   * chunk fails. A failed condition is checked with a GET: the stored bytes equal to ours means
   * our own earlier attempt was applied (its answer lost); anything else is another writer's.
   */
  private void putChunk(long index, byte[] data, int length) throws IOException {
    String key = chunkKey(index);
    if (lease == null) {
      store.putChunk(key, data, length, ObjectStore.Condition.NONE, null, guard(), attemptCap);
      return;
    }
    String expected = etags.get(index);
    try {
      etags.put(index, store.putChunk(key, data, length, expected == null
          ? ObjectStore.Condition.IF_ABSENT : ObjectStore.Condition.IF_MATCH, expected, guard(),
          attemptCap));
    } catch (ObjectStore.ConditionFailedException e) {
      Optional<ObjectStore.Stored> now = store.get(key);
      if (now.isPresent() && java.util.Arrays.equals(now.get().bytes(), 0, now.get().bytes().length,
          data, 0, length)) {
        etags.put(index, now.get().etag());
        return;
      }
      String why = "chunk object s3://" + settings.bucket() + "/" + key + " was "
          + (now.isPresent() ? "changed" : "deleted") + " by another writer";
      lease.lose(why);
      throw new ChunkChangedException("volume '" + name() + "': " + why + " since this volume "
          + "stored it: another opener took the volume over; this volume stops writing", e);
    }
  }

  /** A conditional chunk PUT found another writer's object: the volume was taken over. */
  static final class ChunkChangedException extends ObjectStore.PermanentIOException {
    private static final long serialVersionUID = 1L;

    ChunkChangedException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  @Override
  public String name() {
    return settings.name();
  }

  @Override
  public long size() {
    return manifest.size();
  }

  @Override
  public VolumeCapabilities capabilities() {
    return caps;
  }

  @Override
  public Optional<String> volumeId() {
    return Optional.of("s3:" + manifest.volumeId());
  }

  /** The settings it was opened with (tests reopen with them). */
  S3Settings settings() {
    return settings;
  }

  /** Chunk uploads (PUTs and DELETEs) started so far. */
  int uploadsStarted() {
    return buffer.uploadsStarted();
  }

  /** The chunk buffer (tests look at its bounds and counters). */
  ChunkBuffer buffer() {
    return buffer;
  }

  /** Enters a volume call (holding {@link #ops} shared); throws if the volume is closed. */
  private void enter() {
    ops.readLock().lock();
    if (closed) {
      ops.readLock().unlock();
      throw new AlreadyClosedException("volume '" + name() + "' (" + settings.location()
          + ") is closed; open it again");
    }
  }

  private void doRead(long offset, ByteBuffer dst) throws IOException {
    Volumes.checkRange(name(), size(), offset, dst.remaining());
    int cs = manifest.chunkSize();
    int ahead = dst.hasRemaining() ? readAhead.onRead(offset, dst.remaining()) : 0;
    if (ahead > 0) {
      // From the chunk this read ends in (unless it ends on its boundary), so the rest of that
      // chunk comes whole too; the fetches start before this read, which then waits for them.
      long first = (offset + dst.remaining()) / cs;
      long last = Math.min(manifest.chunks(), first + ahead);
      for (long index = first; index < last; index++) {
        if (!buffer.prefetch(index)) {
          break; // enough fetched ahead for now; later reads go on from here
        }
      }
    }
    while (dst.hasRemaining()) {
      long index = offset / cs;
      int within = (int) (offset % cs);
      int n = (int) Math.min(dst.remaining(), chunkLength(index) - within);
      ByteBuffer part = dst.slice(dst.position(), n);
      buffer.read(index, within, part);
      dst.position(dst.position() + n);
      offset += n;
    }
  }

  private void doWrite(long offset, ByteBuffer src) throws IOException {
    Volumes.checkRange(name(), size(), offset, src.remaining());
    checkLease();
    int cs = manifest.chunkSize();
    while (src.hasRemaining()) {
      long index = offset / cs;
      int within = (int) (offset % cs);
      int n = (int) Math.min(src.remaining(), chunkLength(index) - within);
      ByteBuffer part = src.slice(src.position(), n);
      buffer.write(index, within, part, n);
      src.position(src.position() + n);
      offset += n;
    }
  }

  private void doDiscard(long offset, long length) throws IOException {
    Volumes.checkRange(name(), size(), offset, length);
    checkLease();
    int cs = manifest.chunkSize();
    long end = offset + length;
    while (offset < end) {
      long index = offset / cs;
      int within = (int) (offset % cs);
      int n = (int) Math.min(end - offset, chunkLength(index) - within);
      if (within == 0 && n == chunkLength(index)) {
        buffer.discardWhole(index);
      } else if (buffer.mayHoldData(index)) { // zeros in a chunk never written: nothing
        buffer.write(index, within, null, n);
      }
      offset += n;
    }
  }

  private ExtentSet doAllocated(long offset, long length) throws IOException {
    Volumes.checkRange(name(), size(), offset, length);
    if (length == 0) {
      return ExtentSet.empty();
    }
    int cs = manifest.chunkSize();
    long end = offset + length;
    List<Extent> parts = new ArrayList<>();
    for (long index = offset / cs; index * cs < end; index++) {
      if (buffer.mayHoldData(index)) {
        long from = Math.max(offset, index * cs);
        long to = Math.min(end, index * cs + chunkLength(index));
        parts.add(Extent.of(from, to));
      }
    }
    return ExtentSet.of(parts);
  }

  private void doFlush() throws IOException {
    buffer.flush();
  }

  /** A volume call, run by {@link #guarded}. */
  private interface VolumeCall<T> {
    T run() throws IOException;
  }

  /** Runs {@code call} holding {@link #ops} shared; throws if the volume is closed. */
  private <T> T guarded(VolumeCall<T> call) throws IOException {
    enter();
    try {
      return call.run();
    } finally {
      ops.readLock().unlock();
    }
  }

  @Override
  public void read(long offset, ByteBuffer dst) throws IOException {
    guarded(() -> {
      doRead(offset, dst);
      return null;
    });
  }

  @Override
  public void write(long offset, ByteBuffer src) throws IOException {
    guarded(() -> {
      doWrite(offset, src);
      return null;
    });
  }

  @Override
  public void discard(long offset, long length) throws IOException {
    guarded(() -> {
      doDiscard(offset, length);
      return null;
    });
  }

  @Override
  public ExtentSet allocated(long offset, long length) throws IOException {
    return guarded(() -> doAllocated(offset, length));
  }

  @Override
  public void flush() throws IOException {
    guarded(() -> {
      doFlush();
      return null;
    });
  }

  /**
   * Stores what is still dirty (best effort: the engine flushed before), stops the uploads and
   * releases the lease once the upload threads have ended (if one does not end, the lease is
   * left to run out). Calls racing close either complete before it starts or throw
   * {@link AlreadyClosedException}.
   *
   * @throws IOException if chunks could not be stored or the lease not released; the volume is
   *     closed all the same
   */
  @Override
  public void close() throws IOException {
    ops.writeLock().lock(); // waits for the calls in progress; later ones are refused
    try {
      if (closed) {
        return;
      }
      closed = true;
    } finally {
      ops.writeLock().unlock();
    }
    IOException failure = null;
    try {
      buffer.flush();
    } catch (IOException e) {
      failure = new IOException("volume '" + name() + "' closed with " + buffer.dirtyChunks()
          + " chunk(s) not stored: " + e.getMessage(), e);
    }
    boolean ended = buffer.close(java.time.Duration.ofSeconds(60));
    if (lease != null) {
      try {
        // Released only once no upload thread can still store a chunk; else it runs out.
        lease.close(ended);
      } catch (IOException e) {
        if (failure == null) {
          failure = e;
        } else {
          failure.addSuppressed(e);
        }
      }
    }
    if (failure != null) {
      throw failure;
    }
  }

  @Override
  public String toString() {
    return "S3Volume[" + name() + ", " + settings.location() + ", " + size() + " bytes, chunk "
        + manifest.chunkSize() + "]";
  }
}
