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
 * The count follows what is on disk, not what was asked for:
 * - Without atomic uploads, the old file is cut (REST offset, or to nothing) only when the first
 *   byte is written (`LocalStorage` opens the file then): its bytes count as freed from that
 *   byte on, and an upload that ends without one changes nothing. What a failed upload left is
 *   read back (a stat) when it ends.
 * - With atomic uploads, the old file stays until the commit: it is counted until then, and the
 *   upload may use its room (so that a file can be replaced near the quota), but no other upload
 *   may. The commit replaces whatever the count holds at the path *then*: a DELE or a rename of
 *   the old file during the upload (allowed) has moved it out of the way already.
 * - A new file is counted from the moment its upload opens (so that parallel uploads cannot
 *   all take the last place), and given back if the upload leaves no file.
 * - A delete, a rename and an upload's commit on the same path never interleave: each is one
 *   step for the count. A delete or rename of a file that an upload without atomic replacement
 *   is writing (or of a directory above it) gets `busy` (450): the bytes would end up somewhere
 *   the count cannot follow. A second upload of a file being uploaded gets `busy` too.
 * - A count that fails (an object store's hiccup) is no error of the login: it is started again
 *   by the next change or login, which waits for it.
 *
 * Changes made outside the server (another instance on the same bucket, a local user) are not
 * seen until the next count: the quota is the server's, not the file system's.
 *
 * @module
 */

import { StorageError } from "../errors.ts";
import { StorageDecorator } from "./decorator.ts";
import type { OperationOptions, Storage, WriteHandle, WriteOptions } from "./storage.ts";
import { joinPath } from "./vpath.ts";

/** What a quota allows; absent fields are unlimited. */
export interface QuotaLimits {
  bytes?: number;
  files?: number;
}

/** Directories listed at once while counting a tree. */
const SCAN_CONCURRENCY = 4;

/** An upload in progress, as the count sees it. */
interface PendingUpload {
  /** The back end replaces the file in one step at the commit (the old file stays until then). */
  readonly atomic: boolean;
  /** Bytes of the old file that the new one starts with (APPE, REST + STOR). */
  readonly kept: number;
  /**
   * Size of the file at the path that the commit will replace, as counted (null: none). A
   * delete or rename during an atomic upload changes it.
   */
  replaces: number | null;
}

/**
 * What a tree holds, counted once and then kept up to date. One per user and tree, shared by
 * the user's sessions (and the uploads, deletes and renames in progress among them).
 *
 * @example
 * ```ts
 * import { QuotaUsage } from "./quota.ts";
 * import { MemoryStorage } from "./memory.ts";
 * const usage = QuotaUsage.scan(MemoryStorage.from({ "a.txt": "abc" }));
 * await usage.counted();
 * usage.bytes; // 3
 * ```
 */
export class QuotaUsage {
  /** Bytes of the files, plus what uploads in progress have written. */
  bytes = 0;
  /** Files, plus the new files being uploaded. */
  files = 0;
  readonly #storage: Storage;
  readonly #onError: ((error: unknown) => void) | undefined;
  #count: Promise<void>;
  #failed = false;
  /** Uploads in progress, by path. */
  readonly #pending = new Map<string, PendingUpload>();
  /** Paths with a delete, rename or commit under way (see {@linkcode QuotaUsage.exclusive}). */
  readonly #locks = new Map<string, Promise<void>>();

  private constructor(storage: Storage, onError: ((error: unknown) => void) | undefined) {
    this.#storage = storage;
    this.#onError = onError;
    this.#count = this.#start();
  }

  /**
   * Starts counting the bytes and files under `/` of `storage`. A failed count calls `onError`
   * (for the log) and is started again by the next {@linkcode QuotaUsage.counted}.
   */
  static scan(storage: Storage, onError?: (error: unknown) => void): QuotaUsage {
    return new QuotaUsage(storage, onError);
  }

  /** The last count failed; the next {@linkcode QuotaUsage.counted} starts another. */
  get failed(): boolean {
    return this.#failed;
  }

  /**
   * Resolves once the tree has been counted; after a failed count, starts a new one first.
   * Rejects when the count it waits for fails (nothing is changed then).
   */
  counted(): Promise<void> {
    if (this.#failed) {
      this.#failed = false;
      this.#count = this.#start();
    }
    return this.#count;
  }

  #start(): Promise<void> {
    const count = countTree(this.#storage).then(
      (counted) => {
        // Nothing changes the tree before the count is done: every change waits for it.
        this.bytes = counted.bytes;
        this.files = counted.files;
      },
      (error) => {
        this.#failed = true;
        this.#onError?.(error);
        throw error;
      },
    );
    // A login does not wait for the count: its failure must not be an unhandled rejection
    // (which ends a process that embeds the server). Whoever awaits it sees the error.
    count.catch(() => {});
    return count;
  }

  /** @internal The upload in progress at `path`. */
  pendingAt(path: string): PendingUpload | undefined {
    return this.#pending.get(path);
  }

  /** @internal Every upload in progress. */
  pendingEntries(): IterableIterator<[string, PendingUpload]> {
    return this.#pending.entries();
  }

  /** @internal */
  setPending(path: string, upload: PendingUpload | null): void {
    if (upload === null) this.#pending.delete(path);
    else this.#pending.set(path, upload);
  }

  /**
   * @internal The bytes that commits of atomic uploads other than `except` may add beyond what
   * is counted (an APPE that keeps more than the file now at its path): room nobody else may use.
   */
  commitGrowth(except: PendingUpload | null): number {
    let growth = 0;
    for (const upload of this.#pending.values()) {
      if (upload !== except && upload.atomic) {
        growth += Math.max(0, upload.kept - (upload.replaces ?? 0));
      }
    }
    return growth;
  }

  /**
   * @internal Runs `fn` when no other delete, rename or commit of these paths runs, and keeps
   * them off until it is done: the stat before and the change after are one step for the count.
   */
  async exclusive<T>(paths: readonly string[], fn: () => Promise<T>): Promise<T> {
    for (;;) {
      const held = paths.flatMap((path) => this.#locks.get(path) ?? []);
      if (held.length === 0) break;
      await Promise.all(held); // lock promises never reject
    }
    const { promise, resolve } = Promise.withResolvers<void>();
    for (const path of paths) this.#locks.set(path, promise);
    try {
      return await fn();
    } finally {
      for (const path of paths) this.#locks.delete(path);
      resolve();
    }
  }
}

/**
 * The bytes and files of a tree: {@linkcode SCAN_CONCURRENCY} listings at once (an object store
 * answers faster in parallel), each worker taking the next directory any of them found.
 */
async function countTree(storage: Storage): Promise<{ bytes: number; files: number }> {
  let bytes = 0;
  let files = 0;
  const queue = ["/"];
  let listing = 0;
  let failed = false;
  const idle: (() => void)[] = [];
  const wakeAll = () => {
    for (const wake of idle.splice(0)) wake();
  };
  const worker = async () => {
    while (!failed) {
      const dir = queue.pop();
      if (dir === undefined) {
        if (listing === 0) return wakeAll();
        // Another worker is still listing: it may find more directories.
        await new Promise<void>((resolve) => idle.push(resolve));
        continue;
      }
      listing++;
      try {
        for await (const entry of storage.list(dir)) {
          if (failed) break;
          if (entry.type === "dir") {
            queue.push(joinPath(dir, entry.name));
            idle.shift()?.();
          } else {
            bytes += entry.size;
            files++;
          }
        }
      } catch (error) {
        failed = true;
        throw error;
      } finally {
        listing--;
        if (failed || (listing === 0 && queue.length === 0)) wakeAll();
      }
    }
  };
  await Promise.all(Array.from({ length: SCAN_CONCURRENCY }, worker));
  return { bytes, files };
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
export class QuotaStorage extends StorageDecorator {
  readonly #limits: QuotaLimits;
  readonly #usage: QuotaUsage;

  constructor(inner: Storage, limits: QuotaLimits, usage: QuotaUsage) {
    super(inner);
    this.#limits = limits;
    this.#usage = usage;
  }

  /** What the user's tree holds now. */
  get usage(): QuotaUsage {
    return this.#usage;
  }

  override async remove(path: string, options?: OperationOptions): Promise<void> {
    const usage = this.#usage;
    await usage.counted();
    await usage.exclusive([path], async () => {
      const upload = usage.pendingAt(path);
      if (upload !== undefined && !upload.atomic) throw new StorageError("busy", path);
      // An atomic upload's old file is what the count holds at the path.
      const before = upload !== undefined ? upload.replaces : await this.#sizeOf(path, options);
      await this.inner.remove(path, options);
      if (before !== null) this.#forget(before);
      if (upload !== undefined) upload.replaces = null;
    });
  }

  override async rename(from: string, to: string, options?: OperationOptions): Promise<void> {
    const usage = this.#usage;
    await usage.counted();
    if (from === to) return this.inner.rename(from, to, options);
    await usage.exclusive([from, to], async () => {
      const moving = usage.pendingAt(from);
      const target = usage.pendingAt(to);
      if (moving?.atomic === false || target?.atomic === false) {
        throw new StorageError("busy", from);
      }
      // A directory with a file being written in place: the writes would follow the file to a
      // path where the count would not look for them.
      const below = `${from}/`;
      const under: PendingUpload[] = [];
      for (const [path, upload] of usage.pendingEntries()) {
        if (!path.startsWith(below)) continue;
        if (!upload.atomic) throw new StorageError("busy", from);
        under.push(upload);
      }
      const replaced = target !== undefined ? target.replaces : await this.#sizeOf(to, options);
      // What lands at `to`, for an atomic upload there whose commit will replace it.
      const moved = target === undefined
        ? null
        : moving !== undefined
        ? moving.replaces
        : await this.#sizeOf(from, options);
      await this.inner.rename(from, to, options);
      if (replaced !== null) this.#forget(replaced);
      if (moving !== undefined) moving.replaces = null;
      if (target !== undefined) target.replaces = moved;
      // Old files under a renamed directory went with it: the commits replace nothing.
      for (const upload of under) upload.replaces = null;
    });
  }

  override async write(path: string, options: WriteOptions = {}): Promise<WriteHandle> {
    const usage = this.#usage;
    await usage.counted();
    const limits = this.#limits;
    const atomic = this.capabilitiesAt(path).atomicReplace;
    const { upload, sink, before } = await usage.exclusive([path], async () => {
      if (usage.pendingAt(path) !== undefined) throw new StorageError("busy", path);
      const before = await this.#sizeOf(path, options);
      if (before === null && limits.files !== undefined && usage.files >= limits.files) {
        throw new StorageError("quota", path);
      }
      const sink = await this.inner.write(path, options);
      const upload: PendingUpload = {
        atomic,
        // The bytes that stay of the old file: all of it for APPE, the REST offset for STOR.
        kept: before === null ? 0 : options.append ? before : Math.min(options.offset ?? 0, before),
        replaces: before,
      };
      usage.setPending(path, upload);
      // A new file takes its place in the count now, so that parallel uploads see it.
      if (before === null) usage.files++;
      return { upload, sink, before };
    });
    return this.#tracked(path, sink, upload, before);
  }

  /** The upload's stream: checks each chunk against the quota and settles the count at the end. */
  #tracked(
    path: string,
    sink: WriteHandle,
    upload: PendingUpload,
    before: number | null,
  ): WriteHandle {
    const usage = this.#usage;
    const limit = this.#limits.bytes;
    const writer = sink.getWriter();
    const newFile = before === null;
    // Without atomic replacement: what the first written byte cuts off the old file.
    const freed = before === null ? 0 : before - upload.kept;
    let written = 0;
    let cut = false;
    let settled = false;

    const fits = (size: number): boolean => {
      if (limit === undefined) return true;
      let projected = usage.bytes + usage.commitGrowth(upload) + size;
      // The upload's own room: what its commit (atomic) or first byte (in place) frees.
      if (upload.atomic) projected += upload.kept - (upload.replaces ?? 0);
      else if (!cut) projected -= freed;
      return projected <= limit;
    };

    /**
     * The upload failed: the count takes what is at the path now. An atomic back end has kept
     * the old file; one that writes in place has what it got (from the first byte, or from the
     * open for a back end that opens early). A stat tells either, whatever the back end claims.
     */
    const failed = async (): Promise<void> => {
      if (settled) return;
      settled = true;
      try {
        await usage.exclusive([path], async () => {
          // What the count holds at the path: the old file (cut or not) and the new bytes, and
          // one file for the old one and one for the new one's place.
          const counted = (upload.replaces ?? 0) - (cut ? freed : 0) + written;
          const files = (upload.replaces === null ? 0 : 1) + (newFile ? 1 : 0);
          let now: number | null;
          try {
            now = await this.#sizeOf(path);
          } catch {
            // Unreadable now: as the back end promises to leave it.
            now = upload.atomic ? upload.replaces : cut ? upload.kept + written : before;
          }
          usage.bytes += (now ?? 0) - counted;
          usage.files += (now === null ? 0 : 1) - files;
        });
      } finally {
        usage.setPending(path, null);
      }
    };

    /** The upload is complete: the new file (kept and written bytes) is at the path. */
    const committed = (): void => {
      settled = true;
      usage.setPending(path, null);
      if (!upload.atomic) {
        // An empty upload cuts the old file at the end (or creates an empty one).
        if (!cut) usage.bytes -= freed;
        return;
      }
      // It replaces what the count holds at the path now (a DELE or rename meanwhile moved the
      // old file out of the way already).
      usage.bytes += upload.kept - (upload.replaces ?? 0);
      usage.files += (newFile ? 0 : 1) - (upload.replaces === null ? 0 : 1);
    };

    return new WritableStream<Uint8Array>({
      write: async (chunk) => {
        if (!fits(chunk.length)) {
          const error = new StorageError("quota", path);
          await writer.abort(error).catch(() => {});
          await failed();
          throw error;
        }
        if (!upload.atomic && !cut) {
          cut = true;
          usage.bytes -= freed;
        }
        // Counted as the upload goes, so that parallel uploads see each other's bytes.
        usage.bytes += chunk.length;
        written += chunk.length;
        try {
          await writer.write(chunk);
        } catch (error) {
          await writer.abort(error).catch(() => {});
          await failed();
          throw error;
        }
      },
      close: async () => {
        const commit = async (): Promise<{ error: unknown } | null> => {
          try {
            await writer.close();
          } catch (error) {
            return { error };
          }
          committed();
          return null;
        };
        // An atomic commit and a delete or rename of the path are one step or the other.
        const failure = upload.atomic ? await usage.exclusive([path], commit) : await commit();
        if (failure !== null) {
          await failed();
          throw failure.error;
        }
      },
      abort: async (reason) => {
        await writer.abort(reason).catch(() => {});
        await failed();
      },
    });
  }

  /** The size of the file at `path`, or null when there is none. */
  async #sizeOf(path: string, options?: OperationOptions): Promise<number | null> {
    try {
      const stat = await this.inner.stat(path, options);
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
