package io.pairkit.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.server.config.ConfigLoader;
import io.pairkit.server.config.DaemonConfig;
import io.pairkit.server.Tools;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * BackendSwap as the README runs it: a separate JVM started in an empty directory with one of
 * the example configurations of {@code examples/config}; the same workflow passes on each
 * backend, the run says which backend served it, and it leaves nothing behind.
 */
@Timeout(180)
class BackendSwapTest {
  private static final Path CONFIGS = Path.of("config").toAbsolutePath();

  @TempDir
  Path dir;

  @TempDir
  Path configDir;

  @Test
  void theExampleConfigsDeclareTheSameVolumesOnDifferentBackends() throws Exception {
    Map<String, String> expected = Map.of("file", "file", "raid", "raid");
    for (Map.Entry<String, String> e : expected.entrySet()) {
      DaemonConfig cfg = new ConfigLoader().load(CONFIGS.resolve(e.getKey() + ".properties"));
      assertEquals(List.of("copy", "prod"), cfg.volumes().stream().map(v -> v.spec().name())
          .sorted().toList());
      for (DaemonConfig.VolumeConfig v : cfg.volumes()) {
        assertEquals(e.getValue(), v.spec().type(), v.toString());
        assertEquals(64L << 20, v.spec().sizeProperty("size").orElseThrow(), v.toString());
      }
    }
    String s3 = Files.readString(CONFIGS.resolve("s3.properties"));
    assertTrue(s3.contains("accessKey=${env:") && s3.contains("secretKey=${env:"),
        "s3 keys are references");
    assertFalse(s3.matches("(?s).*secretKey=[^$].*"), "no inline secret");
  }

  @Test
  void fileConfig() throws Exception {
    runOn("file", "prod=file, copy=file");
  }

  @Test
  void raidConfig() throws Exception {
    runOn("raid", "prod=raid, copy=raid");
  }

  /** The s3 configuration against S3Proxy in this JVM (its endpoint written into a copy). */
  @Test
  void s3Config() throws Exception {
    io.pairkit.backend.s3.TestStore store = io.pairkit.backend.s3.S3ProxyServer.get();
    try (var client = store.client()) {
      client.createBucket(b -> b.bucket("pairkit"));
    }
    Path config = configDir.resolve("s3.properties");
    Files.writeString(config, Files.readString(CONFIGS.resolve("s3.properties"))
        .replace("http://127.0.0.1:8080", store.endpoint().toString()));
    run(config, Map.of("PAIRKIT_S3_ACCESS_KEY", store.accessKey(),
        "PAIRKIT_S3_SECRET_KEY", store.secretKey()), "prod=s3, copy=s3");
  }

  private void runOn(String backend, String served) throws Exception {
    run(CONFIGS.resolve(backend + ".properties"), Map.of(), served);
  }

  private void run(Path configFile, Map<String, String> env, String served) throws Exception {
    List<String> cmd = Tools.javaCommand(BackendSwap.class.getName(), configFile.toString());
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true);
    pb.environment().putAll(env);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(150, TimeUnit.SECONDS), "BackendSwap did not finish: " + out);
    System.out.println(out);
    assertEquals(0, p.exitValue(), out);
    assertTrue(out.contains("Backend that served the workflow: " + served), out);
    assertTrue(out.contains("All checks passed."), out);
    assertFalse(out.contains("[FAIL]"), out);
    for (String step : List.of("$ pairctl pair create backup", "$ pairctl pair split backup",
        "$ pairctl --json extent update backup", "$ pairctl pair resync backup",
        "$ pairctl pair delete backup")) {
      assertTrue(out.contains(step), "ran " + step + ": " + out);
    }
    try (Stream<Path> left = Files.list(dir)) {
      assertEquals(List.of(), left.toList(), "images and metadata removed at the end");
    }
  }
}
