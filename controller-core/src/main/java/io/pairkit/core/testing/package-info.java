/**
 * For test kits, not for production: a controller whose request instants a test can observe,
 * which is what a model-based test of point-in-time copies needs (the pair-semantics suite of
 * {@code pairkit-testkit-pairs} is built on it). Exported so that a product's own test suites
 * may use it too; it changes no behaviour of the pairs it runs.
 */
package io.pairkit.core.testing;
