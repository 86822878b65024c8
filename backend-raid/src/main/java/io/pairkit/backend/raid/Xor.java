package io.pairkit.backend.raid;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/** XOR of byte ranges, eight bytes at a time (parity is computed on every RAID-5 write). */
final class Xor {
  private static final VarHandle LONGS =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.nativeOrder());

  private Xor() {
  }

  /** {@code dst[dstOff..+len) ^= src[srcOff..+len)}. */
  static void into(byte[] dst, int dstOff, byte[] src, int srcOff, int len) {
    int i = 0;
    for (; i + 8 <= len; i += 8) {
      long a = (long) LONGS.get(dst, dstOff + i);
      long b = (long) LONGS.get(src, srcOff + i);
      LONGS.set(dst, dstOff + i, a ^ b);
    }
    for (; i < len; i++) {
      dst[dstOff + i] ^= src[srcOff + i];
    }
  }
}
