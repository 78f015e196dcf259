/**
 * Storages that misbehave on purpose, for tests of what the server does when a back end
 * hiccups: real {@linkcode MemoryStorage} trees with one call made to fail.
 *
 * @module
 */

import { type FileStat, MemoryStorage, StorageError } from "../../src/mod.ts";

/** A memory tree whose first listing fails ("unavailable"), as an object store's request can. */
export class FlakyFirstList extends MemoryStorage {
  /** Listings still to fail. */
  failures = 1;

  override async *list(path: string): AsyncGenerator<FileStat> {
    if (this.failures > 0) {
      this.failures--;
      throw new StorageError("unavailable", path);
    }
    yield* super.list(path);
  }
}
