package io.pairkit.nbd;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

/**
 * Which NBD clients an export serves: a comma-separated list of rules, any of which admits a
 * client. {@code 10.0.0.0/8} or {@code 192.0.2.7} (a TCP client's address, IPv4 or IPv6),
 * {@code cert:CN=backup-host} (the subject, or just its CN, of the certificate a TLS client
 * presented), {@code user:backup} (a Unix socket client's user). No rules: every client that may
 * connect.
 *
 * <p>Immutable, so thread-safe.
 */
public final class NbdClientRules {
  private final List<String> text;
  private final List<byte[][]> networks = new ArrayList<>(); // {address, mask}
  private final List<String> subjects = new ArrayList<>();
  private final List<String> users = new ArrayList<>();

  private NbdClientRules(List<String> text) {
    this.text = List.copyOf(text);
  }

  /** Everyone. */
  public static NbdClientRules all() {
    return new NbdClientRules(List.of());
  }

  /**
   * Parses {@code rules}.
   *
   * @throws IllegalArgumentException naming the rule that is not one of the three forms
   */
  public static NbdClientRules parse(String rules) {
    List<String> parts = new ArrayList<>();
    for (String p : rules.split(",")) {
      if (!p.isBlank()) {
        parts.add(p.trim());
      }
    }
    NbdClientRules r = new NbdClientRules(parts);
    for (String p : parts) {
      if (p.startsWith("cert:")) {
        r.subjects.add(p.substring(5).trim());
      } else if (p.startsWith("user:")) {
        r.users.add(p.substring(5).trim());
      } else {
        r.networks.add(network(p));
      }
    }
    return r;
  }

  private static byte[][] network(String rule) {
    int slash = rule.indexOf('/');
    String host = slash < 0 ? rule : rule.substring(0, slash);
    if (!host.matches("[0-9.]+|[0-9a-fA-F:]+")) {
      throw new IllegalArgumentException("'" + rule + "' is not an address, a network "
          + "(10.0.0.0/8), cert:SUBJECT or user:NAME");
    }
    byte[] addr;
    try {
      addr = InetAddress.getByName(host).getAddress();
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("'" + rule + "' is not an address", e);
    }
    int bits = addr.length * 8;
    if (slash >= 0) {
      try {
        bits = Integer.parseInt(rule.substring(slash + 1));
      } catch (NumberFormatException e) {
        bits = -1;
      }
      if (bits < 0 || bits > addr.length * 8) {
        throw new IllegalArgumentException("'" + rule + "': the prefix length must be 0 to "
            + addr.length * 8);
      }
    }
    byte[] mask = new byte[addr.length];
    for (int i = 0; i < bits; i++) {
      mask[i / 8] |= (byte) (0x80 >>> (i % 8));
    }
    return new byte[][] {addr, mask};
  }

  /** Whether a client who is {@code peer} is served. */
  public boolean admits(NbdPeer peer) {
    if (text.isEmpty()) {
      return true;
    }
    if (peer.unixUser() != null && users.contains(peer.unixUser())) {
      return true;
    }
    String subject = peer.certificateSubject();
    if (subject != null) {
      for (String s : subjects) {
        if (subject.equals(s) || subject.startsWith(s + ",")) {
          return true;
        }
      }
    }
    if (peer.address() != null) {
      byte[] a = peer.address().getAddress();
      for (byte[][] n : networks) {
        if (n[0].length == a.length && matches(a, n[0], n[1])) {
          return true;
        }
      }
    }
    return false;
  }

  private static boolean matches(byte[] a, byte[] net, byte[] mask) {
    for (int i = 0; i < a.length; i++) {
      if ((a[i] & mask[i]) != (net[i] & mask[i])) {
        return false;
      }
    }
    return true;
  }

  @Override
  public String toString() {
    return text.isEmpty() ? "every client" : String.join(",", text);
  }
}
