/**
 * A short-lived cache of directory listings in front of an object store (`s3.list_cache`, off by
 * default). A client polling a large inbox lists it every few seconds; on S3 each listing is
 * ListObjectsV2 pages of 1,000 keys. Within the TTL a listing is served from memory. This
 * instance's own changes drop the affected listings at once; another instance's changes (many
 * gateways share one bucket) show after at most the TTL — which is why it is off by default, and
 * why the local disk uses inotify instead (dir_cache.ts), which is never stale.
 *
 * Bounded: a directory with more than {@linkcode MAX_ENTRIES_PER_LISTING} entries is never
 * cached, and at most {@linkcode MAX_LISTINGS} listings are kept (the oldest dropped first).
 * Only `list()` is cached; stat, reads and writes go to the store.
 *
 * @module
 */

import { StorageDecorator } from "./decorator.ts";
import type { FileStat, OperationOptions, Storage, WriteHandle, WriteOptions } from "./storage.ts";
import { parentPath } from "./vpath.ts";

/** Entries of one listing beyond which it is not cached (it is read from the store each time). */
export const MAX_ENTRIES_PER_LISTING = 20_000;
/** Listings kept at once. */
export const MAX_LISTINGS = 256;

interface Cached {
  at: number;
  entries: FileStat[];
}

/**
 * `inner` with its listings cached for `ttlMs`. `close()` is forwarded when `inner` has one.
 *
 * @example
 * ```ts
 * import { MemoryStorage } from "./memory.ts";
 * import { withListingTtl } from "./ttl_listing.ts";
 * const storage = withListingTtl(new MemoryStorage(), 5_000);
 * for await (const entry of storage.list("/")) console.log(entry.name);
 * ```
 */
export function withListingTtl<S extends Storage>(inner: S, ttlMs: number): S {
  if (!(ttlMs > 0)) return inner;
  return new TtlListingStorage(inner, ttlMs) as unknown as S;
}

class TtlListingStorage extends StorageDecorator {
  readonly #ttlMs: number;
  /** Listings by directory path, oldest first (Map order). */
  readonly #listings = new Map<string, Cached>();

  constructor(inner: Storage, ttlMs: number) {
    super(inner);
    this.#ttlMs = ttlMs;
  }

  close(): Promise<void> {
    this.#listings.clear();
    return (this.inner as { close?: () => Promise<void> }).close?.() ?? Promise.resolve();
  }

  override list(path: string, options?: OperationOptions): AsyncIterable<FileStat> {
    const cached = this.#listings.get(path);
    if (cached !== undefined && Date.now() - cached.at < this.#ttlMs) {
      return iterate(cached.entries);
    }
    if (cached !== undefined) this.#listings.delete(path);
    return this.#fill(path, options);
  }

  async *#fill(path: string, options?: OperationOptions): AsyncGenerator<FileStat> {
    const at = Date.now();
    const generation = this.#generation;
    let entries: FileStat[] | null = [];
    for await (const entry of this.inner.list(path, options)) {
      if (entries !== null) {
        entries.push(entry);
        if (entries.length > MAX_ENTRIES_PER_LISTING) entries = null;
      }
      yield entry;
    }
    // Only a listing read to its end, with no change of this instance meanwhile, is kept.
    if (entries === null || generation !== this.#generation) return;
    this.#listings.set(path, { at, entries });
    while (this.#listings.size > MAX_LISTINGS) {
      this.#listings.delete(this.#listings.keys().next().value!);
    }
  }

  /** Bumped by every change: a listing that was being read meanwhile is not kept. */
  #generation = 0;

  /** Drops the listings a change at `path` affects: its parent's, and its own and below. */
  #changed(path: string): void {
    this.#generation++;
    this.#listings.delete(parentPath(path));
    const prefix = path === "/" ? "/" : `${path}/`;
    for (const key of [...this.#listings.keys()]) {
      if (key === path || key.startsWith(prefix)) this.#listings.delete(key);
    }
  }

  async #changing<T>(paths: string[], change: () => Promise<T>): Promise<T> {
    for (const path of paths) this.#changed(path);
    try {
      return await change();
    } finally {
      for (const path of paths) this.#changed(path); // and what was listed meanwhile
    }
  }

  override async write(path: string, options?: WriteOptions): Promise<WriteHandle> {
    this.#changed(path);
    const sink = await this.inner.write(path, options);
    const writer = sink.getWriter();
    const done = () => this.#changed(path);
    return new WritableStream<Uint8Array>({
      write: (chunk) => writer.write(chunk),
      close: () => writer.close().finally(done),
      abort: (reason) => writer.abort(reason).finally(done),
    });
  }

  override mkdir(path: string, options?: OperationOptions): Promise<void> {
    return this.#changing([path], () => this.inner.mkdir(path, options));
  }
  override remove(path: string, options?: OperationOptions): Promise<void> {
    return this.#changing([path], () => this.inner.remove(path, options));
  }
  override rmdir(path: string, options?: OperationOptions): Promise<void> {
    return this.#changing([path], () => this.inner.rmdir(path, options));
  }
  override rename(from: string, to: string, options?: OperationOptions): Promise<void> {
    return this.#changing([from, to], () => this.inner.rename(from, to, options));
  }
  override setMtime(path: string, mtime: Date, options?: OperationOptions): Promise<void> {
    return this.#changing([path], () => this.inner.setMtime(path, mtime, options));
  }
  override chmod(path: string, mode: number, options?: OperationOptions): Promise<void> {
    return this.#changing([path], () => this.inner.chmod(path, mode, options));
  }
}

async function* iterate(entries: readonly FileStat[]): AsyncGenerator<FileStat> {
  yield* entries;
}
