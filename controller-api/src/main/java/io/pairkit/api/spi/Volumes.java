package io.pairkit.api.spi;

/** Helpers for backend authors. */
public final class Volumes {
  private Volumes() {
  }

  /**
   * Throws the {@link IndexOutOfBoundsException} the {@link Volume} contract asks for when
   * {@code [offset, offset + length)} is not inside {@code [0, size)}.
   */
  public static void checkRange(String volumeName, long size, long offset, int length) {
    if (offset < 0 || length < 0 || offset > size - length) {
      throw new IndexOutOfBoundsException("volume '" + volumeName + "': range [" + offset + ", "
          + (offset + length) + ") is outside [0, " + size + ")");
    }
  }
}
