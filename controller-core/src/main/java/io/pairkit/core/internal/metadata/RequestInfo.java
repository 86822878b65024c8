package io.pairkit.core.internal.metadata;

import io.pairkit.api.ExtentSet;

/**
 * A request whose copy the metadata has not recorded as done: it restarts after a reopen.
 *
 * @param id           the request id
 * @param kind         its {@link io.pairkit.api.RequestKind} name
 * @param region       its region in bytes
 * @param drainsMirror whether its copy drains mirrored tracks too
 */
public record RequestInfo(long id, String kind, ExtentSet region, boolean drainsMirror) {
}
