/**
 * The track cache's settings ({@link io.pairkit.core.cache.TrackCacheConfig}): capacity, write-back
 * or write-through, destage pace. The cache itself (off-heap track slots between the engine and
 * the backends) is internal; chronicle-bytes needs the JVM flags listed in the README.
 */
package io.pairkit.core.cache;
