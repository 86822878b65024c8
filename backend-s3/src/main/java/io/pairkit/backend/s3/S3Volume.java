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
 * <p>Fencing ({@code fencing=lease}, the default): a {@link Lease} taken at open; a second writer
 * is refused with {@link io.pairkit.api.error.VolumeInUseException} naming the holder, and a
 * volume whose lease is lost or runs out stores no further chunk. Opening probes once whether the
 * store honours conditional writes, and refuses fencing where it does not.
 *
 * <p>Threading: every method is safe from many threads. {@link #volumeId}: {@code s3:} and the
 * manifest's random id.
 */
public final class S3Volume implements Volume {
  static final String CHUNKS = "chunks/";

  private final S3Settings settings;
  private final ObjectStore store;
  private final Manifest manifest;
  private final Lease lease;
  private final ChunkBuffer buffer;
  private final VolumeCapabilities caps;
  private volatile boolean closed;

  private S3Volume(S3Settings settings, ObjectStore store, Manifest manifest, Lease lease,
      BitSet stored) {
    this.settings = settings;
    this.store = store;
    this.manifest = manifest;
    this.lease = lease;
    int concurrency = settings.concurrency();
    int maxChunks = (int) Math.max(4, Math.min(2L * concurrency,
        (256L << 20) / manifest.chunkSize()));
    this.buffer = new ChunkBuffer(settings.name(), manifest.size(), manifest.chunkSize(), stored,
        new ChunkBuffer.Store() {
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
            checkLease();
            store.put(chunkKey(index), data, length, ObjectStore.Condition.NONE, null);
          }

          @Override
          public void delete(long index) throws IOException {
            checkLease();
            store.delete(chunkKey(index));
          }
        }, concurrency, maxChunks);
    this.caps = new VolumeCapabilities(1, manifest.chunkSize(), concurrency, true, true,
        lease != null);
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
    try {
      store.headBucket();
    } catch (IOException e) {
      throw configError(settings, e);
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
      BitSet stored = listChunks(settings, store, manifest);
      S3Volume v = new S3Volume(settings, store, manifest, lease, stored);
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
      store.put(key, probe, probe.length, ObjectStore.Condition.IF_ABSENT, null);
      try {
        store.put(key, probe, probe.length, ObjectStore.Condition.IF_ABSENT, null);
        honoured = false;
      } catch (ObjectStore.ConditionFailedException expected) {
        honoured = true;
      }
    } finally {
      store.delete(key);
    }
    if (!honoured) {
      throw new VolumeConfigException("volume '" + settings.name() + "': the store"
          + settings.endpoint().map(u -> " at " + u).orElse("") + " ignores conditional writes "
          + "(a second PUT with If-None-Match: * of one key succeeded), so a lease cannot fence "
          + "a second writer; set fencing=none if you make sure only one writer opens the volume");
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
  private static BitSet listChunks(S3Settings settings, ObjectStore store, Manifest m)
      throws IOException {
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

  private void checkOpen() {
    if (closed) {
      throw new AlreadyClosedException("volume '" + name() + "' (" + settings.location()
          + ") is closed; open it again");
    }
  }

  @Override
  public void read(long offset, ByteBuffer dst) throws IOException {
    checkOpen();
    Volumes.checkRange(name(), size(), offset, dst.remaining());
    int cs = manifest.chunkSize();
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

  @Override
  public void write(long offset, ByteBuffer src) throws IOException {
    checkOpen();
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

  @Override
  public void discard(long offset, long length) throws IOException {
    checkOpen();
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
      } else {
        buffer.write(index, within, null, n);
      }
      offset += n;
    }
  }

  @Override
  public ExtentSet allocated(long offset, long length) throws IOException {
    checkOpen();
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

  @Override
  public void flush() throws IOException {
    checkOpen();
    buffer.flush();
  }

  /**
   * Stores what is still dirty (best effort: the engine flushed before), stops the uploads and
   * releases the lease.
   *
   * @throws IOException if chunks could not be stored or the lease not released; the volume is
   *     closed all the same
   */
  @Override
  public void close() throws IOException {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    IOException failure = null;
    try {
      buffer.flush();
    } catch (IOException e) {
      failure = new IOException("volume '" + name() + "' closed with " + buffer.dirtyChunks()
          + " chunk(s) not stored: " + e.getMessage(), e);
    }
    buffer.close();
    if (lease != null) {
      try {
        lease.close();
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
