/**
 * Quotas: a user's tree may hold at most so many bytes and so many files. A decorator around the
 * user's storage, with the usage shared by all of the user's sessions: counted once by walking
 * the tree (at the first login, in the background of that login), then kept up to date by what
 * the sessions do. An upload that would go past the quota fails with `quota` (552, "exceeded
 * storage allocation") at the byte that would cross it; a new file past the file count is
 * refused before anything is written. Files already there are never touched by the refusal
 * (with atomic uploads a replaced file stays as it was too; without, a STOR that fails midway
 * leaves the bytes it got, as any failed upload).
 *
 * Changes made outside the server (another instance on the same bucket, a local user) are not
 * seen until the next process start: the quota is the server's, not the file system's.
 *
 * @module
 */

import { StorageError } from "../errors.ts";
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
import { joinPath } from "./vpath.ts";

/** What a quota allows; absent fields are unlimited. */
export interface QuotaLimits {
  bytes?: number;
  files?: number;
}

/** Directories listed at once while counting a tree. */
const SCAN_CONCURRENCY = 4;

/**
 * What a tree holds, counted once and then kept up to date. One per user (and root), shared by
 * the user's sessions.
 *
 * @example
 * ```ts
 * import { QuotaUsage } from "./quota.ts";
 * import { MemoryStorage } from "./memory.ts";
 * const usage = QuotaUsage.scan(MemoryStorage.from({ "a.txt": "abc" }));
 * await usage.ready;
 * usage.bytes; // 3
 * ```
 */
export class QuotaUsage {
  bytes = 0;
  files = 0;
  /** Resolves when the first count is done (rejects if the tree could not be read). */
  readonly ready: Promise<void>;

  private constructor(ready: (usage: QuotaUsage) => Promise<void>) {
    this.ready = ready(this);
  }

  /** Counts the bytes and files under `/` of `storage`. */
  static scan(storage: Storage): QuotaUsage {
    return new QuotaUsage(async (usage) => {
      const pending = ["/"];
      const worker = async () => {
        while (pending.length > 0) {
          const dir = pending.pop()!;
          for await (const entry of storage.list(dir)) {
            if (entry.type === "dir") pending.push(joinPath(dir, entry.name));
            else {
              usage.bytes += entry.size;
              usage.files++;
            }
          }
        }
      };
      // A few listings at once: an object store answers faster in parallel.
      await Promise.all(Array.from({ length: SCAN_CONCURRENCY }, worker));
    });
  }
}

/**
 * A storage that keeps its user within a {@linkcode QuotaLimits}.
 *
 * @example
 * ```ts
 * import { QuotaStorage, QuotaUsage } from "./quota.ts";
 * import { MemoryStorage } from "./memory.ts";
 * const inner = new MemoryStorage();
 * const storage = new QuotaStorage(inner, { bytes: 1024 }, QuotaUsage.scan(inner));
 * ```
 */
export class QuotaStorage implements Storage {
  readonly #inner: Storage;
  readonly #limits: QuotaLimits;
  readonly #usage: QuotaUsage;

  constructor(inner: Storage, limits: QuotaLimits, usage: QuotaUsage) {
    this.#inner = inner;
    this.#limits = limits;
    this.#usage = usage;
  }

  /** What the user's tree holds now. */
  get usage(): QuotaUsage {
    return this.#usage;
  }

  get capabilities(): StorageCapabilities {
    return this.#inner.capabilities;
  }

  capabilitiesAt(path: string): StorageCapabilities {
    return this.#inner.capabilitiesAt?.(path) ?? this.#inner.capabilities;
  }

  stat(path: string, options?: OperationOptions): Promise<FileStat> {
    return this.#inner.stat(path, options);
  }

  list(path: string, options?: OperationOptions): AsyncIterable<FileStat> {
    return this.#inner.list(path, options);
  }

  read(path: string, options?: ReadOptions): Promise<ReadHandle> {
    return this.#inner.read(path, options);
  }

  mkdir(path: string, options?: OperationOptions): Promise<void> {
    return this.#inner.mkdir(path, options);
  }

  rmdir(path: string, options?: OperationOptions): Promise<void> {
    return this.#inner.rmdir(path, options);
  }

  setMtime(path: string, mtime: Date, options?: OperationOptions): Promise<void> {
    return this.#inner.setMtime(path, mtime, options);
  }

  chmod(path: string, mode: number, options?: OperationOptions): Promise<void> {
    return this.#inner.chmod(path, mode, options);
  }

  async remove(path: string, options?: OperationOptions): Promise<void> {
    await this.#usage.ready;
    const before = await this.#sizeOf(path, options);
    await this.#inner.remove(path, options);
    if (before !== null) this.#forget(before);
  }

  async rename(from: string, to: string, options?: OperationOptions): Promise<void> {
    await this.#usage.ready;
    const replaced = from === to ? null : await this.#sizeOf(to, options);
    await this.#inner.rename(from, to, options);
    if (replaced !== null) this.#forget(replaced);
  }

  async write(path: string, options: WriteOptions = {}): Promise<WriteHandle> {
    await this.#usage.ready;
    const usage = this.#usage;
    const before = await this.#sizeOf(path, options);
    const limits = this.#limits;
    if (before === null && limits.files !== undefined && usage.files >= limits.files) {
      throw new StorageError("quota", path);
    }
    // The bytes that stay of the old file: all of it for APPE, the REST offset for STOR.
    const kept = before === null
      ? 0
      : options.append
      ? before
      : Math.min(options.offset ?? 0, before);
    const sink = await this.#inner.write(path, options);
    const writer = sink.getWriter();
    let written = 0;
    // Counted as the upload goes, so that parallel uploads see each other's bytes.
    const freed = before === null ? 0 : before - kept;
    usage.bytes -= freed;
    if (before === null) usage.files++;
    let settled = false;
    const settle = (complete: boolean) => {
      if (settled) return;
      settled = true;
      // A failed upload with atomic storage leaves the old file: count it back. (Without, the
      // bytes written stay on disk; counting them keeps the quota honest.)
      if (!complete && this.capabilities.atomicReplace) {
        usage.bytes += freed - written;
        if (before === null) usage.files--;
      }
    };
    return new WritableStream<Uint8Array>({
      write: async (chunk) => {
        if (limits.bytes !== undefined && usage.bytes + chunk.length > limits.bytes) {
          const error = new StorageError("quota", path);
          settle(false);
          await writer.abort(error).catch(() => {});
          throw error;
        }
        usage.bytes += chunk.length;
        written += chunk.length;
        await writer.write(chunk);
      },
      close: async () => {
        await writer.close();
        settle(true);
      },
      abort: async (reason) => {
        settle(false);
        await writer.abort(reason);
      },
    });
  }

  /** The size of the file at `path`, or null when there is none. */
  async #sizeOf(path: string, options?: OperationOptions): Promise<number | null> {
    try {
      const stat = await this.#inner.stat(path, options);
      return stat.type === "file" ? stat.size : null;
    } catch (error) {
      if (error instanceof StorageError && error.kind === "not-found") return null;
      throw error;
    }
  }

  #forget(size: number): void {
    this.#usage.bytes -= size;
    this.#usage.files--;
  }
}
