package io.pairkit.api.error;

/**
 * Use of a closed thing: a call that acts on a closed controller, I/O on a volume of a closed
 * controller (or a closed backend volume), a request to a pair of a closed controller, or opening
 * through closed providers. Nothing was done. The message names the closed thing and says what to
 * open instead. Reads of a closed controller's pairs and volumes still work (see
 * {@link io.pairkit.api.PairController}). (A deleted pair is not closed: its requests throw
 * {@link PairStateException} with state {@code DELETED}.)
 */
public class AlreadyClosedException extends PairKitException {
  private static final long serialVersionUID = 1L;

  public AlreadyClosedException(String message) {
    super(message);
  }
}
