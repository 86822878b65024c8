package io.pairkit.api.error;

/**
 * An I/O range or extent that leaves its volume: host I/O outside {@code [0, size)}, a request
 * region or {@code trackStates} range that reaches past the end of the volume, an extent pair's
 * extents that do, or a {@code trackStates} range of too many tracks. Nothing was read, written or
 * changed. The message names the volume or pair, the range and the valid one.
 */
public class ExtentOutOfRangeException extends PairKitException {
  private static final long serialVersionUID = 1L;

  public ExtentOutOfRangeException(String message) {
    super(message);
  }

  public ExtentOutOfRangeException(String message, Throwable cause) {
    super(message, cause);
  }
}
