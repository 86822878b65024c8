package io.pairkit.core.metadata;

import io.pairkit.api.ExtentSet;

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
 */
public record PairInfo(String id, String strategy, int trackSize, ExtentSet scope,
    boolean wholeVolume, VolumeRef primary, VolumeRef secondary) {
}
