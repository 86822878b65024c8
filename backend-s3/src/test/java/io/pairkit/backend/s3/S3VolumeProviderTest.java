package io.pairkit.backend.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pairkit.api.error.VolumeConfigException;
import io.pairkit.api.spi.Volume;
import io.pairkit.api.spi.VolumeProvider;
import io.pairkit.api.spi.VolumeSpec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The provider and bad input, on S3Proxy in this JVM: discovery, properties, reopen spec, secrets
 * kept out of messages, and each wrong thing (bucket, credentials, missing or existing volume,
 * manifest of another format or size, chunk object of the wrong size, fencing on a store without
 * conditional writes) refused with a {@link VolumeConfigException} naming it.
 */
@Timeout(60)
class S3VolumeProviderTest {
  private final TestStore store = S3ProxyServer.get();
  private String bucket;
  private String prefix;

  @BeforeEach
  void bucket() {
    bucket = store.newBucket();
    prefix = "vol-" + UUID.randomUUID() + "/";
  }

  private VolumeSpec.Builder spec() {
    return store.spec("v", bucket).property("prefix", prefix);
  }

  private Volume create(long size, int chunk) throws IOException {
    return TestStore.open(spec().property("mode", "create").property("size", size)
        .property("chunkSize", chunk).build());
  }

  private void putObject(String key, byte[] bytes) {
    try (S3Client c = store.client()) {
      c.putObject(b -> b.bucket(bucket).key(key), RequestBody.fromBytes(bytes));
    }
  }

  private static <T extends Throwable> T refused(Class<T> type, String mustContain,
      org.junit.jupiter.api.function.Executable open) {
    T e = assertThrows(type, open);
    assertTrue(e.getMessage().contains(mustContain),
        "message must name '" + mustContain + "': " + e.getMessage());
    return e;
  }

  @Test
  void serviceLoaderFindsTheS3Provider() {
    List<String> types = ServiceLoader.load(VolumeProvider.class).stream()
        .map(p -> p.get().type()).toList();
    assertTrue(types.contains("s3"), types.toString());
  }

  @Test
  void reopenSpecOpensAndSecretsAreDeclared() {
    VolumeSpec created = spec().property("mode", "create").property("size", 1 << 20).build();
    VolumeSpec reopen = TestStore.PROVIDER.reopenSpec(created);
    assertEquals("open", reopen.properties().get("mode"));
    assertEquals(created.properties().get("prefix"), reopen.properties().get("prefix"));
    assertEquals(Set.of("accessKey", "secretKey"), TestStore.PROVIDER.secretProperties());
  }

  @Test
  void createdVolumeIsThinUnfencedWithFencingNoneAndReopensByItsSpec() throws Exception {
    try (Volume v = create(200_000, 64 * 1024)) {
      assertTrue(v.capabilities().thin());
      assertFalse(v.capabilities().fencing());
      assertEquals(64 * 1024, v.capabilities().preferredIoSize());
      assertEquals(16, v.capabilities().concurrency());
      v.write(70_000, ByteBuffer.wrap("hello".getBytes(StandardCharsets.UTF_8)));
      v.flush();
    }
    try (Volume v = TestStore.open(spec().build())) {
      assertEquals(200_000, v.size());
      ByteBuffer b = ByteBuffer.allocate(5);
      v.read(70_000, b);
      assertArrayEquals("hello".getBytes(StandardCharsets.UTF_8), b.array());
    }
  }

  @Test
  void secretsStayOutOfToStringAndMessages() throws Exception {
    String secret = store.secretKey();
    S3Settings settings = S3Settings.parse(spec().build());
    assertFalse(settings.toString().contains(secret), settings.toString());
    assertFalse(settings.toString().contains(store.accessKey()), settings.toString());
    VolumeConfigException wrong = assertThrows(VolumeConfigException.class, () -> TestStore.open(
        spec().property("secretKey", "not-" + secret).build()));
    assertFalse(wrong.getMessage().contains(secret), wrong.getMessage());
    try (Volume v = create(100_000, 16 * 1024)) {
      assertFalse(v.toString().contains(secret), v.toString());
    }
  }

  @Test
  void missingBucketIsNamed() {
    refused(VolumeConfigException.class, "bucket 'no-such-bucket-here' does not exist",
        () -> TestStore.open(store.spec("v", "no-such-bucket-here").build()));
  }

  @Test
  void wrongCredentialsAreRefused() {
    refused(VolumeConfigException.class, "refused the credentials",
        () -> TestStore.open(spec().property("secretKey", "wrong-secret").build()));
  }

  @Test
  void openingAMissingVolumeOrCreatingAnExistingOneIsRefused() throws Exception {
    refused(VolumeConfigException.class, "no volume at", () -> TestStore.open(spec().build()));
    create(100_000, 16 * 1024).close();
    refused(VolumeConfigException.class, "already holds a volume", () -> create(100_000, 16384));
  }

  @Test
  void manifestOfAnotherFormatIsRefused() {
    putObject(prefix + "manifest", ("pairkit-s3-volume\nformatVersion=2\nsize=65536\n"
        + "chunkSize=16384\nvolumeId=x\n").getBytes(StandardCharsets.UTF_8));
    refused(VolumeConfigException.class, "format version 2", () -> TestStore.open(spec().build()));
    putObject(prefix + "manifest", "{\"some\": \"json\"}".getBytes(StandardCharsets.UTF_8));
    refused(VolumeConfigException.class, "is not a PairKit volume manifest",
        () -> TestStore.open(spec().build()));
  }

  @Test
  void manifestOfAnotherSizeOrChunkSizeIsRefused() throws Exception {
    create(100_000, 16 * 1024).close();
    VolumeConfigException e = refused(VolumeConfigException.class, "says size 100000",
        () -> TestStore.open(spec().property("size", 200_000).build()));
    assertTrue(e.getMessage().contains("size=200000"), e.getMessage());
    refused(VolumeConfigException.class, "says chunkSize 16384",
        () -> TestStore.open(spec().property("chunkSize", 65536).build()));
  }

  @Test
  void chunkObjectOfTheWrongSizeIsRefusedAtOpenAndAtRead() throws Exception {
    try (Volume v = create(100_000, 16 * 1024)) {
      v.write(16 * 1024, ByteBuffer.wrap(new byte[100]));
      v.flush();
    }
    try (Volume v = TestStore.open(spec().build())) {
      // Replaced behind the open volume's back: the read sees the wrong size.
      putObject(prefix + "chunks/0000000000000001", new byte[1000]);
      ObjectStore.WrongSizeException e = assertThrows(ObjectStore.WrongSizeException.class,
          () -> v.read(16 * 1024, ByteBuffer.allocate(10)));
      assertTrue(e.getMessage().contains("chunks/0000000000000001 is 1000 bytes"),
          e.getMessage());
    }
    refused(VolumeConfigException.class, "chunks/0000000000000001 is 1000 bytes, expected 16384",
        () -> TestStore.open(spec().build()));
  }

  @Test
  void fencingOnAStoreWithoutConditionalWritesIsRefusedWithTheWayOut() {
    refused(VolumeConfigException.class, "ignores conditional writes", () -> TestStore.open(
        spec().property("fencing", "lease").property("mode", "create").property("size", 65536)
            .build()));
    VolumeConfigException e = assertThrows(VolumeConfigException.class, () -> TestStore.open(
        spec().property("fencing", "lease").property("mode", "create").property("size", 65536)
            .build()));
    assertTrue(e.getMessage().contains("fencing=none"), e.getMessage());
  }

  @Test
  void malformedPropertiesAreNamed() {
    refused(VolumeConfigException.class, "'chunkSize'", () -> TestStore.open(spec()
        .property("mode", "create").property("size", 65536).property("chunkSize", 3000).build()));
    refused(VolumeConfigException.class, "'concurrency'",
        () -> TestStore.open(spec().property("concurrency", "0").build()));
    refused(VolumeConfigException.class, "'fencing'",
        () -> TestStore.open(spec().property("fencing", "maybe").build()));
    refused(VolumeConfigException.class, "mode 'sometimes'",
        () -> TestStore.open(spec().property("mode", "sometimes").build()));
    refused(VolumeConfigException.class, "'trackSize'",
        () -> TestStore.open(spec().property("trackSize", "4096").build()));
    refused(VolumeConfigException.class, "needs property 'bucket'", () -> TestStore.open(
        VolumeSpec.builder("v", "s3").property("endpoint", store.endpoint().toString()).build()));
    refused(VolumeConfigException.class, "only one of 'accessKey' and 'secretKey'",
        () -> TestStore.open(VolumeSpec.builder("v", "s3").property("bucket", bucket)
            .property("accessKey", "x").build()));
    refused(VolumeConfigException.class, "positive size",
        () -> TestStore.open(spec().property("mode", "create").build()));
  }
}
