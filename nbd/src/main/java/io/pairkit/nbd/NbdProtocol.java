package io.pairkit.nbd;

/**
 * The NBD protocol's numbers (the NBD project's doc/proto.md, as QEMU's include/block/nbd.h has
 * them) and this server's limits: magics, handshake flags, options and their replies, info
 * types, transmission flags, commands and their flags, structured reply types, block status
 * flags and errno values on the wire.
 */
final class NbdProtocol {
  private NbdProtocol() {
  }

  static final long NBDMAGIC = 0x4e42444d41474943L;
  static final long IHAVEOPT = 0x49484156454F5054L;
  static final long OPT_REPLY_MAGIC = 0x3e889045565a9L;
  static final int REQUEST_MAGIC = 0x25609513;
  static final int SIMPLE_REPLY_MAGIC = 0x67446698;
  static final int STRUCTURED_REPLY_MAGIC = 0x668e33ef;

  static final int FLAG_FIXED_NEWSTYLE = 1;
  static final int FLAG_NO_ZEROES = 2;

  static final int OPT_EXPORT_NAME = 1;
  static final int OPT_ABORT = 2;
  static final int OPT_LIST = 3;
  static final int OPT_STARTTLS = 5;
  static final int OPT_INFO = 6;
  static final int OPT_GO = 7;
  static final int OPT_STRUCTURED_REPLY = 8;
  static final int OPT_LIST_META_CONTEXT = 9;
  static final int OPT_SET_META_CONTEXT = 10;

  static final int REP_ACK = 1;
  static final int REP_SERVER = 2;
  static final int REP_INFO = 3;
  static final int REP_META_CONTEXT = 4;
  static final int REP_ERR_UNSUP = 0x80000001;
  static final int REP_ERR_INVALID = 0x80000003;
  static final int REP_ERR_UNKNOWN = 0x80000006;
  static final int REP_ERR_TLS_REQD = 0x80000005;
  static final int REP_ERR_POLICY = 0x80000002;

  static final int INFO_EXPORT = 0;
  static final int INFO_NAME = 1;
  static final int INFO_DESCRIPTION = 2;
  static final int INFO_BLOCK_SIZE = 3;

  static final int TF_HAS_FLAGS = 1;
  static final int TF_READ_ONLY = 2;
  static final int TF_SEND_FLUSH = 4;
  static final int TF_SEND_FUA = 8;
  static final int TF_SEND_TRIM = 32;
  static final int TF_SEND_WRITE_ZEROES = 64;
  static final int TF_SEND_DF = 128;
  static final int TF_CAN_MULTI_CONN = 256;

  static final int CMD_READ = 0;
  static final int CMD_WRITE = 1;
  static final int CMD_DISC = 2;
  static final int CMD_FLUSH = 3;
  static final int CMD_TRIM = 4;
  static final int CMD_WRITE_ZEROES = 6;
  static final int CMD_BLOCK_STATUS = 7;

  static final int CMD_FLAG_FUA = 1;
  static final int CMD_FLAG_NO_HOLE = 2;
  static final int CMD_FLAG_DF = 4;
  static final int CMD_FLAG_REQ_ONE = 8;

  static final int REPLY_FLAG_DONE = 1;
  static final int REPLY_TYPE_NONE = 0;
  static final int REPLY_TYPE_OFFSET_DATA = 1;
  static final int REPLY_TYPE_BLOCK_STATUS = 5;
  static final int REPLY_TYPE_ERROR = 0x8001;

  static final int STATE_HOLE = 1;
  static final int STATE_ZERO = 2;

  static final int EPERM = 1;
  static final int EIO = 5;
  static final int EINVAL = 22;
  static final int ENOSPC = 28;
  static final int EOVERFLOW = 75;
  static final int ESHUTDOWN = 108;

  /** Largest read or write payload accepted (as qemu-nbd). */
  static final int MAX_PAYLOAD = 32 << 20;
  static final int IN_FLIGHT = 16;
  /** Payload bytes (reads and writes) held in memory at once, over all connections. */
  static final int MEMORY_BUDGET = 256 << 20;
  static final int MAX_CONNECTIONS = 64;
  /** Of that, what one connection may hold (a client that stops reading holds no more). */
  static final int CONNECTION_BUDGET = 64 << 20;
  /** A client must finish the handshake within this time. */
  static final int HANDSHAKE_TIMEOUT_MS = 30_000;
  /** How long close waits for requests in flight before it cuts connections. */
  static final long DRAIN_SECONDS = 10;
  static final int MAX_DESCRIPTORS = 1 << 16;
  /** QEMU's name space for dirty bitmaps as meta contexts. */
  static final String DIRTY_BITMAP_PREFIX = "qemu:dirty-bitmap:";
  /** A dirty bitmap's block status flag: the range is dirty. */
  static final int STATE_DIRTY = 1;
  static final String ALLOCATION_CONTEXT = "base:allocation";
}
