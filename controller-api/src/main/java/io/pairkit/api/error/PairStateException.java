package io.pairkit.api.error;

import io.pairkit.api.PairState;

/**
 * A request that the pair's current state does not allow, such as an extent update before the
 * pair is split, any request but resume on a SUSPENDED pair, any request on a DELETED one, a delete
 * while split tracks still wait for their copy, or a new pair with the id of a live one. Nothing
 * was changed. The message names the pair, its state and the way out; {@link #pairId()} and
 * {@link #state()} give them to code.
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
