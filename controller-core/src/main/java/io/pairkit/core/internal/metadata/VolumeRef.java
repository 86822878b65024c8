package io.pairkit.core.internal.metadata;

import java.util.Map;

/**
 * A volume as the metadata records it: enough to reopen it (its spec without secret properties)
 * and to recognise it (size and, where the backend gives one, its volume id).
 *
 * @param name       the volume's name
 * @param type       its backend type
 * @param properties its spec's properties, secrets left out
 * @param size       its size in bytes
 * @param volumeId   the backend's id of the volume, or null where the backend has none
 */
public record VolumeRef(String name, String type, Map<String, String> properties, long size,
    String volumeId) {
}
