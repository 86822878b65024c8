package io.pairkit.backend.s3;

/** The pair-semantics suite on Ceph RGW ({@code fencing=lease}); skipped without RGW. */
class RgwPairSemanticsTest extends S3PairSemantics {
  @Override
  TestStore store() {
    return RgwStore.assume();
  }
}
