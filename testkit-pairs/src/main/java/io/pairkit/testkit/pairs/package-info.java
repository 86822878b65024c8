/**
 * The pair-semantics suite for a product's own volume backend: {@link
 * io.pairkit.testkit.pairs.AbstractPairSemanticsTest}, the model-based concurrency test every
 * backend of PairKit passes (every strategy, both mirror modes, with and without the track
 * cache). A backend's test class extends it and says how to make a volume.
 */
package io.pairkit.testkit.pairs;
