package io.pairkit.server;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Who is on the other end of a loopback TCP connection: the kernel's socket table
 * ({@code /proc/net/tcp} and {@code tcp6}) lists the connecting socket with its owner's uid, as
 * {@code ss -tpe} shows it. For the log, so it names a user, not only a port; empty where the
 * table says nothing (not Linux, another host, a connection already gone).
 */
final class PeerCredentials {
  private PeerCredentials() {
  }

  /** {@code "uid 1001 (alice)"} for the socket at {@code peer} connected to {@code localPort}. */
  static String describe(InetSocketAddress peer, int localPort) {
    if (peer == null || !peer.getAddress().isLoopbackAddress()) {
      return "";
    }
    String wantedLocal = String.format(Locale.ROOT, ":%04X", peer.getPort());
    String wantedRemote = String.format(Locale.ROOT, ":%04X", localPort);
    for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
      try {
        for (String line : Files.readAllLines(Path.of(table))) {
          String[] f = line.trim().split("\\s+");
          if (f.length > 7 && f[1].endsWith(wantedLocal) && f[2].endsWith(wantedRemote)) {
            int uid = Integer.parseInt(f[7]);
            return "uid " + uid + userName(uid);
          }
        }
      } catch (IOException | RuntimeException e) {
        // no table here: say nothing
      }
    }
    return "";
  }

  private static String userName(int uid) {
    try {
      for (String line : Files.readAllLines(Path.of("/etc/passwd"))) {
        String[] f = line.split(":");
        if (f.length > 2 && f[2].equals(Integer.toString(uid))) {
          return " (" + f[0] + ")";
        }
      }
    } catch (IOException e) {
      // no name then
    }
    return "";
  }
}
