package io.pairkit.backend.s3;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.BitSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The buffer against a store in memory that fails on demand. */
@Timeout(30)
class ChunkBufferTest {
  private static final int CHUNK = 4096;

  private static final class FailingStore implements ChunkBuffer.Store {
    volatile Throwable fail;
    final CountDownLatch put = new CountDownLatch(1);

    @Override
    public void readStored(long index, int offset, ByteBuffer dst) {
      while (dst.hasRemaining()) {
        dst.put((byte) 0);
      }
    }

    @Override
    public void put(long index, byte[] data, int length) throws IOException {
      put.countDown();
      Throwable t = fail;
      if (t instanceof Error e) {
        throw e;
      }
      if (t instanceof IOException e) {
        throw e;
      }
    }

    @Override
    public void delete(long index) {
    }
  }

  @Test
  void anErrorInAnUploadFailsTheFlushInsteadOfHangingIt() throws Exception {
    FailingStore store = new FailingStore();
    store.fail = new OutOfMemoryError("simulated");
    ChunkBuffer b = new ChunkBuffer("t", 8L * CHUNK, CHUNK, new BitSet(), store, 2, 4);
    b.write(0, 0, ByteBuffer.wrap(new byte[CHUNK]), CHUNK);
    IOException e = assertThrows(IOException.class, b::flush);
    assertTrue(e.getMessage().contains("OutOfMemoryError"), e.getMessage());
    store.fail = null;
    b.flush(); // the entry stayed dirty and is free for the next upload
    assertTrue(b.dirtyChunks() == 0);
    assertTrue(b.close(Duration.ofSeconds(5)));
  }

  @Test
  void aPartlyWrittenChunkIsUploadedAfterTheWriteBackTimeWithoutAFlush() throws Exception {
    FailingStore store = new FailingStore();
    ChunkBuffer b = new ChunkBuffer("t", 8L * CHUNK, CHUNK, new BitSet(), store, 2, 4,
        Duration.ofMillis(200));
    b.write(1, 10, ByteBuffer.wrap(new byte[] {1, 2, 3}), 3);
    assertTrue(store.put.await(10, TimeUnit.SECONDS), "uploaded without a flush");
    assertTrue(b.close(Duration.ofSeconds(5)));
  }
}
