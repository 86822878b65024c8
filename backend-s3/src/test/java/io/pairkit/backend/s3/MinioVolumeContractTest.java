package io.pairkit.backend.s3;

import java.net.URI;
import org.testcontainers.containers.MinIOContainer;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;

/**
 * The volume contract on MinIO in a container, with {@code fencing=lease} (MinIO honours
 * conditional writes). Needs a Docker engine; without one the class is skipped (these machines
 * have none, so it runs only where Docker does).
 */
@Testcontainers(disabledWithoutDocker = true)
class MinioVolumeContractTest extends S3VolumeContract {
  @Container
  static final MinIOContainer MINIO = new MinIOContainer("minio/minio:RELEASE.2025-04-22T22-12-26Z");

  @Override
  TestStore store() {
    return new TestStore("MinIO (Testcontainers)", URI.create(MINIO.getS3URL()),
        MINIO.getUserName(), MINIO.getPassword(), true);
  }
}
