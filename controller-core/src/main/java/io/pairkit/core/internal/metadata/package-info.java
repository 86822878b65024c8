/**
 * Durable pair metadata (docs/RELIABILITY.md): {@link io.pairkit.core.internal.metadata.MetadataStore}
 * keeps a journal of records with group commit and periodic checkpoints in a
 * {@link io.pairkit.core.internal.metadata.MetaStorage} ({@link io.pairkit.core.internal.metadata.DirectoryStorage}
 * on a locked directory), and rebuilds the pair table and the durable bits from them on open.
 * {@code DurableState} is the one place records are applied, for recovery and for the running
 * store alike; {@code RecordCodec} is the framing (length, CRC-32C by the API's
 * {@code Checksums}, type). The engine reaches it through
 * {@link io.pairkit.core.internal.engine.bitmap.BitmapJournal}. Internal: not API.
 */
package io.pairkit.core.internal.metadata;
