package io.pairkit.server;

import io.pairkit.server.config.ConfigException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Set;

/**
 * The control endpoint's bearer token: a random secret in a file only its owner may read (mode
 * 0600, like an SSH key), made on the first start. Whoever can read the file may drive pairkitd;
 * nobody else can, so the file's owner (and root) decide who is an admin, as the mode and group
 * of Docker's socket do. Checked in constant time.
 */
final class ControlToken {
  private static final Set<PosixFilePermission> OWNER_ONLY =
      PosixFilePermissions.fromString("rw-------");

  private final Path file;
  private final byte[] token;

  private ControlToken(Path file, byte[] token) {
    this.file = file;
    this.token = token;
  }

  /**
   * The token in {@code file}, made there (mode 0600) if there is none.
   *
   * @throws ConfigException if the file can be read by others than its owner, or is empty
   */
  static ControlToken loadOrCreate(Path file) throws IOException {
    if (!Files.exists(file)) {
      Files.createDirectories(file.toAbsolutePath().getParent());
      byte[] secret = new byte[32];
      new SecureRandom().nextBytes(secret);
      try {
        Files.createFile(file, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
        Files.writeString(file, HexFormat.of().formatHex(secret) + "\n");
      } catch (FileAlreadyExistsException raced) {
        // another start made it first: use that one
      }
    }
    Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
    if (!OWNER_ONLY.containsAll(perms)) {
      throw new ConfigException("control token file " + file + " can be read or written by "
          + "others than its owner (" + PosixFilePermissions.toString(perms) + "): anyone who "
          + "reads it may drive pairkitd; chmod 600 " + file);
    }
    String text = Files.readString(file, StandardCharsets.UTF_8).trim();
    if (text.isEmpty()) {
      throw new ConfigException("control token file " + file + " is empty; delete it and "
          + "pairkitd makes a new one");
    }
    return new ControlToken(file, text.getBytes(StandardCharsets.UTF_8));
  }

  Path file() {
    return file;
  }

  /** Whether an {@code Authorization} header value carries this token. */
  boolean accepts(String authorization) {
    if (authorization == null || !authorization.startsWith("Bearer ")) {
      return false;
    }
    byte[] given = authorization.substring(7).trim().getBytes(StandardCharsets.UTF_8);
    return MessageDigest.isEqual(given, token);
  }
}
