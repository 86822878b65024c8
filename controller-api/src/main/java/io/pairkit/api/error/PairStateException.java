package io.pairkit.api.error;

import io.pairkit.api.PairState;

/**
 * A request that the pair's current state does not allow, such as an extent update before the
 * pair is split. Nothing was changed.
 */
public class PairStateException extends PairKitException {
  private static final long serialVersionUID = 1L;

  private final String pairId;
  private final PairState state;

  public PairStateException(String pairId, PairState state, String message) {
    super(message);
    this.pairId = pairId;
    this.state = state;
  }

  /** The pair that refused the request. */
  public String pairId() {
    return pairId;
  }

  /** The pair's state when it refused. */
  public PairState state() {
    return state;
  }
}
