package io.pairkit.backend.s3;

import io.pairkit.api.error.VolumeConfigException;
import io.pairkit.api.error.VolumeInUseException;
import io.pairkit.backend.s3.ObjectStore.ConditionFailedException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The single-writer lease of one volume: the object {@code <prefix>lease}, holding the holder's
 * identity and the instant the lease expires, changed only by compare-and-swap.
 *
 * <p>Protocol (the commit rules):
 * <ol>
 *   <li>Take: no lease object: create it with {@code If-None-Match: *}. A lease object whose
 *       expiry has passed (or that its holder released): replace it with {@code If-Match} of the
 *       ETag read. Any other lease: refuse with {@link VolumeInUseException} naming the holder.
 *       A failed condition means another opener won: refuse the same way.
 *   <li>Renew: every third of the lease time, a background thread rewrites the lease with a later
 *       expiry, {@code If-Match} the ETag of its own last write. A failed condition means the
 *       lease was taken over: the lease is lost for good.
 *   <li>Write: the volume stores a chunk only while {@link #checkWritable()} passes: the lease is
 *       not lost and the last successful renewal <em>started</em> less than three quarters of the
 *       lease time ago. Another opener may take over only after the full lease time, so the
 *       quarter between is the margin for a PUT in flight and for clock skew between hosts.
 *   <li>Release (close): rewrite the lease as released ({@code If-Match}); the next opener takes
 *       it over at once.
 * </ol>
 * Thread-safe.
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
  private String etag;
  /** Nanotime until which chunks may be stored. */
  private long writableUntil;
  /** Why the lease is lost, or null. */
  private String lost;
  /** The last renewal failure that did not lose the lease (a transient one), or null. */
  private IOException lastRenewalFailure;
  private boolean closed;

  private Lease(ObjectStore store, S3Settings settings, String holder, String etag,
      long writableUntil) {
    this.store = store;
    this.settings = settings;
    this.key = settings.key(OBJECT);
    this.holder = holder;
    this.leaseTime = settings.leaseTime();
    this.etag = etag;
    this.writableUntil = writableUntil;
    this.renewer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "pairkit-s3-lease-" + settings.name());
      t.setDaemon(true);
      return t;
    });
    long period = Math.max(200, leaseTime.toMillis() / 3);
    renewer.scheduleWithFixedDelay(this::renew, period, period, TimeUnit.MILLISECONDS);
  }

  /** What a lease object says. */
  record Holder(String holder, long expiresMillis, boolean released) {
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

  /**
   * Takes the lease (rule 1).
   *
   * @throws VolumeInUseException naming the holder if another writer holds it or won the race
   * @throws VolumeConfigException if the lease object is not a PairKit lease
   */
  static Lease take(ObjectStore store, S3Settings settings, String holder) throws IOException {
    String key = settings.key(OBJECT);
    Optional<ObjectStore.Stored> current = store.get(key);
    long start = System.nanoTime();
    long expires = System.currentTimeMillis() + settings.leaseTime().toMillis();
    byte[] mine = encode(holder, expires, false);
    String etag;
    try {
      if (current.isEmpty()) {
        etag = store.put(key, mine, mine.length, ObjectStore.Condition.IF_ABSENT, null);
      } else {
        Holder h = decode(settings, current.get().bytes());
        if (!h.released() && h.expiresMillis() > System.currentTimeMillis()) {
          throw inUse(settings, h);
        }
        etag = store.put(key, mine, mine.length, ObjectStore.Condition.IF_MATCH,
            current.get().etag());
      }
    } catch (ConditionFailedException e) {
      Optional<ObjectStore.Stored> now = store.get(key);
      Holder winner = now.map(s -> decode(settings, s.bytes()))
          .orElse(new Holder("an opener that has released it since", 0, true));
      if (winner.holder().equals(holder) && !winner.released()) {
        // Our PUT was applied and its answer lost; the SDK's retry then failed the condition.
        return new Lease(store, settings, holder, now.get().etag(),
            start + writableNanos(settings));
      }
      VolumeInUseException refused = inUse(settings, winner);
      refused.addSuppressed(e);
      throw refused;
    }
    return new Lease(store, settings, holder, etag, start + writableNanos(settings));
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
  private void renew() {
    String expected;
    synchronized (this) {
      if (closed || lost != null) {
        return;
      }
      expected = etag;
    }
    long start = System.nanoTime();
    byte[] mine = encode(holder, System.currentTimeMillis() + leaseTime.toMillis(), false);
    try {
      String next = store.put(key, mine, mine.length, ObjectStore.Condition.IF_MATCH, expected);
      synchronized (this) {
        etag = next;
        writableUntil = start + leaseTime.toNanos() * 3 / 4;
        lastRenewalFailure = null;
      }
    } catch (ConditionFailedException e) {
      String by;
      try {
        Optional<ObjectStore.Stored> now = store.get(key);
        Optional<Holder> h = now.map(s -> decode(settings, s.bytes()));
        if (h.isPresent() && h.get().holder().equals(holder) && !h.get().released()) {
          synchronized (this) { // our renewal was applied and its answer lost: still ours
            etag = now.get().etag();
            writableUntil = start + leaseTime.toNanos() * 3 / 4;
          }
          return;
        }
        by = h.map(Holder::describe).orElse("nobody");
      } catch (IOException | RuntimeException e2) {
        by = "another writer (" + e2.getMessage() + ")";
      }
      synchronized (this) {
        lost = "its lease on " + settings.location() + " was taken over by " + by;
      }
    } catch (IOException e) {
      synchronized (this) {
        lastRenewalFailure = e;
      }
    }
  }

  /**
   * Rule 3: throws unless chunks may be stored now.
   *
   * @throws IOException naming the new holder if the lease is lost, or the renewal failure if it
   *     could not be renewed in time
   */
  synchronized void checkWritable() throws IOException {
    if (lost != null) {
      throw new LeaseLostException("volume '" + settings.name() + "' stopped writing: " + lost
          + "; reopen it once that writer has closed it");
    }
    if (System.nanoTime() - writableUntil > 0) {
      throw new LeaseLostException("volume '" + settings.name() + "' stopped writing: its "
          + "lease on " + settings.location() + " could not be renewed within "
          + leaseTime.toSeconds() * 3 / 4 + " s" + (lastRenewalFailure == null ? ""
              : " (" + lastRenewalFailure.getMessage() + ")")
          + "; another writer may take the volume over");
    }
  }

  /** A chunk was not stored because the lease is lost or ran out. */
  static final class LeaseLostException extends IOException {
    private static final long serialVersionUID = 1L;

    LeaseLostException(String message) {
      super(message);
    }
  }

  /** Rule 4: stops renewing and releases the lease if still held. */
  @Override
  public void close() throws IOException {
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
    if (expected != null) {
      byte[] released = encode(holder, 0, true);
      try {
        store.put(key, released, released.length, ObjectStore.Condition.IF_MATCH, expected);
      } catch (ConditionFailedException e) {
        // Taken over meanwhile: nothing of ours to release.
      }
    }
  }

  static byte[] encode(String holder, long expiresMillis, boolean released) {
    return (MAGIC + "\nholder=" + holder.replace('\n', ' ') + "\nexpires=" + expiresMillis
        + "\nreleased=" + released + "\n").getBytes(StandardCharsets.UTF_8);
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
          Boolean.parseBoolean(values.get("released")));
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
