/**
 * The base of storage decorators (quota, faults, timing, the listing TTL cache): every call and
 * every fact (capabilities, back end, real virtual paths) forwarded to the storage it wraps, so
 * that a decorator states only what it changes.
 *
 * @module
 */

import type {
  FileStat,
  OperationOptions,
  ReadHandle,
  ReadOptions,
  Storage,
  StorageCapabilities,
  WriteHandle,
  WriteOptions,
} from "./storage.ts";

/**
 * A storage that is `inner` until a subclass overrides a call.
 *
 * @example
 * ```ts
 * import { StorageDecorator } from "./decorator.ts";
 * import { MemoryStorage } from "./memory.ts";
 * class ReadCounting extends StorageDecorator {
 *   reads = 0;
 *   override read(...args: Parameters<StorageDecorator["read"]>) {
 *     this.reads++;
 *     return super.read(...args);
 *   }
 * }
 * new ReadCounting(new MemoryStorage()).backend; // "memory"
 * ```
 */
export class StorageDecorator implements Storage {
  /** The storage every call goes to unless overridden. */
  protected readonly inner: Storage;
  /** The inner storage's, when it has one (a decorator does not move anything). */
  readonly realVirtualPath?: (path: string, options?: OperationOptions) => Promise<string>;

  constructor(inner: Storage) {
    this.inner = inner;
    if (inner.realVirtualPath !== undefined) {
      this.realVirtualPath = (path, options) => inner.realVirtualPath!(path, options);
    }
  }

  get capabilities(): StorageCapabilities {
    return this.inner.capabilities;
  }
  get backend(): string | undefined {
    return this.inner.backend;
  }
  capabilitiesAt(path: string): StorageCapabilities {
    return this.inner.capabilitiesAt?.(path) ?? this.inner.capabilities;
  }
  backendAt(path: string): string {
    return this.inner.backendAt?.(path) ?? this.inner.backend ?? "custom";
  }

  stat(path: string, options?: OperationOptions): Promise<FileStat> {
    return this.inner.stat(path, options);
  }
  list(path: string, options?: OperationOptions): AsyncIterable<FileStat> {
    return this.inner.list(path, options);
  }
  read(path: string, options?: ReadOptions): Promise<ReadHandle> {
    return this.inner.read(path, options);
  }
  write(path: string, options?: WriteOptions): Promise<WriteHandle> {
    return this.inner.write(path, options);
  }
  mkdir(path: string, options?: OperationOptions): Promise<void> {
    return this.inner.mkdir(path, options);
  }
  remove(path: string, options?: OperationOptions): Promise<void> {
    return this.inner.remove(path, options);
  }
  rmdir(path: string, options?: OperationOptions): Promise<void> {
    return this.inner.rmdir(path, options);
  }
  rename(from: string, to: string, options?: OperationOptions): Promise<void> {
    return this.inner.rename(from, to, options);
  }
  setMtime(path: string, mtime: Date, options?: OperationOptions): Promise<void> {
    return this.inner.setMtime(path, mtime, options);
  }
  chmod(path: string, mode: number, options?: OperationOptions): Promise<void> {
    return this.inner.chmod(path, mode, options);
  }
}
