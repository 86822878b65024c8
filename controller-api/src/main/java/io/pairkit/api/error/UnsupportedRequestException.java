package io.pairkit.api.error;

/** A request the pair's strategy does not offer, such as an extent join on a plain volume pair. */
public class UnsupportedRequestException extends PairKitException {
  private static final long serialVersionUID = 1L;

  public UnsupportedRequestException(String message) {
    super(message);
  }

  public UnsupportedRequestException(String message, Throwable cause) {
    super(message, cause);
  }
}
