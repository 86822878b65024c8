package io.pairkit.server.config;

import io.pairkit.api.error.PairKitException;

/** A configuration file that cannot be used; the message names the file, the key and the fix. */
public final class ConfigException extends PairKitException {
  private static final long serialVersionUID = 1L;

  public ConfigException(String message) {
    super(message);
  }

  public ConfigException(String message, Throwable cause) {
    super(message, cause);
  }
}
