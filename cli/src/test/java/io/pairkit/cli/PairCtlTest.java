package io.pairkit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.pairkit.api.HostVolume;
import io.pairkit.control.ControlApi;
import io.pairkit.server.DaemonRig;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Every pairctl command through its real entry point against a running pairkitd. */
@Timeout(120)
class PairCtlTest {
  private static final long SIZE = 16L << 20;

  @TempDir
  Path dir;

  private DaemonRig rig;
  private final ObjectMapper json = new ObjectMapper();

  private record Result(int code, String out, String err) {
  }

  @BeforeEach
  void start() throws Exception {
    rig = DaemonRig.start(dir, SIZE, "");
  }

  @AfterEach
  void stop() {
    rig.close();
  }

  private Result ctl(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    String[] all = new String[args.length + 4];
    all[0] = "--endpoint";
    all[1] = rig.endpoint();
    all[2] = "--token-file";
    all[3] = rig.tokenFile().toString();
    System.arraycopy(args, 0, all, 4, args.length);
    int code = PairCtl.run(new PrintWriter(out), new PrintWriter(err), all);
    return new Result(code, out.toString(), err.toString());
  }

  @Test
  void volumeListAndInfo_tableAndJson() throws Exception {
    Result list = ctl("volume", "list");
    assertEquals(0, list.code, list.err);
    assertTrue(list.out.startsWith("VOLUME") && list.out.contains("prod") && list.out
        .contains("copy"), list.out);
    assertTrue(list.out.lines().anyMatch(l -> l.matches("prod\\s+file\\s+16 MiB\\s+rw\\s+-")),
        "sizes for people: " + list.out);
    assertTrue(ctl("volume", "list", "--bytes").out.contains(Long.toString(SIZE)));
    assertTrue(ctl("volume", "info", "prod").out.contains("16 MiB (" + SIZE + " bytes)"));
    ControlApi.VolumeView[] vs = json.readValue(ctl("--json", "volume", "list").out,
        ControlApi.VolumeView[].class);
    assertEquals(2, vs.length);
    ControlApi.VolumeView info = json.readValue(ctl("--json", "volume", "info", "prod").out,
        ControlApi.VolumeView.class);
    assertEquals(SIZE, info.size());
    assertEquals("file", info.type());
    Result unknown = ctl("volume", "info", "nope");
    assertEquals(PairCtl.NOT_FOUND, unknown.code);
    assertTrue(unknown.err.contains("nope"), unknown.err);
  }

  @Test
  void pairLifecycle_createWaitSplitUpdateDisplayVerifyResyncDelete() throws Exception {
    HostVolume prod = rig.daemon.controller().volume("prod");
    byte[] data = new byte[(int) SIZE];
    new Random(1).nextBytes(data);
    prod.write(0, data);
    assertEquals(0, ctl("pair", "create", "p1", "-p", "prod", "-s", "copy").code);
    Result formed = ctl("pair", "wait", "p1", "--state", "FORMED", "--timeout", "60s");
    assertEquals(0, formed.code, formed.err);
    assertEquals(0, ctl("pair", "split", "p1").code);
    assertEquals(0, ctl("pair", "wait", "p1", "--state", "SPLIT").code);
    // Change 1 MiB at 4 MiB on P; the copy keeps the split image until an extent update.
    byte[] fresh = new byte[1 << 20];
    new Random(2).nextBytes(fresh);
    prod.write(4L << 20, fresh);
    Result differ = ctl("verify", "prod", "copy");
    assertEquals(PairCtl.DIFFERENT, differ.code, differ.out + differ.err);
    assertTrue(differ.out.contains("16 differ"), differ.out);
    ControlApi.VerifyResult v = json.readValue(ctl("--json", "verify", "prod", "copy").out,
        ControlApi.VerifyResult.class);
    assertEquals(64, v.differingTrackRanges().get(0)[0]);
    assertEquals(80, v.differingTrackRanges().get(0)[1]);
    Result update = ctl("--json", "extent", "update", "p1", "4m-5m");
    assertEquals(0, update.code, update.err);
    ControlApi.RequestView req = json.readValue(update.out, ControlApi.RequestView.class);
    assertEquals(16, req.tracksToCopy());
    Result waited = ctl("pair", "wait", "p1", "--request", Long.toString(req.id()));
    assertEquals(0, waited.code, waited.err);
    assertTrue(waited.out.contains("EXTENT_UPDATE request " + req.id() + " done on 4194304-5242880"
        + ", copied "), "says what it asked and what it copied: " + waited.out);
    assertEquals(0, ctl("verify", "prod", "copy").code);
    Result table = ctl("pair", "display");
    assertTrue(table.out.startsWith("PAIR") && table.out.lines().anyMatch(l -> l.matches(
        "p1\\s+prod\\s+copy\\s+VOLUME_PAIR\\s+SPLIT\\s+sync \\(auto\\)\\s+-\\s+100.0\\s+0\\s+0\\s+-")),
        table.out);
    ControlApi.PairView p = json.readValue(ctl("--json", "pair", "display", "p1").out,
        ControlApi.PairView[].class)[0];
    assertEquals("SPLIT", p.state());
    assertEquals(256, p.scopeTracks());
    assertEquals(0, ctl("pair", "resync", "p1").code);
    assertEquals(0, ctl("pair", "wait", "p1", "--state", "FORMED").code);
    assertEquals(0, ctl("pair", "delete", "p1").code);
    assertEquals(PairCtl.NOT_FOUND, ctl("pair", "display", "p1").code);
  }

  @Test
  void restore_wholeAndPerExtent_throughMain() throws Exception {
    HostVolume prod = rig.daemon.controller().volume("prod");
    byte[] data = new byte[(int) SIZE];
    new Random(1).nextBytes(data);
    prod.write(0, data);
    assertEquals(0, ctl("pair", "create", "p1", "-p", "prod", "-s", "copy").code);
    assertEquals(0, ctl("pair", "wait", "p1", "--state", "FORMED", "--timeout", "60s").code);
    Result early = ctl("pair", "restore", "p1");
    assertEquals(PairCtl.WRONG_STATE, early.code, early.err);
    assertTrue(early.err.contains("FORMED") && early.err.contains("split the pair first"),
        early.err);
    assertEquals(0, ctl("pair", "split", "p1").code);
    assertEquals(0, ctl("pair", "wait", "p1", "--state", "SPLIT").code);
    byte[] damage = new byte[1 << 20];
    new Random(2).nextBytes(damage);
    prod.write(4L << 20, damage); // 16 tracks at 4 MiB
    prod.write(8L << 20, damage); // and 16 at 8 MiB, which stay newer
    Result one = ctl("pair", "restore", "p1", "--extents", "4m-4608k,4608k-5m");
    assertEquals(0, one.code, one.err);
    assertTrue(one.out.contains("16 changed tracks to copy back")
        && one.out.contains("only the bytes of 4194304-5242880"), one.out);
    assertTrue(one.err.contains("taken as 4194304-5242880"), "normalised, said so: " + one.err);
    assertEquals(0, ctl("pair", "wait", "p1", "--state", "SPLIT").code);
    assertTrue(Arrays.equals(data, 4 << 20, 5 << 20, prod.read(4L << 20, 1 << 20), 0, 1 << 20),
        "restored");
    assertTrue(Arrays.equals(damage, prod.read(8L << 20, 1 << 20)), "the other area kept");
    ControlApi.RequestView all = json.readValue(ctl("--json", "pair", "restore", "p1").out,
        ControlApi.RequestView.class);
    assertEquals(16, all.tracksToCopy(), "only what still differs");
    Result waited = ctl("pair", "wait", "p1", "--request", Long.toString(all.id()));
    assertEquals(0, waited.code, waited.err);
    assertTrue(waited.out.contains("RESTORE request " + all.id()), waited.out);
    assertEquals(0, ctl("verify", "prod", "copy").code, "both sides equal again");
    assertTrue(ctl("pair", "restore", "--help").out.contains("--extents"));
  }

  @Test
  void extentSplitAndJoin_onAnExtentSplitPair() throws Exception {
    assertEquals(0, ctl("pair", "create", "x1", "-p", "prod", "-s", "copy",
        "--strategy", "extent-split").code);
    assertEquals(0, ctl("pair", "wait", "x1", "--state", "FORMED").code);
    assertEquals(0, ctl("extent", "split", "x1", "1m-2m").code);
    assertEquals(0, ctl("pair", "wait", "x1", "--state", "EXTENT_SPLIT").code);
    assertEquals(0, ctl("extent", "join", "x1", "1m-2m").code);
    assertEquals(0, ctl("pair", "wait", "x1", "--state", "FORMED").code);
  }

  @Test
  void errorPaths_haveTheirExitCodesAndMessages() throws Exception {
    Result unknownVolume = ctl("pair", "create", "p", "-p", "nope", "-s", "copy");
    assertEquals(PairCtl.NOT_FOUND, unknownVolume.code);
    assertTrue(unknownVolume.err.contains("nope"), unknownVolume.err);
    assertEquals(0, ctl("pair", "create", "p", "-p", "prod", "-s", "copy").code);
    assertEquals(0, ctl("pair", "wait", "p", "--state", "FORMED").code);
    Result wrongState = ctl("extent", "update", "p", "0-1m");
    assertEquals(PairCtl.WRONG_STATE, wrongState.code, wrongState.err);
    assertTrue(wrongState.err.contains("FORMED"), wrongState.err);
    Result badSyntax = ctl("extent", "update", "p", "5m-1m");
    assertEquals(PairCtl.USAGE, badSyntax.code);
    assertTrue(badSyntax.err.contains("END is exclusive"), badSyntax.err);
    Result beyond = ctl("extent", "update", "p", "15m-17m");
    assertTrue(beyond.code != 0 && beyond.err.contains("end"), beyond.err);
    Result timeout = ctl("pair", "wait", "p", "--state", "SPLIT", "--timeout", "300ms");
    assertEquals(PairCtl.TIMEOUT, timeout.code, timeout.err);
    Result unknownRequest = ctl("pair", "wait", "p", "--request", "999");
    assertEquals(PairCtl.NOT_FOUND, unknownRequest.code, unknownRequest.err);
    Result usage = ctl("pair", "wait", "p");
    assertEquals(PairCtl.USAGE, usage.code);
    Result unknownCommand = ctl("pair", "frobnicate");
    assertEquals(PairCtl.USAGE, unknownCommand.code);
  }

  @Test
  void daemonNotRunning_andUnreadableConfig() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    StringWriter err = new StringWriter();
    int code = PairCtl.run(new PrintWriter(new StringWriter()), new PrintWriter(err),
        "--endpoint", "http://127.0.0.1:" + port, "volume", "list");
    assertEquals(PairCtl.NOT_RUNNING, code);
    assertTrue(err.toString().contains("not running"), err.toString());
    Path missing = dir.resolve("missing.properties");
    err = new StringWriter();
    code = PairCtl.run(new PrintWriter(new StringWriter()), new PrintWriter(err),
        "--config", missing.toString(), "volume", "list");
    assertEquals(PairCtl.BAD_CONFIG, code);
    assertTrue(err.toString().contains("missing.properties"), err.toString());
    // The config route finds the daemon.
    Path cfg = dir.resolve("client.properties");
    Files.writeString(cfg, "server.control.port=" + rig.daemon.controlPort() + "\n"
        + "controller.metadataDirectory=" + dir.resolve("meta") + "\n");
    StringWriter out = new StringWriter();
    code = PairCtl.run(new PrintWriter(out), new PrintWriter(new StringWriter()),
        "--config", cfg.toString(), "volume", "list");
    assertEquals(0, code);
    assertTrue(out.toString().contains("prod"));
  }

  /** A browser page must not drive the daemon (cross-site POST, DNS rebinding). */
  @Test
  void controlEndpoint_refusesBrowserRequestsAndForeignHosts() throws Exception {
    java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
    String body = "{\"id\":\"x\",\"primary\":\"copy\",\"secondary\":\"prod\"}";
    java.net.URI uri = java.net.URI.create(rig.endpoint() + "/v1/pairs");
    var plain = http.send(java.net.http.HttpRequest.newBuilder(uri)
        .header("Content-Type", "text/plain").POST(java.net.http.HttpRequest.BodyPublishers
            .ofString(body)).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
    assertEquals(415, plain.statusCode(), plain.body());
    var fromPage = http.send(java.net.http.HttpRequest.newBuilder(uri)
        .header("Content-Type", "application/json").header("Origin", "http://evil.example")
        .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body)).build(),
        java.net.http.HttpResponse.BodyHandlers.ofString());
    assertEquals(403, fromPage.statusCode(), fromPage.body());
    assertTrue(rig.daemon.controller().pairs().isEmpty(), "nothing was created");
    // The same call from a local program without the control token is refused too...
    var noToken = http.send(java.net.http.HttpRequest.newBuilder(uri)
        .header("Content-Type", "application/json")
        .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body)).build(),
        java.net.http.HttpResponse.BodyHandlers.ofString());
    assertEquals(401, noToken.statusCode(), noToken.body());
    assertTrue(noToken.body().contains(rig.tokenFile().toString()), noToken.body());
    var wrong = http.send(java.net.http.HttpRequest.newBuilder(uri)
        .header("Content-Type", "application/json").header("Authorization", "Bearer 1234")
        .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body)).build(),
        java.net.http.HttpResponse.BodyHandlers.ofString());
    assertEquals(401, wrong.statusCode(), wrong.body());
    var read = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(
        rig.endpoint() + "/v1/pairs")).GET().build(),
        java.net.http.HttpResponse.BodyHandlers.ofString());
    assertEquals(401, read.statusCode(), "reads need the token too unless openReads");
    var health = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(
        rig.endpoint() + "/v1/health")).GET().build(),
        java.net.http.HttpResponse.BodyHandlers.ofString());
    assertEquals(200, health.statusCode(), "health needs no token (liveness probes)");
    assertTrue(rig.daemon.controller().pairs().isEmpty(), "nothing was created");
    // ...and works with it.
    var local = http.send(java.net.http.HttpRequest.newBuilder(uri)
        .header("Content-Type", "application/json")
        .header("Authorization", "Bearer " + Files.readString(rig.tokenFile()).trim())
        .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body)).build(),
        java.net.http.HttpResponse.BodyHandlers.ofString());
    assertEquals(201, local.statusCode(), local.body());
    assertEquals(java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"),
        Files.getPosixFilePermissions(rig.tokenFile()), "the token file is its owner's alone");
  }

  @Test
  void verify_defaultsToAnExtentPairsScope() throws Exception {
    HostVolume prod = rig.daemon.controller().volume("prod");
    byte[] data = new byte[1 << 20];
    new Random(8).nextBytes(data);
    prod.write(0, data);
    prod.write(8L << 20, data);
    assertEquals(0, ctl("pair", "create", "e", "-p", "prod", "-s", "copy", "--strategy",
        "extent", "--extents", "0-1m").code);
    assertEquals(0, ctl("pair", "wait", "e", "--state", "FORMED").code);
    Result scoped = ctl("verify", "prod", "copy");
    assertEquals(0, scoped.code, "only the pair's extents are compared: " + scoped.out);
    assertTrue(scoped.out.contains("16 tracks compared"), scoped.out);
    assertEquals(PairCtl.DIFFERENT, ctl("verify", "prod", "copy", "--extents", "8m-9m").code);
  }

  @Test
  void helpListsTheExitCodes() {
    StringWriter out = new StringWriter();
    assertEquals(0, PairCtl.run(new PrintWriter(out), new PrintWriter(new StringWriter()),
        "--help"));
    assertTrue(out.toString().contains("Exit codes") && out.toString().contains("7   verify"),
        out.toString());
    assertTrue(Arrays.stream(out.toString().split("\n")).anyMatch(l -> l.contains("pair")));
  }

  @Test
  void mirrorMode_chosenAtCreate_shownByDisplay_changedBySet() throws Exception {
    Result created = ctl("pair", "create", "m1", "-p", "prod", "-s", "copy", "--mirror", "async");
    assertEquals(0, created.code, created.err);
    assertTrue(created.out.contains("mirroring async"), created.out);
    ControlApi.PairView p = json.readValue(ctl("--json", "pair", "display", "m1").out,
        ControlApi.PairView[].class)[0];
    assertEquals("ASYNCHRONOUS", p.mirror());
    assertEquals("ASYNCHRONOUS", p.mirroring());
    Result set = ctl("pair", "set", "m1", "--mirror", "sync");
    assertEquals(0, set.code, set.err);
    assertTrue(set.out.contains("mirroring sync"), set.out);
    assertEquals("SYNCHRONOUS", rig.daemon.controller().pair("m1").mirrorStatus().effective()
        .name());
    Result bad = ctl("pair", "set", "m1", "--mirror", "fast");
    assertEquals(PairCtl.USAGE, bad.code);
    assertTrue(bad.err.contains("'fast' is not one of sync, async, auto"), bad.err);
    assertEquals(PairCtl.NOT_FOUND, ctl("pair", "set", "nope", "--mirror", "sync").code);
  }
  @Test
  void suspendAndResume_paceAndNocopy_throughMain() throws Exception {
    Result created = ctl("pair", "create", "m2", "-p", "prod", "-s", "copy", "--mirror",
        "async", "--pace", "64M");
    assertEquals(0, created.code, created.err);
    assertTrue(created.out.contains("pace 64 MiB/s"), created.out);
    assertEquals(0, ctl("pair", "wait", "m2", "--state", "FORMED", "--timeout", "60s").code);
    Result suspended = ctl("pair", "suspend", "m2");
    assertEquals(0, suspended.code, suspended.err);
    assertTrue(suspended.out.contains("SUSPENDED") && suspended.out.contains("pair resume m2"),
        suspended.out);
    Result again = ctl("pair", "suspend", "m2");
    assertEquals(PairCtl.WRONG_STATE, again.code, again.out);
    assertTrue(again.err.contains("suspended already"), again.err);
    rig.daemon.controller().volume("prod").write(0, new byte[4096]);
    ControlApi.PairView v = json.readValue(ctl("--json", "pair", "display", "m2").out,
        ControlApi.PairView[].class)[0];
    assertEquals("SUSPENDED", v.state());
    assertEquals(1, v.pendingTracks(), "the write is recorded, not copied");
    assertEquals(64L << 20, v.copyPace());
    Result split = ctl("pair", "split", "m2");
    assertEquals(PairCtl.WRONG_STATE, split.code);
    assertTrue(split.err.contains("resume"), split.err);
    assertEquals(0, ctl("pair", "resume", "m2").code);
    assertEquals(0, ctl("pair", "wait", "m2", "--state", "FORMED", "--timeout", "60s").code);
    Result pace = ctl("pair", "set", "m2", "--pace", "none");
    assertEquals(0, pace.code, pace.err);
    assertTrue(pace.out.contains("pace none"), pace.out);
    assertEquals(0, rig.daemon.controller().pair("m2").options().copyPace());
    Result badPace = ctl("pair", "set", "m2", "--pace", "fast");
    assertEquals(PairCtl.USAGE, badPace.code);
    assertTrue(badPace.err.contains("'fast' is not a rate"), badPace.err);
    assertEquals(PairCtl.USAGE, ctl("pair", "set", "m2").code, "set needs a setting");
    Result display = ctl("pair", "display");
    assertTrue(display.out.contains("PACE"), display.out);
    assertEquals(0, ctl("pair", "delete", "m2").code);
    Result nocopy = ctl("pair", "create", "n1", "-p", "prod", "-s", "copy", "--nocopy");
    assertEquals(0, nocopy.code, nocopy.err);
    assertTrue(nocopy.out.contains("FORMED") && nocopy.out.contains("no initial copy"),
        nocopy.out);
    assertFalse(rig.daemon.controller().pair("n1").options().initialCopy());
  }
  @Test
  void papercuts_ids_deleteWhileCopying_help_waitState_jsonShapes_exportModes_vocabulary()
      throws Exception {
    Result badId = ctl("pair", "create", "a/b", "-p", "prod", "-s", "copy");
    assertEquals(PairCtl.USAGE, badId.code, badId.out);
    assertTrue(badId.err.contains("pair id 'a/b' is not allowed"), badId.err);
    rig.daemon.controller().pauseBackgroundCopies(); // the initial copy cannot finish
    try {
      assertEquals(0, ctl("pair", "create", "c1", "-p", "prod", "-s", "copy").code);
      Result refused = ctl("pair", "delete", "c1");
      assertEquals(PairCtl.WRONG_STATE, refused.code, refused.out);
      assertTrue(refused.err.contains("does not hold a complete image")
          && refused.err.contains("pairctl pair delete c1 --force")
          && !refused.err.contains("forceDelete()"), refused.err);
      ControlApi.VolumeView[] vs = json.readValue(ctl("--json", "volume", "list").out,
          ControlApi.VolumeView[].class);
      for (ControlApi.VolumeView v : vs) {
        assertEquals(v.name().equals("copy"), v.exportReadOnly(),
            v.name() + ": a FORMING pair's secondary is exported read-only, the primary not");
      }
      assertEquals(0, ctl("pair", "delete", "c1", "--force").code);
    } finally {
      rig.daemon.controller().resumeBackgroundCopies();
    }
    Result help = ctl("pair", "create", "--help");
    assertEquals(0, help.code, help.err);
    assertTrue(help.out.contains("--nocopy") && help.out.contains("--primary"), help.out);
    Result bogus = ctl("pair", "wait", "x", "--state", "BOGUS");
    assertEquals(PairCtl.USAGE, bogus.code);
    assertTrue(bogus.err.contains("not a pair state") && bogus.err.contains("FORMED"), bogus.err);
    assertEquals(0, ctl("pair", "create", "j1", "-p", "prod", "-s", "copy").code);
    assertEquals(0, ctl("pair", "wait", "j1", "--state", "FORMED", "--timeout", "60s").code);
    ControlApi.PairView[] one = json.readValue(ctl("--json", "pair", "display", "j1").out,
        ControlApi.PairView[].class);
    ControlApi.PairView[] all = json.readValue(ctl("--json", "pair", "display").out,
        ControlApi.PairView[].class);
    assertEquals(1, one.length, "one named pair is a list of one, like the full list");
    assertEquals(all[0].id(), one[0].id());
    Result resumeFormed = ctl("pair", "resume", "j1");
    assertEquals(PairCtl.WRONG_STATE, resumeFormed.code);
    assertTrue(!resumeFormed.err.contains("resume()"), resumeFormed.err);
  }

  @Test
  void aPortClashNamesThePortAndTheKey() throws Exception {
    try (java.net.ServerSocket taken = new java.net.ServerSocket(0)) {
      Path other = dir.resolve("other");
      java.nio.file.Files.createDirectories(other);
      Path config = io.pairkit.server.DaemonRig.writeConfig(other, SIZE, "");
      java.nio.file.Files.writeString(config, java.nio.file.Files.readString(config)
          .replace("server.nbd.port=0", "server.nbd.port=" + taken.getLocalPort()));
      java.net.BindException e = org.junit.jupiter.api.Assertions.assertThrows(
          java.net.BindException.class, () -> io.pairkit.server.Daemon.start(
              new io.pairkit.server.config.ConfigLoader().load(config)));
      assertTrue(e.getMessage().contains(":" + taken.getLocalPort())
          && e.getMessage().contains("server.nbd.port"), e.getMessage());
    }
  }
  @Test
  void groups_createSplitUpdateResyncDisplayDelete_throughMain() throws Exception {
    rig.close();
    rig = io.pairkit.server.DaemonRig.start(dir, SIZE, String.join("\n",
        "volume.log.type=file", "volume.log.path=" + dir.resolve("log.img"),
        "volume.log.size=" + SIZE, "volume.log.mode=openOrCreate",
        "volume.logcopy.type=file", "volume.logcopy.path=" + dir.resolve("logcopy.img"),
        "volume.logcopy.size=" + SIZE, "volume.logcopy.mode=openOrCreate"));
    assertEquals(0, ctl("pair", "create", "data", "-p", "prod", "-s", "copy").code);
    assertEquals(0, ctl("pair", "create", "log", "-p", "log", "-s", "logcopy").code);
    assertEquals(0, ctl("pair", "wait", "data", "--state", "FORMED", "--timeout", "60s").code);
    assertEquals(0, ctl("pair", "wait", "log", "--state", "FORMED", "--timeout", "60s").code);
    Result created = ctl("group", "create", "db", "data", "log");
    assertEquals(0, created.code, created.err);
    assertTrue(created.out.contains("group db created: [data, log]"), created.out);
    Result split = ctl("group", "split", "db");
    assertEquals(0, split.code, split.err);
    assertTrue(split.out.contains("pair data") && split.out.contains("pair log"), split.out);
    assertEquals(0, ctl("pair", "wait", "data", "--state", "SPLIT", "--timeout", "60s").code);
    assertEquals(0, ctl("pair", "wait", "log", "--state", "SPLIT", "--timeout", "60s").code);
    rig.daemon.controller().volume("prod").write(0, new byte[] {7});
    Result update = ctl("--json", "group", "update", "db", "data=0-4k");
    assertEquals(0, update.code, update.err);
    ControlApi.RequestView[] qs = json.readValue(update.out, ControlApi.RequestView[].class);
    assertEquals(2, qs.length, "every member takes part; log with its whole scope");
    Result again = ctl("group", "split", "db");
    assertEquals(PairCtl.WRONG_STATE, again.code);
    assertTrue(again.err.contains("group 'db'") && again.err.contains("no member"), again.err);
    Result display = ctl("group", "display");
    assertTrue(display.out.startsWith("GROUP") && display.out.contains("db")
        && display.out.contains("SPLIT"), display.out);
    assertEquals(0, ctl("group", "resync", "db").code);
    assertEquals(0, ctl("pair", "wait", "data", "--state", "FORMED", "--timeout", "60s").code);
    assertEquals(0, ctl("group", "delete", "db").code);
    assertEquals(PairCtl.NOT_FOUND, ctl("group", "display", "db").code);
    assertEquals(PairCtl.USAGE, ctl("group", "update", "db", "nonsense").code);
  }
  @Test
  void groupRestore_throughMain() throws Exception {
    assertEquals(0, ctl("pair", "create", "g1", "-p", "prod", "-s", "copy").code);
    assertEquals(0, ctl("pair", "wait", "g1", "--state", "FORMED", "--timeout", "60s").code);
    assertEquals(0, ctl("group", "create", "db", "g1").code);
    assertEquals(0, ctl("group", "split", "db").code);
    assertEquals(0, ctl("pair", "wait", "g1", "--state", "SPLIT").code);
    HostVolume prod = rig.daemon.controller().volume("prod");
    prod.write(0, new byte[] {1, 2, 3});
    Result r = ctl("group", "restore", "db", "g1=0-4k");
    assertEquals(0, r.code, r.err);
    assertTrue(r.out.contains("pair g1: request"), r.out);
    assertEquals(0, ctl("pair", "wait", "g1", "--state", "SPLIT").code);
    assertEquals(0, ctl("verify", "prod", "copy").code);
    assertEquals(PairCtl.USAGE, ctl("group", "restore", "db", "g1").code);
  }

  @Test
  void extentsAreNormalisedAndSaidSo_andAnUpdateSaysItCopiesExactlyThem() throws Exception {
    assertEquals(0, ctl("pair", "create", "e1", "-p", "prod", "-s", "copy").code);
    assertEquals(0, ctl("pair", "wait", "e1", "--state", "FORMED", "--timeout", "60s").code);
    assertEquals(0, ctl("pair", "split", "e1").code);
    assertEquals(0, ctl("pair", "wait", "e1", "--state", "SPLIT", "--timeout", "60s").code);
    Result update = ctl("extent", "update", "e1", "8m-9m,0-4k,8m-10m,0-4k");
    assertEquals(0, update.code, update.err);
    assertTrue(update.err.contains("taken as 0-4096,8388608-10485760"), update.err);
    assertTrue(update.out.contains("asked for 2101248 bytes")
        && update.out.contains("exactly these are refreshed")
        && update.out.contains("64 KiB track they cover only in part"), update.out);
    Result sorted = ctl("extent", "update", "e1", "0-4k,8m-9m");
    assertEquals(0, sorted.code, sorted.err);
    assertTrue(sorted.err.isEmpty(), "nothing to say when nothing changed: " + sorted.err);
  }
  @Test
  void theControlTokenDecidesWhoMayCall() throws Exception {
    Result noToken = new Result(0, "", "");
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = PairCtl.run(new PrintWriter(out), new PrintWriter(err), "--endpoint",
        rig.endpoint(), "pair", "create", "t1", "-p", "prod", "-s", "copy");
    assertEquals(PairCtl.FAILED, code, out.toString());
    assertTrue(err.toString().contains("needs pairkitd's control token")
        && err.toString().contains("no token file given"), err.toString());
    assertTrue(rig.daemon.controller().pairs().isEmpty(), "refused: nothing created " + noToken);
    // Another local user cannot read the token: the file is 0600 and owned by the daemon's user.
    boolean root = "root".equals(System.getProperty("user.name"));
    boolean otherUser = Files.readString(Path.of("/etc/passwd")).contains("\npkfresh:");
    if (root && otherUser) {
      Process cat = new ProcessBuilder("runuser", "-u", "pkfresh", "--", "cat",
          rig.tokenFile().toString()).redirectErrorStream(true).start();
      String said = new String(cat.getInputStream().readAllBytes());
      assertTrue(cat.waitFor() != 0 && said.contains("Permission denied"), said);
    } else {
      System.out.println("PairCtlTest: the second-user check skipped: it needs root and the "
          + "local user pkfresh (useradd pkfresh)");
    }
    rig.close();
    // Reads may be opened to everyone on the host; changes still need the token.
    rig = io.pairkit.server.DaemonRig.start(dir, SIZE, "server.control.openReads=true");
    out = new StringWriter();
    assertEquals(0, PairCtl.run(new PrintWriter(out), new PrintWriter(new StringWriter()),
        "--endpoint", rig.endpoint(), "volume", "list"));
    assertTrue(out.toString().contains("prod"), out.toString());
    assertEquals(PairCtl.FAILED, PairCtl.run(new PrintWriter(new StringWriter()),
        new PrintWriter(new StringWriter()), "--endpoint", rig.endpoint(), "pair", "create",
        "t2", "-p", "prod", "-s", "copy"));
    rig.close();
    // A token file others can read is refused at start, naming the fix.
    java.nio.file.Files.setPosixFilePermissions(rig.tokenFile(),
        java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
    Exception e = org.junit.jupiter.api.Assertions.assertThrows(Exception.class,
        () -> io.pairkit.server.DaemonRig.start(dir, SIZE, ""));
    assertTrue(e.getMessage().contains("chmod 600 " + rig.tokenFile()), e.getMessage());
    java.nio.file.Files.setPosixFilePermissions(rig.tokenFile(),
        java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    rig = io.pairkit.server.DaemonRig.start(dir, SIZE, "");
  }
  @Test
  void metricsInPrometheusText_needTheToken() throws Exception {
    byte[] data = new byte[1 << 20];
    new Random(5).nextBytes(data);
    rig.daemon.controller().volume("prod").write(0, data); // 16 tracks of data, the rest holes
    assertEquals(0, ctl("pair", "create", "mx", "-p", "prod", "-s", "copy").code);
    assertEquals(0, ctl("pair", "wait", "mx", "--state", "FORMED", "--timeout", "60s").code);
    java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
    java.net.URI uri = java.net.URI.create(rig.endpoint() + "/metrics");
    var refused = http.send(java.net.http.HttpRequest.newBuilder(uri).GET().build(),
        java.net.http.HttpResponse.BodyHandlers.ofString());
    assertEquals(401, refused.statusCode());
    var scraped = http.send(java.net.http.HttpRequest.newBuilder(uri)
        .header("Authorization", "Bearer " + Files.readString(rig.tokenFile()).trim())
        .GET().build(), java.net.http.HttpResponse.BodyHandlers.ofString());
    assertEquals(200, scraped.statusCode());
    String text = scraped.body();
    assertTrue(text.contains("pairkit_pair_state{pair=\"mx\",state=\"FORMED\"} 1.0")
        && text.contains("pairkit_pair_state{pair=\"mx\",state=\"SPLIT\"} 0.0"), text);
    assertTrue(text.contains("pairkit_pair_tracks{kind=\"pending\",pair=\"mx\"} 0.0"), text);
    assertTrue(text.contains("pairkit_pair_copied_tracks{pair=\"mx\",reason=\"request\"} 16.0")
        && text.contains("pairkit_pair_copied_tracks{pair=\"mx\",reason=\"skipped_hole\"} 240.0"),
        "the initial copy's 16 tracks of data and 240 of holes: " + text);
    assertTrue(text.contains("pairkit_nbd_connections"), text);
    assertTrue(text.contains("pairkit_control_requests_total{method=\"POST\",status=\"201\"}"),
        text);
    assertEquals(0, ctl("pair", "delete", "mx").code);
    String after = http.send(java.net.http.HttpRequest.newBuilder(uri)
        .header("Authorization", "Bearer " + Files.readString(rig.tokenFile()).trim())
        .GET().build(), java.net.http.HttpResponse.BodyHandlers.ofString()).body();
    assertTrue(!after.contains("pair=\"mx\""), "a deleted pair's series go away: " + after);
  }
  @Test
  void pairctlAndPairkitdReportTheBuildsVersion() throws Exception {
    String version = io.pairkit.control.Version.get();
    assertTrue(version.matches("\\d+\\.\\d+\\.\\d+.*"), "the POM's version: " + version);
    StringWriter out = new StringWriter();
    assertEquals(0, PairCtl.run(new PrintWriter(out), new PrintWriter(new StringWriter()),
        "--version"));
    assertEquals("pairctl " + version, out.toString().trim());
    java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
    String health = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(
        rig.endpoint() + "/v1/health")).GET().build(),
        java.net.http.HttpResponse.BodyHandlers.ofString()).body();
    assertEquals(version, json.readValue(health, ControlApi.Health.class).version());
  }
  @Test
  void aForcedDeleteLeavesTheSecondaryMarkedIncompleteAndReadOnlyUntilANewPairCopiesIt()
      throws Exception {
    rig.daemon.controller().volume("prod").write(0, new byte[] {1, 2, 3});
    rig.daemon.controller().pauseBackgroundCopies(); // the initial copy cannot finish
    try {
      assertEquals(0, ctl("pair", "create", "f1", "-p", "prod", "-s", "copy").code);
      assertEquals(0, ctl("pair", "delete", "f1", "--force").code);
    } finally {
      rig.daemon.controller().resumeBackgroundCopies();
    }
    Result list = ctl("volume", "list");
    assertTrue(list.out.lines().anyMatch(l -> l.matches("copy\\s+file\\s+16 MiB\\s+ro INCOMPLETE.*")),
        list.out);
    Result info = ctl("volume", "info", "copy");
    assertTrue(info.out.contains("INCOMPLETE: pair 'f1' was deleted with --force while FORMING"),
        info.out);
    rig.close(); // the mark survives a restart
    rig = io.pairkit.server.DaemonRig.start(dir, SIZE, "");
    ControlApi.VolumeView v = json.readValue(ctl("--json", "volume", "info", "copy").out,
        ControlApi.VolumeView.class);
    assertTrue(v.incomplete() != null && v.exportReadOnly(), v.toString());
    Result nocopy = ctl("pair", "create", "f2", "-p", "prod", "-s", "copy", "--nocopy");
    assertEquals(PairCtl.USAGE, nocopy.code);
    assertTrue(nocopy.err.contains("is incomplete") && nocopy.err.contains("initial copy"),
        nocopy.err);
    assertEquals(0, ctl("pair", "create", "f2", "-p", "prod", "-s", "copy").code);
    assertEquals(0, ctl("pair", "wait", "f2", "--state", "FORMED", "--timeout", "60s").code);
    v = json.readValue(ctl("--json", "volume", "info", "copy").out, ControlApi.VolumeView.class);
    assertEquals(null, v.incomplete(), "a new pair copied it whole");
    assertEquals(0, ctl("pair", "split", "f2").code);
    assertEquals(0, ctl("pair", "wait", "f2", "--state", "SPLIT", "--timeout", "60s").code);
    v = json.readValue(ctl("--json", "volume", "info", "copy").out, ControlApi.VolumeView.class);
    assertTrue(!v.exportReadOnly(), "a split secondary is writable again");
  }
  @Test
  void volumeStatusShowsARaidSetsMembers_andADegradedOneAfterAMemberIsLost() throws Exception {
    rig.close();
    String raid = String.join("\n", "volume.r.type=raid", "volume.r.level=1",
        "volume.r.mode=create", "volume.r.size=4m",
        "volume.r.member.0.type=file", "volume.r.member.0.path=" + dir.resolve("r0.img"),
        "volume.r.member.0.mode=create", "volume.r.member.0.size=8m",
        "volume.r.member.1.type=file", "volume.r.member.1.path=" + dir.resolve("r1.img"),
        "volume.r.member.1.mode=create", "volume.r.member.1.size=8m");
    rig = io.pairkit.server.DaemonRig.start(dir, SIZE, raid);
    Result status = ctl("volume", "status", "r");
    assertEquals(0, status.code, status.err);
    assertTrue(status.out.contains("ok") && status.out.contains("ACTIVE")
        && status.out.contains("100%"), status.out);
    ControlApi.VolumeView v = json.readValue(ctl("--json", "volume", "info", "r").out,
        ControlApi.VolumeView.class);
    assertEquals(2, v.health().parts().size(), v.toString());
    assertTrue(!v.health().degraded());
    ControlApi.VolumeView plain = json.readValue(ctl("--json", "volume", "info", "prod").out,
        ControlApi.VolumeView.class);
    assertTrue(plain.health().parts().isEmpty() && !plain.health().degraded());
    String metrics = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest
        .newBuilder(java.net.URI.create(rig.endpoint() + "/metrics"))
        .header("Authorization", "Bearer " + Files.readString(rig.tokenFile()).trim()).GET()
        .build(), java.net.http.HttpResponse.BodyHandlers.ofString()).body();
    assertTrue(metrics.contains("pairkit_volume_degraded{volume=\"r\"} 0.0"), metrics);
    assertTrue(metrics.contains("pairkit_volume_part_in_sync_ratio{"), metrics);
    // A byte flipped on one mirror is served with no trace; a scrub finds it, repair fixes it.
    byte[] pattern = new byte[4096];
    new Random(9).nextBytes(pattern);
    rig.daemon.controller().volume("r").write(0, pattern);
    rig.daemon.controller().volume("r").flush();
    byte[] member = Files.readAllBytes(dir.resolve("r1.img"));
    int at = indexOf(member, pattern);
    assertTrue(at > 0, "the pattern is on member 1");
    try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(
        dir.resolve("r1.img"), java.nio.file.StandardOpenOption.WRITE)) {
      ch.write(java.nio.ByteBuffer.wrap(new byte[] {(byte) (pattern[7] ^ 1)}), at + 7);
      ch.force(true);
    }
    Result check = ctl("volume", "scrub", "r");
    assertEquals(7, check.code, check.out + check.err);
    assertTrue(check.out.contains("1 inconsistent") && check.out.contains("first at bytes [0]"),
        check.out);
    Result repair = ctl("volume", "scrub", "r", "--repair");
    assertEquals(0, repair.code, repair.out + repair.err);
    assertTrue(repair.out.contains("1 repaired"), repair.out);
    assertEquals(0, ctl("volume", "scrub", "r").code);
    Result none = ctl("volume", "scrub", "prod");
    assertTrue(none.code != 0 && none.err.contains("no redundancy"), none.err);
    rig.close();
    Files.delete(dir.resolve("r1.img")); // a member disk is gone while the daemon is down
    // The set starts degraded on its one member left: it serves, and says so.
    rig = io.pairkit.server.DaemonRig.start(dir, SIZE, raid.replace("mode=create",
        "mode=open"));
    ControlApi.VolumeView lost = json.readValue(ctl("--json", "volume", "info", "r").out,
        ControlApi.VolumeView.class);
    assertTrue(lost.health().degraded() && lost.health().summary().contains("degraded"),
        lost.toString());
    Result degraded = ctl("volume", "status", "r");
    assertTrue(degraded.out.contains("DEGRADED"), degraded.out);
  }

  private static int indexOf(byte[] hay, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= hay.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}
