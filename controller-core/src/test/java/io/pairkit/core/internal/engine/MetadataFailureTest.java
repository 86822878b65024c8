package io.pairkit.core.internal.engine;

import static io.pairkit.core.internal.engine.Rig.WAIT;
import static io.pairkit.core.internal.engine.Rig.random;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.CopyRequest;
import io.pairkit.api.HostVolume;
import io.pairkit.api.PairState;
import io.pairkit.api.VolumePair;
import io.pairkit.api.spi.VolumeSpec;
import io.pairkit.core.PairKit;
import io.pairkit.core.config.ControllerConfig;
import io.pairkit.core.internal.metadata.MetaStorage;
import io.pairkit.core.registry.VolumeProviders;
import io.pairkit.testkit.MemoryVolume;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The metadata fails (a full or broken disk) while a restore runs and while it is resumed: the
 * request ends and the pair is SUSPENDED, never left RESTORING with nothing running, so the admin
 * has a way out (resume once the disk is fixed, or delete).
 */
@Timeout(60)
class MetadataFailureTest {
  private static final int TS = 4096;
  private static final int TRACKS = 32;

  /** A metadata directory in memory whose syncs fail once told to. */
  private static final class FailingStorage implements MetaStorage {
    private final RecordingStorage inner = new RecordingStorage(null);
    volatile boolean failSyncs;

    @Override
    public void append(String file, byte[] data) {
      inner.append(file, data);
    }

    @Override
    public void sync(String file) throws java.io.IOException {
      if (failSyncs) {
        throw new java.io.IOException("No space left on device (injected)");
      }
      inner.sync(file);
    }

    @Override
    public byte[] read(String file) {
      return inner.read(file);
    }

    @Override
    public void replace(String file, byte[] content) {
      inner.replace(file, content);
    }

    @Override
    public void delete(String file) {
      inner.delete(file);
    }

    @Override
    public List<String> list() {
      return inner.list();
    }

    @Override
    public String describe() {
      return "failing test storage";
    }

    @Override
    public void close() {
    }
  }

  @Test
  void aRestoreWhoseEndCannotBeRecordedSuspendsThePair_andItsResumeIsNotLeftUnstarted()
      throws Exception {
    FailingStorage storage = new FailingStorage();
    Map<String, MemoryVolume> volumes = Map.of("p", new MemoryVolume("p", TRACKS * TS),
        "s", new MemoryVolume("s", TRACKS * TS));
    ControllerConfig config = PairKit.builder().trackSize(TS).config();
    try (DefaultPairController pk = DefaultPairController.withStorage(config,
        VolumeProviders.of(new MemoryProvider(volumes)), Engine.InstantHook.NONE, storage)) {
      HostVolume p = pk.openVolume(VolumeSpec.builder("p", "mem").build());
      HostVolume s = pk.openVolume(VolumeSpec.builder("s", "mem").build());
      p.write(0, random(1, TRACKS * TS));
      VolumePair pair = pk.createVolumePair("vp", p, s);
      pair.initialCopy().await(WAIT);
      pair.split().await(WAIT);
      p.write(4L * TS, random(2, 8 * TS)); // eight tracks to restore
      storage.failSyncs = true; // the disk is full: nothing can be recorded from now on
      // The restore cannot be recorded, but it took effect in memory, so its copy runs; its end
      // cannot be recorded either.
      assertThrows(RuntimeException.class, pair::restore);
      awaitNothingRunning(pair);
      assertEquals(PairState.SUSPENDED, pair.state(), "suspended, not RESTORING for good");

      // Resuming while the disk is still full: the resume cannot be recorded, but what took
      // effect runs (the restore goes on), so the pair ends SUSPENDED again, not stuck.
      assertThrows(RuntimeException.class, pair::resume);
      awaitNothingRunning(pair);
      assertTrue(pair.activeRequests().isEmpty(), "no request left running");
      assertEquals(PairState.SUSPENDED, pair.state());
    }
  }

  /** Waits for every request of {@code pair} to end, whichever way (30 s at most in all). */
  private static void awaitNothingRunning(VolumePair pair) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!pair.activeRequests().isEmpty() && System.nanoTime() < deadline) {
      for (CopyRequest r : pair.activeRequests()) {
        try {
          r.completion().get(30, TimeUnit.SECONDS);
        } catch (ExecutionException expected) {
          // its end could not be recorded
        }
      }
    }
    assertTrue(pair.activeRequests().isEmpty(), "a request is left running: "
        + pair.activeRequests());
  }
}
