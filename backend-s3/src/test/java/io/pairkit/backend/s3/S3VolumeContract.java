package io.pairkit.backend.s3;

import io.pairkit.testkit.AbstractVolumeContractTest;
import io.pairkit.api.spi.Volume;

/**
 * The volume contract on one S3 store: each volume under a fresh prefix of a bucket the class
 * makes, with 16 KiB chunks so the contract's 64 KiB discard granule frees whole chunks and its
 * 257 KiB volume has many chunks and a partial last one.
 */
abstract class S3VolumeContract extends AbstractVolumeContractTest {
  static final int CHUNK = 16 * 1024;
  private String bucket;

  /** The store; may skip the test (an assumption) when it is not there. */
  abstract TestStore store();

  @Override
  protected Volume createVolume(String name, long size) throws Exception {
    TestStore s = store();
    if (bucket == null) {
      bucket = s.newBucket();
    }
    return s.create(bucket, name, size, CHUNK);
  }

  @Override
  protected boolean supportsReopen() {
    return true;
  }

  @Override
  protected Volume reopen(Volume closed) throws Exception {
    return openAgain(closed);
  }

  @Override
  protected Volume openSecondWriter(Volume open) throws Exception {
    return openAgain(open);
  }

  private Volume openAgain(Volume v) throws Exception {
    S3Settings s = ((S3Volume) v).settings();
    return TestStore.open(store().spec(v.name(), s.bucket()).property("prefix", s.prefix())
        .build());
  }
}
