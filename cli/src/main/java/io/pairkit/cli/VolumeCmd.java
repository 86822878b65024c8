package io.pairkit.cli;

import static io.pairkit.cli.PairCtl.*;

import io.pairkit.control.ControlApi;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** pairctl volume: list, info, status (a RAID set's members), scrub. */
@Command(name = "volume", mixinStandardHelpOptions = true, description = "List or show volumes.",
    subcommands = {VolumeCmd.ListCmd.class, VolumeCmd.InfoCmd.class,
        VolumeCmd.StatusCmd.class, VolumeCmd.ScrubCmd.class})
final class VolumeCmd {
  @ParentCommand
  PairCtl root;

  @Command(name = "list", mixinStandardHelpOptions = true, description = "List the daemon's volumes.")
  static final class ListCmd implements Callable<Integer> {
    @ParentCommand
    VolumeCmd parent;

    @Option(names = "--bytes", description = "sizes in bytes (default: KiB, MiB, GiB, TiB)")
    boolean bytes;

    @Override
    public Integer call() {
      PairCtl r = parent.root;
      ControlApi.VolumeView[] vs = r.call("GET", "volumes", null, ControlApi.VolumeView[].class);
      r.print(vs, () -> {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"VOLUME", "TYPE", "SIZE", "EXPORT", "PAIRS"});
        for (ControlApi.VolumeView v : vs) {
          rows.add(new String[] {v.name(), v.type(), bytes ? Long.toString(v.size())
              : human(v.size()),
              (!v.exported() ? "-" : v.exportReadOnly() ? "ro" : "rw")
                  + (v.incomplete() != null ? " INCOMPLETE" : ""),
              v.pairs().isEmpty() ? "-" : String.join(",", v.pairs())});
        }
        table(r.out, rows);
      });
      return OK;
    }
  }

  @Command(name = "status", mixinStandardHelpOptions = true, description = "Backend health: "
      + "degraded or not, RAID members, rebuild progress.")
  static final class StatusCmd implements Callable<Integer> {
    @ParentCommand
    VolumeCmd parent;

    @Parameters(paramLabel = "VOLUME", arity = "0..1")
    String name;

    @Override
    public Integer call() {
      PairCtl r = parent.root;
      ControlApi.VolumeView[] vs = r.oneOrAll("volumes", name, ControlApi.VolumeView.class);
      r.print(vs, () -> {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"VOLUME", "HEALTH", "PART", "STATE", "IN SYNC", "ERROR"});
        for (ControlApi.VolumeView v : vs) {
          ControlApi.HealthView h = v.health();
          rows.add(new String[] {v.name(), h.degraded() ? "DEGRADED" : "ok", "-", "-", "-",
              h.summary()});
          for (ControlApi.PartView part : h.parts()) {
            rows.add(new String[] {"", "", part.name(), part.state(),
                part.totalBytes() == 0 ? "-" : (100 * part.doneBytes() / part.totalBytes())
                    + "%", part.lastError() == null ? "-" : part.lastError()});
          }
        }
        table(r.out, rows);
      });
      return OK;
    }
  }

  @Command(name = "scrub", mixinStandardHelpOptions = true, description = "Read every stripe "
      + "of a RAID volume and count those whose parity or mirrors disagree with the data "
      + "(md's check); --repair makes them consistent (md's repair). Exit 7 if it found "
      + "inconsistent stripes it did not repair.")
  static final class ScrubCmd implements Callable<Integer> {
    @ParentCommand
    VolumeCmd parent;

    @Parameters(paramLabel = "VOLUME")
    String name;

    @Option(names = "--repair", description = "rewrite the parity (RAID-5) or copy the first "
        + "mirror over the others (RAID-1) where they disagree")
    boolean repair;

    @Override
    public Integer call() {
      PairCtl r = parent.root;
      ControlApi.ScrubView s = r.call("POST", "volumes/" + seg(name) + "/scrub"
          + (repair ? "?repair=true" : ""), java.util.Map.of(), ControlApi.ScrubView.class);
      r.print(s, () -> r.out.println("volume " + s.volume() + ": " + s.summary()
          + (s.firstOffsets().isEmpty() ? "" : "; first at bytes " + s.firstOffsets())));
      return s.mismatches() > s.repaired() ? DIFFERENT : OK;
    }
  }

  @Command(name = "info", mixinStandardHelpOptions = true, description = "Show one volume.")
  static final class InfoCmd implements Callable<Integer> {
    @ParentCommand
    VolumeCmd parent;

    @Parameters(paramLabel = "VOLUME")
    String name;

    @Override
    public Integer call() {
      PairCtl r = parent.root;
      ControlApi.VolumeView v = r.call("GET", "volumes/" + seg(name), null,
          ControlApi.VolumeView.class);
      r.print(v, () -> {
        r.out.println("volume:  " + v.name());
        r.out.println("type:    " + v.type());
        r.out.println("size:    " + human(v.size()) + " (" + v.size() + " bytes)");
        r.out.println("export:  " + (!v.exported() ? "no" : v.exportReadOnly() ? "read-only"
            : "read-write"));
        r.out.println("pairs:   " + (v.pairs().isEmpty() ? "-" : String.join(", ", v.pairs())));
        if (v.incomplete() != null) {
          r.out.println("INCOMPLETE: " + v.incomplete());
        }
      });
      return OK;
    }
  }
}
