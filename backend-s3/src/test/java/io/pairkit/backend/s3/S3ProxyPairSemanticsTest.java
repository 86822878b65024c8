package io.pairkit.backend.s3;

/** The pair-semantics suite on S3Proxy in this JVM ({@code fencing=none}). */
class S3ProxyPairSemanticsTest extends S3PairSemantics {
  @Override
  TestStore store() {
    return S3ProxyServer.get();
  }
}
