package io.pairkit.backend.s3;

import io.pairkit.api.error.VolumeConfigException;
import io.pairkit.api.error.VolumeInUseException;
import io.pairkit.backend.s3.ObjectStore.ConditionFailedException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The single-writer lease of one volume: the object {@code <prefix>lease}, holding the holder's
 * identity, the instant (holder's wall clock) the lease expires, the lease time and a nonce that
 * differs in every write, changed only by compare-and-swap.
 *
 * <p>Protocol (the commit rules):
 * <ol>
 *   <li>Take: no lease object: create it with {@code If-None-Match: *}. A released lease: replace
 *       it with {@code If-Match} of the ETag read. A foreign lease whose written expiry is still
 *       ahead of this host's clock: refuse with {@link VolumeInUseException} naming the holder.
 *       A foreign lease that looks expired is not trusted on wall clocks: the taker watches it on
 *       its own monotonic clock and replaces it only once it stayed unchanged (same ETag) for the
 *       longer of both lease times; then it waits a grace period (the longest request the old
 *       holder may still have had in flight, three quarters of the lease time) before it
 *       returns. A failed condition means another opener won: refuse the same way.
 *   <li>Renew: every third of the lease time, a background thread rewrites the lease with a later
 *       expiry and a new nonce, {@code If-Match} the ETag of its own last write, on a path of its
 *       own (no upload permit) with a short timeout. A failed condition is checked with a GET: the
 *       stored bytes equal to this renewal's means it was applied and its answer lost; the ETag
 *       unchanged means it was not applied (a transient failure: not extended); anything else
 *       means the lease was taken over: lost for good. A failed GET is transient.
 *   <li>Write: chunks are stored only while {@link #remainingNanos()} passes: not closed, not
 *       lost, less than three quarters of the lease time since the last successful renewal
 *       <em>started</em> on the monotonic clock, and the wall clock before three quarters of the
 *       lease time after it (a host suspended while its monotonic clock stopped). Each chunk
 *       request is given a timeout no longer than the time left, so it ends before the taker
 *       may take over.
 *   <li>Release (close): only once no upload can still run, rewrite the lease as released
 *       ({@code If-Match}); the next opener takes it over at once.
 * </ol>
 * Assumptions that remain: the store applies a request no later than the client's timeout ends
 * it (a request held in the network and delivered later is fenced only where the chunk PUT's
 * condition catches it, see {@link S3Volume}), and clocks run at about the same rate. Thread-safe.
 */
final class Lease implements AutoCloseable {
  static final String OBJECT = "lease";
  static final String MAGIC = "pairkit-s3-lease";

  private final ObjectStore store;
  private final S3Settings settings;
  private final String key;
  private final String holder;
  private final Duration leaseTime;
  private final ScheduledExecutorService renewer;
  private final String tag = UUID.randomUUID().toString().substring(0, 8);
  private long renewals;
  private String etag;
  /** Nanotime until which chunks may be stored. */
  private long writableUntil;
  /** Wall-clock millis until which chunks may be stored. */
  private long writableUntilWall;
  /** Why the lease is lost, or null. */
  private String lost;
  /** The last renewal failure that did not lose the lease (a transient one), or null. */
  private IOException lastRenewalFailure;
  private boolean closed;

  private Lease(ObjectStore store, S3Settings settings, String holder, String etag,
      long writableUntil, long writableUntilWall) {
    this.store = store;
    this.settings = settings;
    this.key = settings.key(OBJECT);
    this.holder = holder;
    this.leaseTime = settings.leaseTime();
    this.etag = etag;
    this.writableUntil = writableUntil;
    this.writableUntilWall = writableUntilWall;
    this.renewer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "pairkit-s3-lease-" + settings.name());
      t.setDaemon(true);
      return t;
    });
    long period = Math.max(200, leaseTime.toMillis() / 3);
    renewer.scheduleWithFixedDelay(this::renew, period, period, TimeUnit.MILLISECONDS);
  }

  /** What a lease object says. */
  record Holder(String holder, long expiresMillis, boolean released, long leaseMillis) {
    String describe() {
      return "'" + holder + "' (" + (released ? "released"
          : "valid until " + Instant.ofEpochMilli(expiresMillis)) + ")";
    }
  }

  /** A holder identity for this process: the host, the process id and a random tag. */
  static String newHolderIdentity(String volume) {
    return "volume '" + volume + "' in process " + ProcessHandle.current().pid() + " on host "
        + hostName() + " [" + UUID.randomUUID().toString().substring(0, 8) + "]";
  }

  /** Timeout of one lease call: a third of the lease time, at most 10 s. */
  static Duration callTimeout(S3Settings settings) {
    return Duration.ofMillis(Math.max(500, Math.min(10_000,
        settings.leaseTime().toMillis() / 3)));
  }

  /** The grace after taking over a lease that was not released: the old holder's longest call. */
  static Duration grace(S3Settings settings) {
    return Duration.ofNanos(writableNanos(settings));
  }

  /**
   * Takes the lease (rule 1); may wait up to the lease time and the grace for a lease that looks
   * expired.
   *
   * @throws VolumeInUseException naming the holder if another writer holds it or won the race
   * @throws VolumeConfigException if the lease object is not a PairKit lease
   */
  static Lease take(ObjectStore store, S3Settings settings, String holder) throws IOException {
    store.leaseCallTimeout(callTimeout(settings));
    String key = settings.key(OBJECT);
    Optional<ObjectStore.Stored> current = store.getLease(key);
    String watched = null;
    long watchedSince = 0;
    for (;;) {
      if (current.isEmpty()) {
        return put(store, settings, holder, null, false);
      }
      Holder h = decode(settings, current.get().bytes());
      if (h.released()) {
        return put(store, settings, holder, current.get().etag(), false);
      }
      if (h.expiresMillis() > System.currentTimeMillis()) {
        throw inUse(settings, h);
      }
      // Looks expired by this host's clock: wait until it stayed unchanged for a lease time on
      // this host's monotonic clock.
      String seen = current.get().etag();
      if (!seen.equals(watched)) {
        watched = seen;
        watchedSince = System.nanoTime();
      }
      long wait = Math.max(h.leaseMillis(), settings.leaseTime().toMillis()) * 1_000_000L;
      long left = watchedSince + wait - System.nanoTime();
      if (left <= 0) {
        return put(store, settings, holder, seen, true);
      }
      sleepNanos(Math.min(left, Math.max(50_000_000L, wait / 8)));
      current = store.getLease(key);
    }
  }

  private static void sleepNanos(long nanos) throws IOException {
    try {
      TimeUnit.NANOSECONDS.sleep(nanos);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while waiting for a lease");
    }
  }

  private static Lease put(ObjectStore store, S3Settings settings, String holder,
      String expected, boolean takeOver) throws IOException {
    String key = settings.key(OBJECT);
    long start = System.nanoTime();
    long wall = System.currentTimeMillis();
    String nonce = "take-" + UUID.randomUUID();
    byte[] mine = encode(holder, wall + settings.leaseTime().toMillis(), false,
        settings.leaseTime().toMillis(), nonce);
    String etag;
    try {
      etag = store.putLease(key, mine, expected == null ? ObjectStore.Condition.IF_ABSENT
          : ObjectStore.Condition.IF_MATCH, expected);
    } catch (ConditionFailedException e) {
      Optional<ObjectStore.Stored> now = store.getLease(key);
      if (now.isPresent() && Arrays.equals(now.get().bytes(), mine)) {
        etag = now.get().etag(); // our PUT was applied and its answer lost
      } else {
        Holder winner = now.map(s -> decode(settings, s.bytes()))
            .orElse(new Holder("an opener that has released it since", 0, true, 0));
        VolumeInUseException refused = inUse(settings, winner);
        refused.addSuppressed(e);
        throw refused;
      }
    }
    Lease lease = new Lease(store, settings, holder, etag, start + writableNanos(settings),
        wall + writableNanos(settings) / 1_000_000L);
    if (takeOver) {
      try {
        sleepNanos(grace(settings).toNanos()); // the old holder's last request ends
      } catch (IOException e) {
        lease.close();
        throw e;
      }
    }
    return lease;
  }

  private static long writableNanos(S3Settings settings) {
    return settings.leaseTime().toNanos() * 3 / 4;
  }

  private static VolumeInUseException inUse(S3Settings settings, Holder h) {
    return new VolumeInUseException("volume '" + settings.name() + "': " + settings.location()
        + " is held for writing by " + h.describe() + " (lease object "
        + settings.key(OBJECT) + "); close it there, or wait until its lease of "
        + settings.leaseTime().toSeconds() + " s runs out if that writer died");
  }

  /** Rule 2; runs on the renewal thread. */
  void renew() {
    String expected;
    long n;
    synchronized (this) {
      if (closed || lost != null) {
        return;
      }
      expected = etag;
      n = ++renewals;
    }
    long start = System.nanoTime();
    long wall = System.currentTimeMillis();
    byte[] mine = encode(holder, wall + leaseTime.toMillis(), false, leaseTime.toMillis(),
        tag + "-" + n);
    try {
      String next = store.putLease(key, mine, ObjectStore.Condition.IF_MATCH, expected);
      extended(next, start, wall);
    } catch (ConditionFailedException e) {
      Optional<ObjectStore.Stored> now;
      try {
        now = store.getLease(key);
      } catch (IOException | RuntimeException e2) {
        e2.addSuppressed(e);
        failed(e2 instanceof IOException io ? io : new IOException(e2));
        return;
      }
      if (now.isPresent() && Arrays.equals(now.get().bytes(), mine)) {
        extended(now.get().etag(), start, wall); // applied, its answer lost
        return;
      }
      if (now.isPresent() && now.get().etag().equals(expected)) {
        failed(e); // not applied (RGW answers a losing or failed swap with 500): not extended
        return;
      }
      String by;
      try {
        by = now.map(s -> decode(settings, s.bytes())).map(Holder::describe).orElse("nobody");
      } catch (RuntimeException e3) {
        by = "another writer (" + e3.getMessage() + ")";
      }
      synchronized (this) {
        lost = "its lease on " + settings.location() + " was taken over by " + by;
      }
    } catch (IOException | RuntimeException e) {
      failed(e instanceof IOException io ? io : new IOException(e));
    }
  }

  /** Stops chunk writes for good: another writer was seen changing the volume. */
  synchronized void lose(String why) {
    if (lost == null) {
      lost = why;
    }
  }

  private synchronized void extended(String next, long start, long wall) {
    etag = next;
    writableUntil = start + leaseTime.toNanos() * 3 / 4;
    writableUntilWall = wall + leaseTime.toMillis() * 3 / 4;
    lastRenewalFailure = null;
  }

  private synchronized void failed(IOException e) {
    lastRenewalFailure = e;
  }

  /**
   * Rule 3: throws unless chunks may be stored now.
   *
   * @throws IOException naming the new holder if the lease is lost, or the renewal failure if it
   *     could not be renewed in time
   */
  void checkWritable() throws IOException {
    remainingNanos();
  }

  /**
   * Rule 3: how long chunks may still be stored (a chunk request must end within it).
   *
   * @throws LeaseLostException if they may not be stored now
   */
  synchronized long remainingNanos() throws IOException {
    if (closed) {
      throw new LeaseLostException("volume '" + settings.name() + "' is closing: it stores no "
          + "further chunk");
    }
    if (lost != null) {
      throw new LeaseLostException("volume '" + settings.name() + "' stopped writing: " + lost
          + "; reopen it once that writer has closed it");
    }
    long left = Math.min(writableUntil - System.nanoTime(),
        (writableUntilWall - System.currentTimeMillis()) * 1_000_000L);
    if (left <= 0) {
      throw new LeaseLostException("volume '" + settings.name() + "' stopped writing: its "
          + "lease on " + settings.location() + " could not be renewed within "
          + leaseTime.toMillis() * 3 / 4000.0 + " s" + (lastRenewalFailure == null ? ""
              : " (" + lastRenewalFailure.getMessage() + ")")
          + "; another writer may take the volume over");
    }
    return left;
  }

  /** A chunk was not stored because the lease is lost or ran out. */
  static final class LeaseLostException extends ObjectStore.PermanentIOException {
    private static final long serialVersionUID = 1L;

    LeaseLostException(String message) {
      super(message);
    }
  }

  /** Rule 4: stops renewing and releases the lease if still held. */
  @Override
  public void close() throws IOException {
    close(true);
  }

  /**
   * Stops renewing; with {@code release}, releases the lease if still held, otherwise leaves it
   * to run out (an upload may still be in flight).
   */
  void close(boolean release) throws IOException {
    String expected;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      expected = lost == null ? etag : null;
    }
    renewer.shutdownNow();
    try {
      renewer.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    synchronized (this) {
      expected = lost == null ? etag : null; // a renewal may have ended meanwhile
    }
    if (release && expected != null) {
      byte[] released = encode(holder, 0, true, leaseTime.toMillis(), tag + "-released");
      try {
        store.putLease(key, released, ObjectStore.Condition.IF_MATCH, expected);
      } catch (ConditionFailedException e) {
        // Taken over meanwhile: nothing of ours to release.
      }
    }
  }

  static byte[] encode(String holder, long expiresMillis, boolean released, long leaseMillis,
      String nonce) {
    return (MAGIC + "\nholder=" + holder.replace('\n', ' ') + "\nexpires=" + expiresMillis
        + "\nreleased=" + released + "\nleaseMillis=" + leaseMillis + "\nnonce="
        + nonce.replace('\n', ' ') + "\n").getBytes(StandardCharsets.UTF_8);
  }

  /** @throws VolumeConfigException if the object is not a PairKit lease */
  static Holder decode(S3Settings settings, byte[] bytes) {
    String text = new String(bytes, StandardCharsets.UTF_8);
    String[] lines = text.split("\n");
    Map<String, String> values = new HashMap<>();
    for (int i = 1; i < lines.length; i++) {
      int eq = lines[i].indexOf('=');
      if (eq > 0) {
        values.put(lines[i].substring(0, eq), lines[i].substring(eq + 1));
      }
    }
    try {
      if (lines.length == 0 || !lines[0].equals(MAGIC) || !values.containsKey("holder")) {
        throw new NumberFormatException("no magic line or holder");
      }
      return new Holder(values.get("holder"), Long.parseLong(values.get("expires")),
          Boolean.parseBoolean(values.get("released")),
          Long.parseLong(values.getOrDefault("leaseMillis", "0")));
    } catch (NumberFormatException | NullPointerException e) {
      throw new VolumeConfigException("volume '" + settings.name() + "': lease object s3://"
          + settings.bucket() + "/" + settings.key(OBJECT) + " is not a PairKit lease ("
          + text.substring(0, Math.min(60, text.length())).replace('\n', ' ').trim()
          + "...): something else uses this prefix; if no other writer has the volume, delete "
          + "that object", e);
    }
  }

  private static String hostName() {
    try {
      String name = java.nio.file.Files.readString(java.nio.file.Path.of(
          "/proc/sys/kernel/hostname")).trim();
      if (!name.isEmpty()) {
        return name;
      }
    } catch (IOException | RuntimeException e) {
      // not Linux
    }
    try {
      return java.net.InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      return "localhost";
    }
  }
}
