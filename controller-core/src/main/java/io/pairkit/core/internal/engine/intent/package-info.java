/**
 * Durable write intent at region granularity (Linux md's write-intent bitmap chunks): what a
 * durable pair must record before host data may land, and when a region may be recorded exact
 * again. {@link io.pairkit.core.internal.engine.intent.WriteIntent} holds one pair's in-memory side:
 * region arithmetic, which regions are durably dirty (checked without a lock on every write),
 * which were written lately, and which took synchronous mirror writes not yet made durable. The
 * journal calls and the cleaning rounds that use it are in the engine package; the rules are in
 * docs/RELIABILITY.md.
 */
package io.pairkit.core.internal.engine.intent;
