package io.pairkit.backend.s3;

/** The volume contract on S3Proxy in this JVM ({@code fencing=none}: it ignores conditions). */
class S3ProxyVolumeContractTest extends S3VolumeContract {
  @Override
  TestStore store() {
    return S3ProxyServer.get();
  }
}
