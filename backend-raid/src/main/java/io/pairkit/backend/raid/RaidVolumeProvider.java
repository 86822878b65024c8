package io.pairkit.backend.raid;

import io.pairkit.api.error.VolumeConfigException;
import io.pairkit.api.error.VolumeInUseException;
import io.pairkit.api.spi.ProviderContext;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.VolumeProvider;
import io.pairkit.api.spi.VolumeSpec;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Opens {@code "raid"} volumes: members are opened by their own specs through the
 * {@link ProviderContext}, then the array is created or reassembled. See the package
 * documentation for the properties. Stateless and thread-safe.
 */
public final class RaidVolumeProvider implements VolumeProvider {
  /** The backend type name. */
  public static final String TYPE = "raid";

  @Override
  public String type() {
    return TYPE;
  }

  @Override
  public java.util.Set<String> knownProperties() {
    return java.util.Set.of("level", "stripeUnit", "size", "mode", "bitmapChunk",
        "bitmapClearDelayMs", "pplSlots", "rebuildSpeedLimit", "writeHole", "member.*");
  }

  /** Once created, the array and members that said {@code mode=create} reopen with open. */
  @Override
  public VolumeSpec reopenSpec(VolumeSpec opened) {
    VolumeSpec.Builder b = VolumeSpec.builder(opened.name(), opened.type());
    for (Map.Entry<String, String> e : opened.properties().entrySet()) {
      String key = e.getKey();
      boolean mode = key.equals("mode") || (key.startsWith("member.") && key.endsWith(".mode"));
      b.property(key, mode ? "open" : e.getValue());
    }
    return b.build();
  }

  /** Secret property names of member backends that a member spec may carry. */
  private static final java.util.List<String> MEMBER_SECRETS =
      java.util.List.of("accessKey", "secretKey", "sessionToken", "password", "token");
  private static final java.util.Set<String> SECRETS = memberSecrets();

  private static java.util.Set<String> memberSecrets() {
    java.util.Set<String> keys = new java.util.HashSet<>();
    for (int i = 0; i < 64; i++) {
      for (String k : MEMBER_SECRETS) {
        keys.add("member." + i + "." + k);
      }
    }
    return java.util.Set.copyOf(keys);
  }

  /**
   * Member properties named {@code accessKey}, {@code secretKey}, {@code sessionToken},
   * {@code password} or {@code token}: durable metadata never records them, and a member
   * backend resolves them again from its own configuration on reopen.
   */
  @Override
  public java.util.Set<String> secretProperties() {
    return SECRETS;
  }

  @Override
  public Volume open(VolumeSpec spec, ProviderContext context) throws IOException {
    RaidConfig cfg = RaidConfig.parse(spec);
    List<VolumeSpec> memberSpecs = new ArrayList<>();
    long memberSize = cfg.size() < 0 ? -1 : RaidGeometry.memberSizeFor(cfg.level(),
        cfg.members().size(), cfg.unit(), Math.max(1, cfg.size()), ArrayAssembler.rowsPerBit(cfg),
        cfg.pplSlots());
    for (VolumeSpec m : cfg.members()) {
      // Creating an array creates its members at the size it needs, unless they say otherwise.
      if (cfg.create()) {
        VolumeSpec.Builder b = VolumeSpec.builder(m.name(), m.type()).properties(m.properties());
        if (m.property("mode").isEmpty()) {
          b.property("mode", "create");
        }
        if (m.property("size").isEmpty() && memberSize > 0) {
          b.property("size", memberSize);
        }
        m = b.build();
      }
      memberSpecs.add(m);
    }
    List<Volume> opened = new ArrayList<>();
    List<String> errors = new ArrayList<>();
    try {
      for (VolumeSpec m : memberSpecs) {
        try {
          opened.add(context.openVolume(m));
          errors.add(null);
        } catch (VolumeInUseException e) {
          throw e; // another writer holds it: never assemble around that
        } catch (IOException | VolumeConfigException e) {
          if (cfg.create()) {
            throw new VolumeConfigException("cannot create RAID volume '" + spec.name()
                + "': member " + m.name() + " did not open: " + e.getMessage(), e);
          }
          opened.add(null);
          errors.add(e.getMessage());
        }
      }
    } catch (RuntimeException e) {
      ArrayAssembler.closeAll(opened.toArray(new Volume[0]));
      throw e;
    }
    try {
      return ArrayAssembler.assemble(cfg, opened, errors);
    } catch (RuntimeException | IOException e) {
      ArrayAssembler.closeAll(opened.toArray(new Volume[0]));
      throw e;
    }
  }
}
