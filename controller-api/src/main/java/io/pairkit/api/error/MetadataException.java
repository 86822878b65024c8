package io.pairkit.api.error;

/**
 * The durable metadata of a controller cannot be read or written: a corrupt or unreadable
 * journal or checkpoint, a format this version cannot read, a failing metadata disk, or a
 * directory another controller holds. Nothing was accepted that the metadata could not record;
 * the message names the directory or file, what is wrong, and the way out.
 */
public class MetadataException extends PairKitException {
  private static final long serialVersionUID = 1L;

  public MetadataException(String message) {
    super(message);
  }

  public MetadataException(String message, Throwable cause) {
    super(message, cause);
  }
}
