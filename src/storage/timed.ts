/**
 * Storage calls timed for the `ftpgate_storage_operation_duration_seconds` histogram: a
 * decorator that reports each call's back end, name, duration and outcome as a
 * `storage-operation` event. A listing counts until its last entry (what a slow object store
 * costs a LIST), a read or write until its handle is open.
 *
 * @module
 */

import type { StorageOperationEvent } from "../events.ts";
import { StorageDecorator } from "./decorator.ts";
import type {
  FileStat,
  OperationOptions,
  ReadHandle,
  ReadOptions,
  Storage,
  WriteHandle,
  WriteOptions,
} from "./storage.ts";

/**
 * `inner` with every call reported to `report`.
 *
 * @example
 * ```ts
 * import { MemoryStorage } from "./memory.ts";
 * import { withTiming } from "./timed.ts";
 * const storage = withTiming(new MemoryStorage(), (event) => console.log(event.operation));
 * await storage.mkdir("/in"); // "mkdir"
 * ```
 */
export function withTiming(
  inner: Storage,
  report: (event: StorageOperationEvent) => void,
): Storage {
  return new TimedStorage(inner, report);
}

class TimedStorage extends StorageDecorator {
  readonly #report: (event: StorageOperationEvent) => void;

  constructor(inner: Storage, report: (event: StorageOperationEvent) => void) {
    super(inner);
    this.#report = report;
  }

  async #timed<T>(operation: string, path: string, call: () => Promise<T>): Promise<T> {
    const started = performance.now();
    let ok = false;
    try {
      const result = await call();
      ok = true;
      return result;
    } finally {
      this.#report({
        type: "storage-operation",
        backend: this.backendAt(path),
        operation,
        durationMs: performance.now() - started,
        ok,
      });
    }
  }

  override stat(path: string, options?: OperationOptions): Promise<FileStat> {
    return this.#timed("stat", path, () => this.inner.stat(path, options));
  }
  override read(path: string, options?: ReadOptions): Promise<ReadHandle> {
    return this.#timed("read", path, () => this.inner.read(path, options));
  }
  override write(path: string, options?: WriteOptions): Promise<WriteHandle> {
    return this.#timed("write", path, () => this.inner.write(path, options));
  }
  override mkdir(path: string, options?: OperationOptions): Promise<void> {
    return this.#timed("mkdir", path, () => this.inner.mkdir(path, options));
  }
  override remove(path: string, options?: OperationOptions): Promise<void> {
    return this.#timed("remove", path, () => this.inner.remove(path, options));
  }
  override rmdir(path: string, options?: OperationOptions): Promise<void> {
    return this.#timed("rmdir", path, () => this.inner.rmdir(path, options));
  }
  override rename(from: string, to: string, options?: OperationOptions): Promise<void> {
    return this.#timed("rename", from, () => this.inner.rename(from, to, options));
  }
  override setMtime(path: string, mtime: Date, options?: OperationOptions): Promise<void> {
    return this.#timed("setMtime", path, () => this.inner.setMtime(path, mtime, options));
  }
  override chmod(path: string, mode: number, options?: OperationOptions): Promise<void> {
    return this.#timed("chmod", path, () => this.inner.chmod(path, mode, options));
  }

  override async *list(path: string, options?: OperationOptions): AsyncGenerator<FileStat> {
    const started = performance.now();
    let ok = false;
    try {
      yield* this.inner.list(path, options);
      ok = true;
    } finally {
      this.#report({
        type: "storage-operation",
        backend: this.backendAt(path),
        operation: "list",
        durationMs: performance.now() - started,
        ok,
      });
    }
  }
}
