package io.pairkit.cli;

import static io.pairkit.cli.PairCtl.*;

import io.pairkit.control.ExtentSyntax;
import io.pairkit.control.ControlApi;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** pairctl extent: update, split and join of extents of a pair. */
@Command(name = "extent", mixinStandardHelpOptions = true, description = "Extent update, split and join.",
    subcommands = {ExtentCmd.UpdateCmd.class, ExtentCmd.SplitCmd.class,
        ExtentCmd.JoinCmd.class})
final class ExtentCmd {
  @ParentCommand
  PairCtl root;

  abstract static class ExtentRequest implements Callable<Integer> {
    @ParentCommand
    ExtentCmd parent;

    @Parameters(index = "0", paramLabel = "PAIR")
    String id;

    @Parameters(index = "1", paramLabel = "EXTENTS",
        description = "START-END[,START-END...], END exclusive, k/m/g suffixes")
    String extents;

    abstract String kind();

    @Override
    public Integer call() {
      PairCtl r = parent.root;
      String normal = r.normalisedExtents(extents);
      int code = submit(r, id, kind(), normal);
      if (!r.json && kind().equals("EXTENT_UPDATE")) {
        ControlApi.PairView p = r.call("GET", "pairs/" + seg(id), null,
            ControlApi.PairView.class);
        long asked = 0;
        for (io.pairkit.api.Extent e : ExtentSyntax.parse(normal).extents()) {
          asked += e.end() - e.start();
        }
        r.out.println("asked for " + asked + " bytes; exactly these are refreshed from "
            + p.primary() + " (a " + human(p.trackSize()) + " track they cover only in part "
            + "keeps its other bytes and stays marked changed)");
      }
      return code;
    }
  }

  @Command(name = "update", mixinStandardHelpOptions = true, description = "Refresh only these extents of a split copy.")
  static final class UpdateCmd extends ExtentRequest {
    String kind() {
      return "EXTENT_UPDATE";
    }
  }

  @Command(name = "split", mixinStandardHelpOptions = true, description = "Freeze these extents; the rest keeps mirroring.")
  static final class SplitCmd extends ExtentRequest {
    String kind() {
      return "EXTENT_SPLIT";
    }
  }

  @Command(name = "join", mixinStandardHelpOptions = true, description = "Unfreeze these extents and copy their differences.")
  static final class JoinCmd extends ExtentRequest {
    String kind() {
      return "EXTENT_JOIN";
    }
  }
}
