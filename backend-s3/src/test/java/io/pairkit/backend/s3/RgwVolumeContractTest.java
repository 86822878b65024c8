package io.pairkit.backend.s3;

/**
 * The volume contract on Ceph RGW, with {@code fencing=lease}: the contract's second-writer test
 * runs too. Skipped, printing why, when no RGW runs (see {@link RgwStore}).
 */
class RgwVolumeContractTest extends S3VolumeContract {
  @Override
  TestStore store() {
    return RgwStore.assume();
  }
}
