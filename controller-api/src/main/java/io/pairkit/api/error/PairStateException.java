package io.pairkit.api.error;

/**
 * A request that the pair's current state does not allow, such as an extent update before the
 * pair is split. Nothing was changed.
 */
public class PairStateException extends PairKitException {
  private static final long serialVersionUID = 1L;

  private final String pairId;
  private final String state;

  public PairStateException(String pairId, String state, String message) {
    super(message);
    this.pairId = pairId;
    this.state = state;
  }

  /** The pair that refused the request. */
  public String pairId() {
    return pairId;
  }

  /** The pair's state when it refused, as {@code PairState.name()}. */
  public String state() {
    return state;
  }
}
