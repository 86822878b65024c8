package io.pairkit.nbd;

import java.lang.System.Logger.Level;
import static io.pairkit.nbd.NbdProtocol.*;

import io.pairkit.api.ExtentSet;
import java.io.DataInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.Semaphore;

/**
 * One connection's transmission phase: reads requests, bounds the memory their payloads hold
 * (per connection and over all), serves each on a worker (so clients may pipeline) and answers
 * through {@link NbdReplies}.
 */
final class NbdTransmission {
  private static final System.Logger LOG = System.getLogger(NbdServer.class.getName());
  private final NbdServer server;
  private final NbdConnection connection;
  private final DataInputStream in;
  private final NbdReplies replies;
  private final NbdExport export;
  private final boolean structured;
  /** The meta contexts SET_META_CONTEXT selected, by id (1 is base:allocation). */
  private final Map<Integer, String> contexts;
  /** Requests in flight; the connection's shutdown waits for them. */
  private final Semaphore inFlight;
  private final Semaphore connectionMemory = new Semaphore(CONNECTION_BUDGET);
  /** The export was writable when this client chose it (its writes then turned refused). */
  private final boolean negotiatedWritable;
  private volatile boolean warnedReadOnly;

  NbdTransmission(NbdServer server, NbdConnection connection, DataInputStream in,
      NbdReplies replies, NbdExport export, boolean structured, Map<Integer, String> contexts,
      Semaphore inFlight, boolean negotiatedWritable) {
    this.server = server;
    this.connection = connection;
    this.in = in;
    this.replies = replies;
    this.export = export;
    this.structured = structured;
    this.contexts = contexts;
    this.inFlight = inFlight;
    this.negotiatedWritable = negotiatedWritable;
  }

  /** Reads requests until the client disconnects; each is served on a worker. */
  void run() throws IOException {
    while (true) {
      int magic = in.readInt();
      if (magic != REQUEST_MAGIC) {
        throw new IOException("bad NBD request magic " + Integer.toHexString(magic));
      }
      int flags = in.readShort() & 0xffff;
      int type = in.readShort() & 0xffff;
      long handle = in.readLong();
      long offset = in.readLong();
      long length = in.readInt() & 0xffffffffL;
      byte[] payload = null;
      int held = 0;
      if (type == CMD_WRITE) {
        if (length > MAX_PAYLOAD) {
          throw new IOException("NBD write of " + length + " bytes exceeds " + MAX_PAYLOAD);
        }
        held = (int) length;
        reserve(held); // bounded memory per connection and over all of them
        payload = server.payloads.take(held);
        try {
          in.readFully(payload, 0, held);
        } catch (IOException e) {
          server.payloads.give(payload);
          unreserve(held);
          throw e;
        }
      } else if (type == CMD_READ && length <= MAX_PAYLOAD) {
        held = (int) length;
        reserve(held);
      }
      if (type == CMD_DISC) {
        inFlight.acquireUninterruptibly(IN_FLIGHT);
        inFlight.release(IN_FLIGHT);
        try {
          if (!export.readOnly()) {
            export.flush(); // a clean disconnect leaves nothing unflushed
          }
        } catch (IOException | RuntimeException e) {
          LOG.log(Level.WARNING, "flush at NBD disconnect failed", e);
        }
        return;
      }
      byte[] data = payload;
      int budget = held;
      inFlight.acquireUninterruptibly();
      try {
        server.workers.execute(() -> {
          try {
            serve(flags, type, handle, offset, length, data);
          } catch (IOException e) {
            connection.closeQuietly();
          } catch (Throwable t) {
            LOG.log(Level.ERROR, "NBD request failed unexpectedly", t);
            // No reply can be trusted now; the client sees the connection end.
            connection.closeQuietly();
          } finally {
            if (data != null) {
              server.payloads.give(data);
            }
            unreserve(budget);
            inFlight.release();
          }
        });
      } catch (java.util.concurrent.RejectedExecutionException e) {
        if (data != null) {
          server.payloads.give(data);
        }
        unreserve(budget);
        inFlight.release();
        return;
      }
    }
  }

  private void reserve(int bytes) {
    connectionMemory.acquireUninterruptibly(bytes);
    server.memory.acquireUninterruptibly(bytes);
  }

  private void unreserve(int bytes) {
    server.memory.release(bytes);
    connectionMemory.release(bytes);
  }

  private void serve(int flags, int type, long handle, long offset, long length, byte[] data)
      throws IOException {
    NbdExport e = export;
    boolean inRange = offset >= 0 && offset + length <= e.size() && offset + length >= offset;
    int allowed = switch (type) {
      case CMD_READ -> CMD_FLAG_DF;
      case CMD_WRITE, CMD_TRIM -> CMD_FLAG_FUA;
      case CMD_WRITE_ZEROES -> CMD_FLAG_FUA | CMD_FLAG_NO_HOLE;
      case CMD_BLOCK_STATUS -> CMD_FLAG_REQ_ONE;
      default -> 0;
    };
    if ((flags & ~allowed) != 0 || ((flags & CMD_FLAG_DF) != 0 && !structured)) {
      replies.error(handle, EINVAL, "command flags " + flags + " are not valid for command "
          + type);
      return;
    }
    try {
      switch (type) {
        case CMD_READ -> {
          if (length > MAX_PAYLOAD) {
            // EOVERFLOW is for clients that asked for structured replies and DF.
            replies.error(handle, structured && (flags & CMD_FLAG_DF) != 0 ? EOVERFLOW : EINVAL,
                "read larger than " + MAX_PAYLOAD);
          } else if (!inRange) {
            replies.error(handle, EINVAL, "read beyond the end of the export");
          } else {
            int n = (int) length;
            byte[] buf = server.payloads.take(n);
            try {
              e.read(offset, ByteBuffer.wrap(buf, 0, n));
              replies.readReply(handle, offset, buf, n);
            } finally {
              server.payloads.give(buf);
            }
          }
        }
        case CMD_WRITE -> {
          if (e.readOnly()) {
            if (negotiatedWritable && !warnedReadOnly) {
              warnedReadOnly = true; // once per connection: a writer retries in a loop
              LOG.log(Level.WARNING, "NBD: export '" + e.name()
                  + "' turned read-only under a connected "
                  + "writer (" + connection.peer() + "): its writes now fail with "
                  + "EPERM (" + e.description() + ")");
            }
            replies.error(handle, EPERM, "export is read-only");
          } else if (!inRange) {
            replies.error(handle, ENOSPC, "write beyond the end of the export");
          } else {
            e.write(offset, ByteBuffer.wrap(data, 0, (int) length));
            if ((flags & CMD_FLAG_FUA) != 0) {
              e.flush();
            }
            replies.ok(handle);
          }
        }
        case CMD_FLUSH -> {
          e.flush();
          replies.ok(handle);
        }
        case CMD_TRIM, CMD_WRITE_ZEROES -> {
          if (e.readOnly()) {
            replies.error(handle, EPERM, "export is read-only");
          } else if (!inRange) {
            replies.error(handle, type == CMD_TRIM ? EINVAL : ENOSPC, "range beyond the end");
          } else {
            if (type == CMD_TRIM) {
              e.trim(offset, length);
            } else {
              e.writeZeroes(offset, length, (flags & CMD_FLAG_NO_HOLE) == 0);
            }
            if ((flags & CMD_FLAG_FUA) != 0) {
              e.flush();
            }
            replies.ok(handle);
          }
        }
        case CMD_BLOCK_STATUS -> {
          if (!structured || contexts.isEmpty()) {
            replies.error(handle, EINVAL, "block status needs a meta context (base:allocation or "
                + DIRTY_BITMAP_PREFIX + "NAME)");
          } else if (offset < 0 || offset >= e.size() || length == 0) {
            replies.error(handle, EINVAL, "block status outside the export");
          } else {
            long len = Math.min(length, e.size() - offset);
            int left = contexts.size();
            for (Map.Entry<Integer, String> ctx : contexts.entrySet()) {
              boolean allocation = ctx.getValue().equals(ALLOCATION_CONTEXT);
              ExtentSet set = allocation ? e.allocated(offset, len)
                  : e.dirty(ctx.getValue().substring(DIRTY_BITMAP_PREFIX.length()), offset, len);
              replies.blockStatus(handle, ctx.getKey(), offset, len, set, allocation,
                  (flags & CMD_FLAG_REQ_ONE) != 0, --left == 0);
            }
          }
        }
        default -> replies.error(handle, EINVAL, "command " + type + " not supported");
      }
    } catch (IOException | RuntimeException failure) {
      int code = server.errno.apply(failure);
      LOG.log(Level.DEBUG, "NBD command " + type + " failed", failure);
      replies.error(handle, code, String.valueOf(failure.getMessage()));
    }
  }
}
