/**
 * Runnable programs that show PairKit at work. {@link io.pairkit.examples.Demo} is the main demo:
 * file volumes in a temporary folder, a volume pair split under live host writes, an extent update
 * of one file's extents, and an extent pair, each verified by checksum.
 */
package io.pairkit.examples;
