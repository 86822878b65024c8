package io.pairkit.benchmarks;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * One {@code qemu-storage-daemon} process with two raw block nodes ({@code src} and {@code dst},
 * each a {@code raw} node over a {@code file} node) and a QMP monitor on a Unix socket, driven by a
 * minimal JSON-lines client: QMP sends one JSON object per line, and the few replies and events
 * this needs are recognised by their keys, so no JSON library is needed.
 *
 * <p>Not thread-safe; one benchmark thread drives it.
 */
final class QemuStorageDaemon implements AutoCloseable {
  static final String BINARY = "qemu-storage-daemon";

  private final Process process;
  private final SocketChannel channel;
  private final ByteBuffer in = ByteBuffer.allocate(1 << 16);
  private final StringBuilder pending = new StringBuilder();

  /** The daemon's path if it is installed (on the PATH), otherwise empty. */
  static Optional<Path> find() {
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
      Path p = Path.of(dir, BINARY);
      if (Files.isExecutable(p)) {
        return Optional.of(p);
      }
    }
    return Optional.empty();
  }

  /** The version line ({@code qemu-storage-daemon version 7.2.22 (...)}). */
  static String version(Path binary) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(binary.toString(), "--version").redirectErrorStream(true)
        .start();
    String first = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8)
        .lines().findFirst().orElse("?");
    p.waitFor();
    return first.trim();
  }

  /**
   * Starts the daemon with {@code src} and {@code dst} opened read-write as raw images,
   * {@code cache.direct} on or off for both, and connects to its monitor (capabilities
   * negotiated).
   */
  QemuStorageDaemon(Path binary, Path src, Path dst, boolean direct, Path socket)
      throws IOException, InterruptedException {
    this(binary, src, dst, direct, socket, 0);
  }

  /**
   * As above; with {@code nbdPort > 0} the daemon also serves {@code src} over NBD on
   * 127.0.0.1 as the writable export {@code src}.
   */
  QemuStorageDaemon(Path binary, Path src, Path dst, boolean direct, Path socket, int nbdPort)
      throws IOException, InterruptedException {
    Files.deleteIfExists(socket);
    String cache = direct ? "on" : "off";
    List<String> cmd = new java.util.ArrayList<>(List.of(binary.toString(),
        "--blockdev", "driver=file,node-name=src-file,filename=" + src + ",cache.direct=" + cache,
        "--blockdev", "driver=raw,node-name=src,file=src-file",
        "--blockdev", "driver=file,node-name=dst-file,filename=" + dst + ",cache.direct=" + cache,
        "--blockdev", "driver=raw,node-name=dst,file=dst-file",
        "--chardev", "socket,id=qmp,path=" + socket + ",server=on,wait=off",
        "--monitor", "chardev=qmp"));
    if (nbdPort > 0) {
      cmd.addAll(List.of("--nbd-server", "addr.type=inet,addr.host=127.0.0.1,addr.port="
          + nbdPort, "--export", "type=nbd,id=e,node-name=src,name=src,writable=on"));
    }
    process = new ProcessBuilder(cmd)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    SocketChannel ch = null;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (ch == null) {
      if (!process.isAlive()) {
        throw new IOException(BINARY + " exited with " + process.exitValue() + " at start");
      }
      try {
        SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
          c.connect(UnixDomainSocketAddress.of(socket));
          ch = c;
        } catch (IOException e) {
          c.close();
          if (System.nanoTime() > deadline) {
            throw e;
          }
          Thread.sleep(10);
        }
      } catch (IOException e) {
        if (System.nanoTime() > deadline) {
          process.destroyForcibly();
          throw new IOException("cannot connect to the QMP socket " + socket, e);
        }
        Thread.sleep(10);
      }
    }
    channel = ch;
    String greeting = readLine();
    if (!greeting.contains("\"QMP\"")) {
      throw new IOException("unexpected QMP greeting: " + greeting);
    }
    execute("{\"execute\": \"qmp_capabilities\"}");
  }

  /** Sends a command and returns its {@code return} line; throws on an {@code error} reply. */
  String execute(String json) throws IOException {
    ByteBuffer out = ByteBuffer.wrap((json + "\n").getBytes(StandardCharsets.UTF_8));
    while (out.hasRemaining()) {
      channel.write(out);
    }
    while (true) {
      String line = readLine();
      if (line.startsWith("{\"return\"")) {
        return line;
      }
      if (line.startsWith("{\"error\"")) {
        throw new IOException("QMP " + json + " failed: " + line);
      }
      // an event while waiting for the reply: not needed here
    }
  }

  /**
   * Runs {@code blockdev-backup device=src target=dst sync=full} and waits for its
   * {@code BLOCK_JOB_COMPLETED} event. Returns the seconds from sending the command to the event.
   */
  double backupFull() throws IOException {
    long t0 = System.nanoTime();
    execute("{\"execute\": \"blockdev-backup\", \"arguments\": {\"job-id\": \"copy\", "
        + "\"device\": \"src\", \"target\": \"dst\", \"sync\": \"full\"}}");
    while (true) {
      String line = readLine();
      if (line.contains("\"event\": \"BLOCK_JOB_COMPLETED\"")) {
        double seconds = (System.nanoTime() - t0) / 1e9;
        if (line.contains("\"error\"")) {
          throw new IOException("backup job failed: " + line);
        }
        return seconds;
      }
    }
  }

  /**
   * Starts {@code blockdev-mirror device=src target=dst sync=full} in {@code copyMode}
   * ({@code background} or {@code write-blocking}) and waits for {@code BLOCK_JOB_READY}: from
   * then on every write to {@code src} is mirrored. Returns the seconds to ready.
   */
  double mirrorUntilReady(String copyMode) throws IOException {
    long t0 = System.nanoTime();
    execute("{\"execute\": \"blockdev-mirror\", \"arguments\": {\"job-id\": \"m\", "
        + "\"device\": \"src\", \"target\": \"dst\", \"sync\": \"full\", "
        + "\"copy-mode\": \"" + copyMode + "\"}}");
    while (true) {
      String line = readLine();
      if (line.contains("\"event\": \"BLOCK_JOB_READY\"")) {
        return (System.nanoTime() - t0) / 1e9;
      }
      if (line.contains("\"event\": \"BLOCK_JOB_COMPLETED\"")) {
        throw new IOException("mirror job ended before it was ready: " + line);
      }
    }
  }

  /** Bytes the mirror job still has to copy ({@code len - offset} of query-block-jobs). */
  long mirrorRemaining() throws IOException {
    String r = execute("{\"execute\": \"query-block-jobs\"}");
    java.util.regex.Matcher len = java.util.regex.Pattern.compile("\"len\": (\\d+)").matcher(r);
    java.util.regex.Matcher off = java.util.regex.Pattern.compile("\"offset\": (\\d+)")
        .matcher(r);
    if (!len.find() || !off.find()) {
      throw new IOException("no mirror job in " + r);
    }
    return Long.parseLong(len.group(1)) - Long.parseLong(off.group(1));
  }

  /** The daemon process (for its CPU time). */
  Process process() {
    return process;
  }

  private String readLine() throws IOException {
    while (true) {
      int nl = pending.indexOf("\n");
      if (nl >= 0) {
        String line = pending.substring(0, nl).trim();
        pending.delete(0, nl + 1);
        if (!line.isEmpty()) {
          return line;
        }
        continue;
      }
      in.clear();
      if (channel.read(in) < 0) {
        throw new IOException("QMP connection closed (" + BINARY + " exited?)");
      }
      in.flip();
      pending.append(StandardCharsets.UTF_8.decode(in));
    }
  }

  /** Asks the daemon to quit (it closes, and so flushes, its nodes) and waits for it. */
  @Override
  public void close() throws IOException, InterruptedException {
    try {
      execute("{\"execute\": \"quit\"}");
    } catch (IOException e) {
      // it may close the connection before replying
    } finally {
      channel.close();
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor();
      }
    }
  }
}
