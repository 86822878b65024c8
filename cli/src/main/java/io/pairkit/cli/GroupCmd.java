package io.pairkit.cli;

import static io.pairkit.cli.PairCtl.*;

import io.pairkit.control.ControlApi;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** pairctl group: consistency groups, whose requests take one instant across their pairs. */
@Command(name = "group", mixinStandardHelpOptions = true, description = "Consistency groups: "
    + "pairs whose split, resync, extent update and restore take effect at one instant (CTG).",
    subcommands = {GroupCmd.CreateCmd.class, GroupCmd.SplitCmd.class, GroupCmd.ResyncCmd.class,
        GroupCmd.UpdateCmd.class, GroupCmd.RestoreCmd.class, GroupCmd.DisplayCmd.class,
        GroupCmd.DeleteCmd.class})
final class GroupCmd {
  @ParentCommand
  PairCtl root;

  @Command(name = "create", mixinStandardHelpOptions = true, description = "Group pairs: "
      + "group create NAME PAIR PAIR...")
  static final class CreateCmd implements Callable<Integer> {
    @ParentCommand
    GroupCmd parent;

    @Parameters(index = "0", paramLabel = "GROUP")
    String name;

    @Parameters(index = "1..*", paramLabel = "PAIR", arity = "1..*")
    List<String> pairs;

    @Override
    public Integer call() {
      PairCtl r = parent.root;
      ControlApi.GroupView g = r.call("POST", "groups", new ControlApi.CreateGroup(name, pairs),
          ControlApi.GroupView.class);
      r.print(g, () -> r.out.println("group " + g.name() + " created: "
          + g.pairs().stream().map(ControlApi.PairView::id).toList()));
      return OK;
    }
  }

  abstract static class GroupRequestCmd implements Callable<Integer> {
    @ParentCommand
    GroupCmd parent;

    @Parameters(index = "0", paramLabel = "GROUP")
    String name;

    abstract String kind();

    java.util.Map<String, String> extents() {
      return null;
    }

    @Override
    public Integer call() {
      PairCtl r = parent.root;
      ControlApi.RequestView[] qs = r.call("POST", "groups/" + seg(name) + "/requests",
          new ControlApi.GroupRequest(kind(), extents()), ControlApi.RequestView[].class);
      r.print(qs, () -> {
        r.out.println(kind() + " of group " + name + " at one instant:");
        for (ControlApi.RequestView q : qs) {
          r.out.println("  pair " + q.pairId() + ": request " + q.id() + ", "
              + q.tracksToCopy() + " tracks to copy; pairctl pair wait " + q.pairId()
              + " --request " + q.id());
        }
      });
      return OK;
    }
  }

  /** PAIR=EXTENTS words as a map; a malformed one is a usage error. */
  static java.util.Map<String, String> perPairExtents(List<String> perPair) {
    java.util.Map<String, String> out = new java.util.LinkedHashMap<>();
    for (String p : perPair) {
      int eq = p.indexOf('=');
      if (eq <= 0) {
        throw new Failure(USAGE, "'" + p + "' is not PAIR=START-END[,...]");
      }
      checkExtents(p.substring(eq + 1));
      out.put(p.substring(0, eq), p.substring(eq + 1));
    }
    return out;
  }

  @Command(name = "split", mixinStandardHelpOptions = true,
      description = "Split every pair of the group at one instant.")
  static final class SplitCmd extends GroupRequestCmd {
    String kind() {
      return "SPLIT";
    }
  }

  @Command(name = "resync", mixinStandardHelpOptions = true,
      description = "Resync every pair of the group at one instant.")
  static final class ResyncCmd extends GroupRequestCmd {
    String kind() {
      return "RESYNC";
    }
  }

  @Command(name = "update", mixinStandardHelpOptions = true, description = "Extent update of "
      + "every pair at one instant: group update NAME PAIR=START-END[,...] ...")
  static final class UpdateCmd extends GroupRequestCmd {
    @Parameters(index = "1..*", paramLabel = "PAIR=EXTENTS", arity = "1..*")
    List<String> perPair;

    String kind() {
      return "EXTENT_UPDATE";
    }

    @Override
    java.util.Map<String, String> extents() {
      return perPairExtents(perPair);
    }
  }

  @Command(name = "restore", mixinStandardHelpOptions = true, description = "Restore every "
      + "pair's primary from its split copy at one instant: group restore NAME "
      + "[PAIR=START-END[,...] ...] (a pair not named restores all it has split).")
  static final class RestoreCmd extends GroupRequestCmd {
    @Parameters(index = "1..*", paramLabel = "PAIR=EXTENTS", arity = "0..*")
    List<String> perPair = new ArrayList<>();

    String kind() {
      return "RESTORE";
    }

    @Override
    java.util.Map<String, String> extents() {
      return perPairExtents(perPair);
    }
  }

  @Command(name = "display", mixinStandardHelpOptions = true,
      description = "Show groups and their pairs' states.")
  static final class DisplayCmd implements Callable<Integer> {
    @ParentCommand
    GroupCmd parent;

    @Parameters(paramLabel = "GROUP", arity = "0..1")
    String name;

    @Override
    public Integer call() {
      PairCtl r = parent.root;
      ControlApi.GroupView[] gs = r.oneOrAll("groups", name, ControlApi.GroupView.class);
      r.print(gs, () -> {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"GROUP", "PAIR", "P", "S", "STATE", "PENDING", "CHANGED"});
        for (ControlApi.GroupView g : gs) {
          for (ControlApi.PairView p : g.pairs()) {
            rows.add(new String[] {g.name(), p.id(), p.primary(), p.secondary(), p.state(),
                Long.toString(p.pendingTracks()), Long.toString(p.changedTracks())});
          }
        }
        table(r.out, rows);
      });
      return OK;
    }
  }

  @Command(name = "delete", mixinStandardHelpOptions = true,
      description = "Dissolve a group; its pairs stay as they are.")
  static final class DeleteCmd implements Callable<Integer> {
    @ParentCommand
    GroupCmd parent;

    @Parameters(paramLabel = "GROUP")
    String name;

    @Override
    public Integer call() {
      PairCtl r = parent.root;
      ControlApi.GroupView g = r.call("DELETE", "groups/" + seg(name), null,
          ControlApi.GroupView.class);
      r.print(g, () -> r.out.println("group " + g.name() + " deleted; its pairs stay"));
      return OK;
    }
  }
}
