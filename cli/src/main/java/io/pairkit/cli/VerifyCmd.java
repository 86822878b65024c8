package io.pairkit.cli;

import static io.pairkit.cli.PairCtl.*;

import io.pairkit.control.ControlApi;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** pairctl verify: two volumes compared track by track over extents, the differing tracks listed. */
@Command(name = "verify", mixinStandardHelpOptions = true, description = "Compare two volumes track by track over extents and "
    + "list the tracks that differ.")
final class VerifyCmd implements Callable<Integer> {
  @ParentCommand
  PairCtl root;

  @Parameters(index = "0", paramLabel = "PRIMARY")
  String primary;

  @Parameters(index = "1", paramLabel = "SECONDARY")
  String secondary;

  @Option(names = "--extents", description = "START-END[,...] (default: all)")
  String extents;

  @Override
  public Integer call() {
    if (extents != null) {
      checkExtents(extents);
    }
    ControlApi.VerifyResult v = root.call("POST", "verify",
        new ControlApi.Verify(primary, secondary, extents), ControlApi.VerifyResult.class);
    root.print(v, () -> {
      root.out.println(v.tracksCompared() + " tracks compared, " + v.tracksDiffering()
          + " differ");
      for (long[] range : v.differingTrackRanges()) {
        root.out.println("  tracks " + range[0] + "-" + (range[1] - 1) + " (bytes "
            + range[0] * v.trackSize() + "-" + range[1] * v.trackSize() + ")");
      }
    });
    return v.tracksDiffering() == 0 ? OK : DIFFERENT;
  }
}
