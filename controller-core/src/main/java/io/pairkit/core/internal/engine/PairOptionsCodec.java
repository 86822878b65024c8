package io.pairkit.core.internal.engine;

import io.pairkit.api.MirrorMode;
import io.pairkit.api.PairOptions;
import java.util.LinkedHashMap;
import java.util.Map;

/** A pair's options as the metadata records them: a map of names to values. */
final class PairOptionsCodec {
  static final String MIRROR_MODE = "mirrorMode";
  static final String COPY_PACE = "copyPace";
  static final String INITIAL_COPY = "initialCopy";

  private PairOptionsCodec() {
  }

  static Map<String, String> toMap(PairOptions options) {
    Map<String, String> out = new LinkedHashMap<>();
    out.put(MIRROR_MODE, options.mirrorMode().name());
    out.put(COPY_PACE, Long.toString(options.copyPace()));
    out.put(INITIAL_COPY, Boolean.toString(options.initialCopy()));
    return out;
  }

  /** The options a map records; what it leaves out takes the default (version 1 has none). */
  static PairOptions fromMap(Map<String, String> map) {
    PairOptions o = PairOptions.defaults();
    String mode = map.get(MIRROR_MODE);
    if (mode != null) {
      o = o.withMirrorMode(MirrorMode.valueOf(mode));
    }
    String pace = map.get(COPY_PACE);
    if (pace != null) {
      o = o.withCopyPace(Long.parseLong(pace));
    }
    String copy = map.get(INITIAL_COPY);
    if (copy != null) {
      o = o.withInitialCopy(Boolean.parseBoolean(copy));
    }
    return o;
  }
}
