package io.pairkit.api.error;

/**
 * A request the pair's strategy does not offer, such as an extent join on a plain volume pair, or
 * {@code CREATE} through {@code Pair.request}. Nothing was changed; the message names the pair, its
 * strategy and the requests or strategy to use instead.
 */
public class UnsupportedRequestException extends PairKitException {
  private static final long serialVersionUID = 1L;

  public UnsupportedRequestException(String message) {
    super(message);
  }

  public UnsupportedRequestException(String message, Throwable cause) {
    super(message, cause);
  }
}
