package io.pairkit.api.error;

/**
 * Use of a controller, volume or provider after it was closed. The message names the closed thing
 * and says what to open instead. (A deleted pair is not closed: its requests throw
 * {@link PairStateException} with state {@code DELETED}.)
 */
public class AlreadyClosedException extends PairKitException {
  private static final long serialVersionUID = 1L;

  public AlreadyClosedException(String message) {
    super(message);
  }
}
