package io.pairkit.cli;

import static io.pairkit.cli.PairCtl.*;

import io.pairkit.control.MirrorModeWords;
import io.pairkit.control.RateWords;
import io.pairkit.control.ControlApi;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * pairctl pair: create, set, suspend, split, resync, restore, resume, delete, display and wait,
 * in the words of array copy functions (paircreate, pairsplit, pairresync, pairdisplay,
 * pairevtwait).
 */
@Command(name = "pair", mixinStandardHelpOptions = true, description = "Create, split, resync, delete, display and wait for "
    + "pairs.", subcommands = {PairCmd.CreateCmd.class, PairCmd.SplitCmd.class,
        PairCmd.ResyncCmd.class, PairCmd.RestoreCmd.class, PairCmd.SuspendCmd.class,
        PairCmd.ResumeCmd.class,
        PairCmd.DeleteCmd.class,
        PairCmd.DisplayCmd.class, PairCmd.WaitCmd.class, PairCmd.SetCmd.class})
final class PairCmd {
  @ParentCommand
  PairCtl root;

  @Command(name = "create", mixinStandardHelpOptions = true, description = "Pair two volumes and start the initial copy "
      + "(paircreate).")
  static final class CreateCmd implements Callable<Integer> {
    @ParentCommand
    PairCmd parent;

    @Parameters(paramLabel = "PAIR")
    String id;

    @Option(names = {"-p", "--primary"}, required = true)
    String primary;

    @Option(names = {"-s", "--secondary"}, required = true)
    String secondary;

    @Option(names = "--strategy", defaultValue = "volume",
        description = "volume (default), extent or extent-split")
    String strategy;

    @Option(names = "--extents", description = "for --strategy extent: START-END[,...]")
    String extents;

    @Option(names = "--mirror", defaultValue = "auto", description = "sync (host writes go "
        + "to both volumes, like RAID-1), async (copied in the background) or auto (default: "
        + "sync for a local secondary, async for a remote one)")
    String mirror;

    @Option(names = "--pace", description = "cap this pair's copies at RATE bytes per second "
        + "(50M = 50 MiB/s, 800K, 1G; default none: only the daemon's cap)")
    String pace;

    @Option(names = "--nocopy", description = "no initial copy (paircreate -nocopy): you "
        + "assert that both volumes already hold the same data; check with pairctl verify")
    boolean nocopy;

    @Override
    public Integer call() {
      PairCtl r = parent.root;
      if (extents != null) {
        extents = r.normalisedExtents(extents);
      }
      checkMirror(mirror);
      if (pace != null) {
        checkPace(pace);
      }
      ControlApi.PairView p = r.call("POST", "pairs",
          new ControlApi.CreatePair(id, strategy, primary, secondary, extents, mirror, pace,
              nocopy), ControlApi.PairView.class);
      r.print(p, () -> r.out.println("pair " + p.id() + " created: " + p.primary() + " -> "
          + p.secondary() + ", " + p.state() + ", mirroring " + mode(p)
          + (p.copyPace() > 0 ? ", pace " + RateWords.format(p.copyPace()) : "")
          + (p.initialCopy() ? "" : ", no initial copy (both volumes taken as equal)")));
      return OK;
    }
  }

  @Command(name = "set", mixinStandardHelpOptions = true, description = "Change a pair's settings: --mirror sync|async|auto, "
      + "--pace RATE|none.")
  static final class SetCmd implements Callable<Integer> {
    @ParentCommand
    PairCmd parent;

    @Parameters(paramLabel = "PAIR")
    String id;

    @Option(names = "--mirror", description = "sync, async or auto")
    String mirror;

    @Option(names = "--pace", description = "cap this pair's copies at RATE bytes per second "
        + "(50M = 50 MiB/s), or none")
    String pace;

    @Override
    public Integer call() {
      PairCtl r = parent.root;
      if (mirror == null && pace == null) {
        throw new Failure(USAGE, "pair set needs --mirror sync|async|auto or --pace RATE|none");
      }
      if (mirror != null) {
        checkMirror(mirror);
      }
      if (pace != null) {
        checkPace(pace);
      }
      ControlApi.PairView p = null;
      if (mirror != null) {
        p = r.call("POST", "pairs/" + seg(id) + "/mirror",
            new ControlApi.MirrorSetting(mirror), ControlApi.PairView.class);
      }
      if (pace != null) {
        p = r.call("POST", "pairs/" + seg(id) + "/pace", new ControlApi.PaceSetting(pace),
            ControlApi.PairView.class);
      }
      ControlApi.PairView v = p;
      r.print(v, () -> r.out.println("pair " + v.id() + " mirroring " + mode(v)
          + (v.mirrorReason() == null ? "" : " (" + v.mirrorReason() + ")") + ", pace "
          + RateWords.format(v.copyPace())));
      return OK;
    }
  }

  @Command(name = "suspend", mixinStandardHelpOptions = true, description = "Stop copying to the secondary and keep recording "
      + "what changes (pairsplit -E); pair resume copies it.")
  static final class SuspendCmd implements Callable<Integer> {
    @ParentCommand
    PairCmd parent;

    @Parameters(paramLabel = "PAIR")
    String id;

    @Override
    public Integer call() {
      PairCtl r = parent.root;
      ControlApi.PairView p = r.call("POST", "pairs/" + seg(id) + "/suspend",
          java.util.Map.of(), ControlApi.PairView.class);
      r.print(p, () -> r.out.println("pair " + p.id() + " " + p.state() + ": host writes go "
          + "to " + p.primary() + " only and are recorded; pair resume " + p.id()
          + " copies them"));
      return OK;
    }
  }

  static void checkPace(String pace) {
    try {
      RateWords.parse(pace);
    } catch (IllegalArgumentException e) {
      throw new Failure(USAGE, "--pace " + e.getMessage());
    }
  }

  /** A pair's mirroring in a word: sync or async, and what was asked if it differs. */
  static String mode(ControlApi.PairView p) {
    String now = "SYNCHRONOUS".equals(p.mirroring()) ? "sync" : "async";
    if ("AUTOMATIC".equals(p.mirror())) {
      return now + " (auto)";
    }
    String asked = "SYNCHRONOUS".equals(p.mirror()) ? "sync" : "async";
    return asked.equals(now) ? now : now + " (set to " + asked + ")";
  }

  static void checkMirror(String mirror) {
    try {
      MirrorModeWords.parse(mirror);
    } catch (IllegalArgumentException e) {
      throw new Failure(USAGE, "--mirror " + e.getMessage());
    }
  }

  abstract static class RequestCmd implements Callable<Integer> {
    @ParentCommand
    PairCmd parent;

    @Parameters(paramLabel = "PAIR")
    String id;

    abstract String kind();

    String extents() {
      return null;
    }

    @Override
    public Integer call() {
      return submit(parent.root, id, kind(), extents());
    }
  }

  @Command(name = "split", mixinStandardHelpOptions = true, description = "Freeze the copy at this instant (pairsplit).")
  static final class SplitCmd extends RequestCmd {
    String kind() {
      return "SPLIT";
    }
  }

  @Command(name = "resync", mixinStandardHelpOptions = true, description = "Mirror again, copying only differences "
      + "(pairresync).")
  static final class ResyncCmd extends RequestCmd {
    String kind() {
      return "RESYNC";
    }
  }

  @Command(name = "restore", mixinStandardHelpOptions = true, description = "Copy the split "
      + "copy back to the primary (pairresync -restore): everything split, or only --extents "
      + "(one file's, say); only what changed is copied, the primary stays online.")
  static final class RestoreCmd implements Callable<Integer> {
    @ParentCommand
    PairCmd parent;

    @Parameters(paramLabel = "PAIR")
    String id;

    @Option(names = "--extents", paramLabel = "START-END[,...]", description = "restore only "
        + "these bytes (END exclusive, k/m/g suffixes); exactly these: other bytes of the "
        + "primary keep their data")
    String extents;

    @Override
    public Integer call() {
      PairCtl r = parent.root;
      String normal = extents == null ? null : r.normalisedExtents(extents);
      ControlApi.RequestView q = r.call("POST", "pairs/" + seg(id) + "/requests",
          new ControlApi.Request("RESTORE", normal), ControlApi.RequestView.class);
      r.print(q, () -> r.out.println("RESTORE request " + q.id() + " on pair " + id + ": "
          + q.tracksToCopy() + " changed tracks to copy back to the primary"
          + (normal == null ? "" : " (only the bytes of " + normal + ")")
          + (q.finished() ? " (" + q.state() + ")" : "") + "; the primary stays online; "
          + "pairctl pair wait " + id + " --request " + q.id()));
      return OK;
    }
  }

  @Command(name = "resume", mixinStandardHelpOptions = true, description = "Copy what changed while the pair was suspended "
      + "(by pair suspend or a backend failure), and mirror again.")
  static final class ResumeCmd extends RequestCmd {
    String kind() {
      return "RESUME";
    }
  }

  @Command(name = "delete", mixinStandardHelpOptions = true, description = "Delete a pair (pairsplit -S); --force even while a "
      + "split copy is incomplete.")
  static final class DeleteCmd implements Callable<Integer> {
    @ParentCommand
    PairCmd parent;

    @Parameters(paramLabel = "PAIR")
    String id;

    @Option(names = "--force")
    boolean force;

    @Override
    public Integer call() {
      PairCtl r = parent.root;
      ControlApi.PairView p = r.call("DELETE", "pairs/" + seg(id) + (force ? "?force=true" : ""),
          null, ControlApi.PairView.class);
      r.print(p, () -> r.out.println("pair " + p.id() + " " + p.state()));
      return OK;
    }
  }

  @Command(name = "display", mixinStandardHelpOptions = true, description = "Show pairs like pairdisplay.")
  static final class DisplayCmd implements Callable<Integer> {
    @ParentCommand
    PairCmd parent;

    @Parameters(paramLabel = "PAIR", arity = "0..1")
    String id;

    @Override
    public Integer call() {
      PairCtl r = parent.root;
      ControlApi.PairView[] pairs = r.oneOrAll("pairs", id, ControlApi.PairView.class);
      r.print(pairs, () -> { // --json: always a list, of one pair when one is named
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"PAIR", "P", "S", "STRATEGY", "STATE", "MIRROR", "PACE",
            "%SYNC", "PENDING", "CHANGED", "REQUESTS"});
        for (ControlApi.PairView p : pairs) {
          StringBuilder reqs = new StringBuilder();
          for (ControlApi.RequestView q : p.requests()) {
            reqs.append(reqs.length() == 0 ? "" : " ").append(q.kind()).append('#')
                .append(q.id()).append(' ').append(q.tracksDone()).append('/')
                .append(q.tracksToCopy());
          }
          rows.add(new String[] {p.id(), p.primary(), p.secondary(), p.strategy(), p.state(),
              mode(p), p.copyPace() > 0 ? RateWords.format(p.copyPace()) : "-",
              String.format(Locale.ROOT, "%.1f", p.inSyncPercent()),
              Long.toString(p.pendingTracks()), Long.toString(p.changedTracks()),
              reqs.length() == 0 ? "-" : reqs.toString()});
        }
        table(r.out, rows);
      });
      return OK;
    }
  }

  @Command(name = "wait", mixinStandardHelpOptions = true, description = "Wait until the pair reaches a state or a request "
      + "completes (pairevtwait).")
  static final class WaitCmd implements Callable<Integer> {
    @ParentCommand
    PairCmd parent;

    @Parameters(paramLabel = "PAIR")
    String id;

    @Option(names = "--state", description = "e.g. FORMED, SPLIT, EXTENT_SPLIT")
    String state;

    @Option(names = "--request", description = "a request id (as printed by split, resync, "
        + "extent ...)")
    Long request;

    @Option(names = "--timeout", defaultValue = "60s",
        description = "how long to wait: 90s, 10m, 1h (default 60s)")
    String timeout;

    @Override
    public Integer call() throws InterruptedException {
      PairCtl r = parent.root;
      if ((state == null) == (request == null)) {
        throw new Failure(USAGE, "pair wait needs exactly one of --state or --request");
      }
      if (state != null && java.util.Arrays.stream(io.pairkit.api.PairState.values())
          .noneMatch(s -> s.name().equalsIgnoreCase(state))) {
        throw new Failure(USAGE, "--state " + state + " is not a pair state; use one of "
            + java.util.Arrays.toString(io.pairkit.api.PairState.values()));
      }
      Duration limit = duration(timeout);
      long deadline = System.nanoTime() + limit.toNanos();
      boolean terminal = System.console() != null && !r.json;
      ProgressBar bar = null;
      long lastLine = 0;
      try {
        while (true) {
          ControlApi.PairView p = r.call("GET", "pairs/" + seg(id), null, ControlApi.PairView.class);
          ControlApi.RequestView watched = request == null ? null
              : r.call("GET", "pairs/" + seg(id) + "/requests/" + request, null,
                  ControlApi.RequestView.class);
          if (watched != null && (watched.state().equals("failed")
              || watched.state().equals("cancelled"))) {
            throw new Failure(WRONG_STATE, "request " + request + " on pair " + id + " "
                + watched.state() + (watched.error() != null ? ": " + watched.error() : "")
                + "; the pair is " + p.state());
          }
          boolean reached = state != null ? p.state().equalsIgnoreCase(state)
              : watched.finished();
          if (reached) {
            if (bar != null) {
              bar.stepTo(bar.getMax());
              bar.close();
            }
            r.print(p, () -> r.out.println("pair " + p.id() + " " + p.state()
                + (watched != null ? ": " + watched.kind() + " request " + request + " done"
                    + (watched.region() == null || watched.region().isEmpty() ? ""
                        : " on " + watched.region()) + ", copied " + watched.tracksCopied()
                    + " tracks (" + human(watched.bytesCopied()) + ")" : "")));
            return OK;
          }
          if (state != null && p.state().equals("SUSPENDED")
              && !state.equalsIgnoreCase("SUSPENDED")) {
            throw new Failure(WRONG_STATE, "pair " + id + " is SUSPENDED (by pair suspend or "
                + "a backend failure): run pairctl pair resume " + id + " (after fixing the "
                + "backend, if one failed)");
          }
          long total = watched != null ? watched.tracksToCopy() : p.scopeTracks();
          long done = watched != null ? watched.tracksDone()
              : Math.round(p.inSyncPercent() * p.scopeTracks() / 100);
          if (terminal) {
            if (bar == null) {
              bar = new ProgressBarBuilder().setTaskName(id + " " + p.state())
                  .setInitialMax(Math.max(1, total)).setStyle(ProgressBarStyle.ASCII).build();
            }
            bar.maxHint(Math.max(1, total));
            bar.stepTo(done);
            bar.setExtraMessage(p.state());
          } else if (System.nanoTime() - lastLine > 1_000_000_000L && !r.json) {
            r.out.println("pair " + id + " " + p.state() + " " + done + "/" + total
                + " tracks");
            r.out.flush();
            lastLine = System.nanoTime();
          }
          if (System.nanoTime() > deadline) {
            throw new Failure(TIMEOUT, "pair " + id + " is " + p.state() + " after " + timeout
                + (state != null ? ", not " + state.toUpperCase(Locale.ROOT)
                    : ", request " + request + " still running"));
          }
          Thread.sleep(100);
        }
      } finally {
        if (bar != null) {
          bar.close();
        }
      }
    }
  }
}
