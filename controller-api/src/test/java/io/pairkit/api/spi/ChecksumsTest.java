package io.pairkit.api.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

class ChecksumsTest {

  @Test
  void crcOfRangesIsTheCrcOfTheirConcatenation() {
    byte[] b = "header....payload".getBytes(StandardCharsets.US_ASCII);
    CRC32C expected = new CRC32C();
    expected.update(b, 0, 6);
    expected.update(b, 10, 7);
    assertEquals((int) expected.getValue(), Checksums.crc32c(b, 0, 6, 10, 7));
    assertThrows(IllegalArgumentException.class, () -> Checksums.crc32c(b, 0));
  }

  @Test
  void aSealedRecordIsIntactAndAnyChangedCoveredByteBreaksIt() {
    ByteBuffer slot = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
    slot.putLong(0x1122334455667788L).putInt(7);
    slot.put(40, (byte) 9); // a payload byte at an aligned offset, covered too
    Checksums.seal(slot, 12, 40, 8);
    assertEquals(12, slot.position(), "sealing does not move the position");
    assertTrue(Checksums.isIntact(slot, 12, 40, 8));
    slot.put(3, (byte) 0);
    assertFalse(Checksums.isIntact(slot, 12, 40, 8), "a changed header byte");
    slot.put(3, (byte) 0x55);
    assertTrue(Checksums.isIntact(slot, 12, 40, 8));
    slot.put(41, (byte) 1);
    assertFalse(Checksums.isIntact(slot, 12, 40, 8), "a changed payload byte");
    slot.put(41, (byte) 0);
    slot.put(20, (byte) 1);
    assertTrue(Checksums.isIntact(slot, 12, 40, 8), "bytes not covered do not count");
    assertFalse(Checksums.isIntact(slot, 62, 40, 8), "a checksum past the end is no match");
  }

  @Test
  void blankMeansAllZero() {
    assertTrue(Checksums.isBlank(new byte[4096]));
    byte[] b = new byte[4096];
    b[4095] = 1;
    assertFalse(Checksums.isBlank(b));
  }
}
