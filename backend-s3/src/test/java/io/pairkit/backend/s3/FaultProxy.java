package io.pairkit.backend.s3;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A loopback HTTP/1.1 proxy in front of an S3 store that injects faults: 503 SlowDown answers,
 * connection resets (before the request reaches the store, or after the store applied it but
 * before the answer), and a delay per request. It forwards each request on a new connection to
 * the store ({@code Connection: close}) and relays the answer, closing the client's connection
 * after it, so there is no keep-alive state to get wrong. It answers {@code Expect: 100-continue}
 * itself. It counts requests by method, PUT body bytes, and requests in flight (the most at
 * once). Plain sockets, a thread per connection; for tests and benchmarks.
 */
public final class FaultProxy implements AutoCloseable {

  /** What happens to one request. */
  public enum Fault {
    /** Forwarded as it is. */
    NONE,
    /** Answered {@code 503 SlowDown} without reaching the store. */
    SLOW_DOWN,
    /** Answered {@code 500 InternalError} without reaching the store. */
    INTERNAL_ERROR,
    /** The connection is reset before the request reaches the store. */
    RESET_BEFORE,
    /** The store applies the request, then the client's connection is reset. */
    RESET_AFTER,
    /**
     * The request, received whole, is held until {@link #releaseHeld()}, then forwarded (even
     * if the client gave up meanwhile): a request delayed in the network.
     */
    HOLD
  }

  /** One request, as the policy sees it. */
  public record Request(String method, String path, long number) {
  }

  /** Decides the fault of each request; called from many threads. */
  public interface Policy {
    Fault decide(Request request);
  }

  private final ServerSocket server;
  private final String targetHost;
  private final int targetPort;
  private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "fault-proxy");
    t.setDaemon(true);
    return t;
  });
  private volatile Policy policy = r -> Fault.NONE;
  private volatile long delayMillis;
  private final AtomicLong requests = new AtomicLong();
  private final ConcurrentHashMap<String, AtomicInteger> byMethod = new ConcurrentHashMap<>();
  private final AtomicLong putBytes = new AtomicLong();
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicInteger maxInFlight = new AtomicInteger();
  private final AtomicInteger faults = new AtomicInteger();
  private final java.util.concurrent.CountDownLatch held = new java.util.concurrent.CountDownLatch(1);
  private final java.util.concurrent.CountDownLatch release =
      new java.util.concurrent.CountDownLatch(1);
  private final java.util.concurrent.CountDownLatch heldForwarded =
      new java.util.concurrent.CountDownLatch(1);

  /** Waits until a request is held; false on timeout. */
  public boolean awaitHeld(long seconds) throws InterruptedException {
    return held.await(seconds, java.util.concurrent.TimeUnit.SECONDS);
  }

  /** Forwards the held requests, and waits (up to {@code seconds}) until the store answered. */
  public boolean releaseHeld(long seconds) throws InterruptedException {
    release.countDown();
    return heldForwarded.await(seconds, java.util.concurrent.TimeUnit.SECONDS);
  }

  public FaultProxy(URI target) throws IOException {
    this.targetHost = target.getHost();
    this.targetPort = target.getPort();
    this.server = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
    threads.execute(this::acceptLoop);
  }

  /** The endpoint clients use instead of the store's. */
  public URI endpoint() {
    return URI.create("http://127.0.0.1:" + server.getLocalPort());
  }

  public void policy(Policy p) {
    this.policy = p;
  }

  /** Delay added to every request before it is forwarded (a WAN's round trip). */
  public void delayMillis(long ms) {
    this.delayMillis = ms;
  }

  /** Requests of {@code method} so far. */
  public int count(String method) {
    AtomicInteger n = byMethod.get(method);
    return n == null ? 0 : n.get();
  }

  public long putBytes() {
    return putBytes.get();
  }

  public int maxInFlight() {
    return maxInFlight.get();
  }

  public int faultsInjected() {
    return faults.get();
  }

  /** Zeroes the counters. */
  public void resetCounters() {
    byMethod.clear();
    putBytes.set(0);
    maxInFlight.set(0);
    faults.set(0);
  }

  private void acceptLoop() {
    while (!server.isClosed()) {
      try {
        Socket s = server.accept();
        threads.execute(() -> serve(s));
      } catch (IOException e) {
        return; // closed
      }
    }
  }

  private void serve(Socket client) {
    try (client) {
      client.setTcpNoDelay(true);
      InputStream in = new BufferedInputStream(client.getInputStream(), 1 << 16);
      OutputStream out = client.getOutputStream();
      List<String> head = readHead(in);
      if (head == null || head.isEmpty()) {
        return;
      }
      String[] requestLine = head.get(0).split(" ");
      String method = requestLine[0];
      long length = 0;
      boolean expect = false;
      List<String> forward = new ArrayList<>();
      forward.add(head.get(0));
      for (String h : head.subList(1, head.size())) {
        String lower = h.toLowerCase(Locale.ROOT);
        if (lower.startsWith("content-length:")) {
          length = Long.parseLong(h.substring(15).trim());
        }
        if (lower.startsWith("expect:")) {
          expect = true;
          continue;
        }
        if (lower.startsWith("connection:")) {
          continue;
        }
        forward.add(h);
      }
      forward.add("Connection: close");
      if (expect) {
        out.write("HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
      }
      byte[] body = in.readNBytes((int) length);
      if (body.length != length) {
        return;
      }
      // In flight: received whole and not answered yet. It ends before the answer is written,
      // since the client may send its next request as soon as it has read the answer.
      int now = inFlight.incrementAndGet();
      maxInFlight.accumulateAndGet(now, Math::max);
      boolean answering = false;
      try {
        byMethod.computeIfAbsent(method, k -> new AtomicInteger()).incrementAndGet();
        if (method.equals("PUT")) {
          putBytes.addAndGet(length);
        }
        Fault fault = policy.decide(new Request(method, requestLine[1],
            requests.incrementAndGet()));
        long delay = delayMillis;
        if (delay > 0) {
          Thread.sleep(delay);
        }
        if (fault != Fault.NONE) {
          faults.incrementAndGet();
        }
        answering = true;
        inFlight.decrementAndGet();
        switch (fault) {
          case SLOW_DOWN -> {
            byte[] xml = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code>"
                + "<Message>Please reduce your request rate.</Message></Error>")
                .getBytes(StandardCharsets.UTF_8);
            out.write(("HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\n"
                + "Content-Length: " + xml.length + "\r\nConnection: close\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
            out.write(xml);
            out.flush();
          }
          case INTERNAL_ERROR -> {
            byte[] xml = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InternalError"
                + "</Code><Message>injected</Message></Error>").getBytes(StandardCharsets.UTF_8);
            out.write(("HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/xml\r\n"
                + "Content-Length: " + xml.length + "\r\nConnection: close\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
            out.write(xml);
            out.flush();
          }
          case RESET_BEFORE -> reset(client);
          case NONE, RESET_AFTER -> forward(forward, body, out, client, fault);
          case HOLD -> {
            held.countDown();
            release.await();
            try {
              forward(forward, body, out, client, Fault.NONE);
            } finally {
              heldForwarded.countDown();
            }
          }
          default -> throw new AssertionError(fault);
        }
      } finally {
        if (!answering) {
          inFlight.decrementAndGet();
        }
      }
    } catch (IOException | InterruptedException | RuntimeException e) {
      // the client or the store went away: the client sees a broken connection
    }
  }

  private void forward(List<String> head, byte[] body, OutputStream out, Socket client,
      Fault fault) throws IOException {
    try (Socket upstream = new Socket()) {
      upstream.connect(new InetSocketAddress(targetHost, targetPort), 5000);
      upstream.setTcpNoDelay(true);
      OutputStream up = upstream.getOutputStream();
      up.write((String.join("\r\n", head) + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
      up.write(body);
      up.flush();
      InputStream down = new BufferedInputStream(upstream.getInputStream(), 1 << 16);
      List<String> responseHead = readHead(down);
      if (responseHead == null) {
        reset(client);
        return;
      }
      if (fault == Fault.RESET_AFTER) {
        down.transferTo(OutputStream.nullOutputStream());
        reset(client);
        return;
      }
      StringBuilder sb = new StringBuilder();
      for (String h : responseHead) {
        if (!h.toLowerCase(Locale.ROOT).startsWith("connection:")) {
          sb.append(h).append("\r\n");
        }
      }
      sb.append("Connection: close\r\n\r\n");
      out.write(sb.toString().getBytes(StandardCharsets.ISO_8859_1));
      down.transferTo(out);
      out.flush();
    }
  }

  private static void reset(Socket s) throws IOException {
    s.setSoLinger(true, 0); // close sends RST
    s.close();
  }

  /** The lines of an HTTP head, or null at end of stream. */
  private static List<String> readHead(InputStream in) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    List<String> lines = new ArrayList<>();
    int prev = -1;
    for (;;) {
      int b = in.read();
      if (b < 0) {
        return null;
      }
      if (b == '\n' && prev == '\r') {
        byte[] bytes = line.toByteArray();
        String l = new String(bytes, 0, bytes.length - 1, StandardCharsets.ISO_8859_1);
        line.reset();
        if (l.isEmpty()) {
          return lines;
        }
        lines.add(l);
        prev = -1;
        continue;
      }
      line.write(b);
      prev = b;
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
    threads.shutdownNow();
  }
}
