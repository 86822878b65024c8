package io.pairkit.core.internal.metadata;

import io.pairkit.api.ExtentSet;
import java.util.Map;

/**
 * What a pair was created with, as the metadata records it.
 *
 * @param id          the pair's id
 * @param strategy    its {@link io.pairkit.api.PairStrategy} name
 * @param trackSize   its track size in bytes
 * @param scope       its scope in bytes
 * @param wholeVolume whether the scope is the whole volume
 * @param primary     the primary volume
 * @param secondary   the secondary volume
 * @param options     the pair's options by name (its mirror mode, ...), as the engine reads
 *                    them; empty for a pair recorded by format version 1
 */
public record PairInfo(String id, String strategy, int trackSize, ExtentSet scope,
    boolean wholeVolume, VolumeRef primary, VolumeRef secondary, Map<String, String> options) {

  public PairInfo {
    options = java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(options));
  }

  /** The same pair with other options. */
  public PairInfo withOptions(Map<String, String> newOptions) {
    return new PairInfo(id, strategy, trackSize, scope, wholeVolume, primary, secondary,
        newOptions);
  }
}
