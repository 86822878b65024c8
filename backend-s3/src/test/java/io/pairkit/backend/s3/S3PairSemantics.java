package io.pairkit.backend.s3;

import io.pairkit.api.spi.Volume;
import io.pairkit.testkit.pairs.AbstractPairSemanticsTest;
import java.util.List;

/**
 * The shared pair-semantics suite over S3 volumes (16 KiB chunks, so the suite's 384 KiB
 * volumes have 24 chunks and its 4 KiB tracks share chunks): one seed straight over the volumes
 * and one through the track cache, as for file volumes.
 */
abstract class S3PairSemantics extends AbstractPairSemanticsTest {
  private String bucket;

  abstract TestStore store();

  @Override
  protected Volume createVolume(String name, long size) throws Exception {
    TestStore s = store();
    if (bucket == null) {
      bucket = s.newBucket();
    }
    return s.create(bucket, name, size, 16 * 1024);
  }

  @Override
  protected List<Long> seeds() {
    return List.of(100L);
  }

  @Override
  protected List<Long> trackCacheSeeds() {
    return List.of(300L);
  }
}
