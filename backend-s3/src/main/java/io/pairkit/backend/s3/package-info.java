/**
 * Object-store volumes, type name {@code "s3"}: a volume is a manifest object plus one object per
 * fixed-size chunk in an S3 bucket (AWS S3, Ceph RGW, MinIO, S3Proxy), through the AWS SDK for
 * Java v2 with the Apache HTTP client.
 *
 * <p>Properties: {@code bucket} (required, must exist); {@code prefix} (key prefix of the volume's
 * objects, default the volume name); {@code endpoint} (URL; default AWS); {@code region}
 * (default {@code us-east-1}); {@code pathStyle} ({@code true} by default when an endpoint is
 * given); {@code accessKey} and {@code secretKey} (both or neither; without them the SDK's
 * default credential chain; both are {@code secretProperties()}, never printed); {@code size}
 * (required to create, checked on open); {@code chunkSize} (power of two, 4 KiB to 16 MiB,
 * default 4 MiB; fixed at create); {@code mode} = {@code open} (default) or {@code create};
 * {@code concurrency} (S3 requests in flight per volume, default 16); {@code fencing} =
 * {@code lease} (default: a single-writer lease taken with conditional writes) or {@code none};
 * {@code leaseSeconds} (lease validity without renewal, default 30).
 *
 * <p>Layout under the prefix: {@code manifest} (format version, size, chunk size, volume id),
 * {@code lease} (holder and expiry), {@code chunks/<16 hex digits>} (one object per chunk that
 * holds data; a missing chunk reads as zeros). Who uses it: the engine, through
 * {@link io.pairkit.api.spi.VolumeProvider} found by {@link java.util.ServiceLoader}. The classes:
 * {@link io.pairkit.backend.s3.S3VolumeProvider} (spec, shared clients),
 * {@link io.pairkit.backend.s3.S3Volume} (layout, ranges, open and create), {@code ChunkBuffer}
 * (write-back of whole chunks, with {@code BufferRoom} for its memory bound, {@code Uploads},
 * {@code BaseLoader} and {@code Prefetcher} for its background work), {@code Lease} (fencing),
 * {@code ObjectStore} (S3 calls, in-flight bound, typed errors), {@code Manifest},
 * {@code S3Settings}.
 */
package io.pairkit.backend.s3;
