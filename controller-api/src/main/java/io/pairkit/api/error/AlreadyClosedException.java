package io.pairkit.api.error;

/** Use of a controller, volume or pair after it was closed or deleted. */
public class AlreadyClosedException extends IllegalStateException {
  private static final long serialVersionUID = 1L;

  public AlreadyClosedException(String message) {
    super(message);
  }
}
