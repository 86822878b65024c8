package io.pairkit.backend.raid;

import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.VolumeSpec;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Builds a RAID volume over member volumes the caller opened itself (tests, benchmarks, a product
 * that manages its own disks), with the same properties as a {@code "raid"} spec minus the
 * {@code member.*} ones, which are ignored here.
 */
public final class RaidVolumes {
  private RaidVolumes() {
  }

  /**
   * Creates ({@code mode=create}) or reassembles the array.
   *
   * @param spec    the array's name and properties ({@code level}, {@code stripeUnit}, ...)
   * @param members the members in order; a null entry is a member that could not be opened. The
   *                array owns them from now on and closes them when it closes (or fails to open)
   */
  public static RaidVolume open(VolumeSpec spec, List<Volume> members) throws IOException {
    VolumeSpec.Builder b = VolumeSpec.builder(spec.name(), spec.type());
    spec.properties().forEach((k, v) -> {
      if (!k.startsWith("member.")) {
        b.property(k, v);
      }
    });
    for (int i = 0; i < members.size(); i++) {
      Volume m = members.get(i);
      b.property("member." + i + ".type", "given");
      b.property("member." + i + ".name", m == null ? "missing-" + i : m.name());
    }
    List<String> errors = new ArrayList<>(Collections.nCopies(members.size(), null));
    for (int i = 0; i < members.size(); i++) {
      if (members.get(i) == null) {
        errors.set(i, "not given");
      }
    }
    try {
      RaidConfig cfg = RaidConfig.parse(b.build());
      return ArrayAssembler.assemble(cfg, new ArrayList<>(members), errors);
    } catch (IOException | RuntimeException e) {
      ArrayAssembler.closeAll(members.toArray(new Volume[0]));
      throw e;
    }
  }
}
