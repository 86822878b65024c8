package io.pairkit.server;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/** Runs real command-line clients; a test whose tool is missing skips, saying which package. */
public final class Tools {
  private Tools() {
  }

  /** Whether {@code tool} is on the PATH (for an optional part of a test; says so if not). */
  public static boolean has(String tool) {
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
      if (Files.isExecutable(Path.of(dir, tool))) {
        return true;
      }
    }
    System.out.println("SKIPPED part: " + tool + " is not installed (.ci/run installs it)");
    return false;
  }

  /** Skips the test (printing why) unless every tool is on the PATH. */
  public static void require(String debianPackage, String... tools) {
    for (String tool : tools) {
      boolean found = false;
      for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
        if (Files.isExecutable(Path.of(dir, tool))) {
          found = true;
          break;
        }
      }
      if (!found) {
        String why = tool + " is not installed (Debian package " + debianPackage
            + "; .ci/run installs it)";
        System.out.println("SKIPPED: " + why);
        Assumptions.assumeTrue(false, why);
      }
    }
  }

  /**
   * The command line of a JVM like this one (same class path, same --add-opens/--add-exports)
   * running {@code mainClass} with {@code args}.
   */
  public static List<String> javaCommand(String mainClass, String... args) {
    List<String> cmd = new java.util.ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    for (String arg : java.lang.management.ManagementFactory.getRuntimeMXBean()
        .getInputArguments()) {
      if (arg.startsWith("--add-opens") || arg.startsWith("--add-exports")) {
        cmd.add(arg);
      }
    }
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), mainClass));
    cmd.addAll(List.of(args));
    return cmd;
  }

  /** Result of a finished command. */
  public record Run(int code, String out) {
  }

  /** Runs a command to completion (stderr merged into the output), at most {@code seconds}. */
  public static Run run(int seconds, List<String> command) throws IOException,
      InterruptedException {
    // Output to a file, so the timeout holds even if the tool hangs without closing its output.
    Path log = Files.createTempFile("pairkit-tool", ".log");
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true)
          .redirectOutput(log.toFile()).start();
      if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new AssertionError(command + " did not finish in " + seconds + " s: "
            + Files.readString(log));
      }
      return new Run(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
    } finally {
      Files.deleteIfExists(log);
    }
  }

  /** Runs a command that must succeed and returns its output. */
  public static String ok(int seconds, String... command) throws IOException,
      InterruptedException {
    Run r = run(seconds, List.of(command));
    if (r.code != 0) {
      throw new AssertionError(String.join(" ", command) + " exited " + r.code + ": " + r.out);
    }
    return r.out;
  }
}
