package io.pairkit.core.internal.metadata;

import java.io.IOException;
import java.util.List;

/**
 * The files of a metadata directory, as the metadata store uses them: append-only journals and
 * atomically replaced checkpoints. The real one is {@link DirectoryStorage}; crash tests record
 * every call and rebuild what a crash at any point could leave.
 *
 * <p>Durability: {@link #append} bytes are durable once a later {@link #sync} of that file
 * returns; {@link #replace} is atomic and durable when it returns (the old content or the new,
 * never a mix); {@link #delete} is durable when it returns. A crash may leave any prefix of the
 * unsynced appends of a file, torn at any byte.
 *
 * <p>Threading: callers serialise calls per file.
 */
public interface MetaStorage extends AutoCloseable {

  /** Appends {@code data} to {@code file}, creating it if missing. */
  void append(String file, byte[] data) throws IOException;

  /** Makes every append to {@code file} so far durable. */
  void sync(String file) throws IOException;

  /** The whole content of {@code file}, or null if it does not exist. */
  byte[] read(String file) throws IOException;

  /** Replaces {@code file} by {@code content} atomically and durably. */
  void replace(String file, byte[] content) throws IOException;

  /** Deletes {@code file} durably; nothing if it does not exist. */
  void delete(String file) throws IOException;

  /** The files there are, by name. */
  List<String> list() throws IOException;

  /** Where the files are, for messages. */
  String describe();

  @Override
  void close() throws IOException;
}
