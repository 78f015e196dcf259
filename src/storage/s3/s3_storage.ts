/**
 * {@linkcode S3Storage}: the {@linkcode Storage} interface over an S3 bucket (AWS S3 or an
 * S3-compatible store: Ceph RGW, MinIO, Swift's s3api, R2, ...).
 *
 * Directories are key prefixes; see `keys.ts` for the mapping, `docs/s3.md` for every FTP
 * command's S3 calls. What the store cannot do is declared in {@linkcode S3_CAPABILITIES}:
 * no permission bits, no ids that survive a rename, and directory renames that are copies.
 *
 * @module
 */

import { StorageError } from "../../errors.ts";
import type {
  FileStat,
  OperationOptions,
  ReadHandle,
  ReadOptions,
  Storage,
  StorageCapabilities,
  WriteHandle,
  WriteOptions,
} from "../storage.ts";
import { baseName, isWithin, parentPath } from "../vpath.ts";
import { S3Client } from "./client.ts";
import { copyObject } from "./copy.ts";
import { S3Error, toStorageError } from "./errors.ts";
import { type S3Faults, withS3Faults } from "./faults.ts";
import { KeyMapper } from "./keys.ts";
import { listDirectory } from "./list.ts";
import { type ObjectInfo, S3Objects } from "./objects.ts";
import { openRead } from "./read.ts";
import { renameDirectory } from "./rename.ts";
import { DefaultTransport, type Transport } from "./transport.ts";
import {
  parseS3Url,
  type ResolvedS3Settings,
  resolveS3Settings,
  S3ConfigError,
  type S3Location,
  type S3Settings,
} from "./settings.ts";
import { createUploadSink } from "./upload.ts";
import type { ListedUpload } from "./xml.ts";

/**
 * What an S3 bucket can do: everything but permission bits and rename-stable ids. Directory
 * renames are supported but not atomic (a copy of every key, then deletes; see `rename.ts`).
 *
 * @example
 * ```ts
 * import { S3_CAPABILITIES } from "./s3_storage.ts";
 * S3_CAPABILITIES.chmod; // false: SITE CHMOD answers 502
 * ```
 */
export const S3_CAPABILITIES: StorageCapabilities = Object.freeze({
  readAtOffset: true,
  writeAtOffset: true,
  append: true,
  atomicReplace: true,
  renameFile: true,
  renameDirectory: true,
  chmod: false,
  setMtime: true,
  uniqueIds: false,
});

/** Options of {@linkcode S3Storage} beyond {@linkcode S3Settings}. */
export interface S3StorageOptions extends S3Settings {
  /** Misbehave on purpose (see `faults.ts`): for testing FTP clients against a flaky store. */
  faults?: S3Faults;
  /** Sends the signed requests (default: {@linkcode DefaultTransport}). */
  transport?: Transport;
  /** Called before every request is sent: for metrics and tests (counting listings, say). */
  onRequest?: (request: { method: string; url: string }) => void;
}

/** A write to S3: its `sizeHint` (ALLO) raises the part size of a huge upload. */
export type S3WriteOptions = WriteOptions;

/** The metadata key rclone and ftpgate store a modification time under. */
const MTIME_META = "mtime";

/** Seconds since the epoch with a fraction, as rclone writes `X-Amz-Meta-Mtime`. */
function formatMtime(date: Date): string {
  const ms = date.getTime();
  return `${Math.floor(ms / 1000)}.${String(((ms % 1000) + 1000) % 1000).padStart(3, "0")}`;
}

function parseMtime(info: ObjectInfo): Date {
  const value = Number(info.metadata[MTIME_META]);
  return Number.isFinite(value) && info.metadata[MTIME_META] !== undefined
    ? new Date(Math.round(value * 1000))
    : info.lastModified;
}

function signalOf(options?: OperationOptions): { signal?: AbortSignal } {
  return options?.signal ? { signal: options.signal } : {};
}

/**
 * A {@linkcode Storage} on an S3 bucket. Open one with {@linkcode openS3Storage}, which checks
 * the bucket first; the constructor does no I/O.
 *
 * @example
 * ```ts ignore
 * import { openS3Storage, serve } from "../../mod.ts";
 * const storage = await openS3Storage("s3://media/ftp", { endpoint: "http://127.0.0.1:7480" });
 * await using server = serve({ root: storage, users: [{ name: "u", password: "p" }] });
 * ```
 */
export class S3Storage implements Storage {
  readonly backend = "s3";
  readonly capabilities: StorageCapabilities = S3_CAPABILITIES;
  /** The bucket and prefix served as `/`. */
  readonly location: S3Location;
  /** The settings in force, defaults applied. */
  readonly settings: ResolvedS3Settings;
  readonly #objects: S3Objects;
  readonly #keys: KeyMapper;
  /** Paths with an upload in progress in this process (per instance: see docs/s3.md). */
  readonly #writing = new Set<string>();
  readonly #ownTransport: DefaultTransport | null;

  /** A storage for `location` with resolved `settings`; no I/O (see openS3Storage). */
  constructor(location: S3Location, settings: ResolvedS3Settings, options: S3StorageOptions = {}) {
    this.location = location;
    this.settings = settings;
    this.#ownTransport = options.transport ? null : new DefaultTransport();
    let send: Transport = options.transport ?? this.#ownTransport!.send;
    if (options.faults) send = withS3Faults(send, options.faults);
    const observe = options.onRequest;
    const inner = send;
    if (observe) {
      send = (request) => {
        observe({ method: request.method, url: request.url });
        return inner(request);
      };
    }
    this.#objects = new S3Objects(new S3Client(settings, location, send));
    this.#keys = new KeyMapper(location.prefix);
  }

  /**
   * Closes the pooled upload connections. Call it when the server that uses this storage has
   * shut down (requests after it fail).
   */
  async close(): Promise<void> {
    await this.#ownTransport?.close();
  }

  /** Same as {@linkcode close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** The typed S3 calls, for tests and tools (listing uploads, seeding a bucket). */
  get objects(): S3Objects {
    return this.#objects;
  }

  async stat(path: string, options?: OperationOptions): Promise<FileStat> {
    try {
      if (path === "/") return dirStat("/", new Date(0), this.#keys.prefix);
      // The order of the issue and of SFTPGo: the key, the marker, then a one-key listing.
      const file = await this.#objects.head(this.#keys.file(path), options?.signal);
      if (file !== null) return fileStat(path, file, this.#keys.file(path));
      const markerKey = this.#keys.dir(path);
      const marker = await this.#objects.head(markerKey, options?.signal);
      if (marker !== null) return dirStat(baseName(path), parseMtime(marker), markerKey);
      if (await this.#hasKeys(path, options)) {
        return dirStat(baseName(path), new Date(0), markerKey);
      }
      throw new StorageError("not-found", path);
    } catch (error) {
      throw toStorageError(error, path);
    }
  }

  list(path: string, options?: OperationOptions): AsyncIterable<FileStat> {
    const objects = this.#objects;
    const keys = this.#keys;
    return {
      async *[Symbol.asyncIterator]() {
        try {
          yield* listDirectory(objects, {
            prefix: keys.dir(path),
            path,
            fileKey: path === "/" ? null : keys.file(path),
            ...signalOf(options),
          });
        } catch (error) {
          throw toStorageError(error, path);
        }
      },
    };
  }

  async read(path: string, options: ReadOptions = {}): Promise<ReadHandle> {
    try {
      return await openRead(this.#objects, {
        key: this.#keys.file(path),
        path,
        offset: options.offset ?? 0,
        timeoutMs: this.settings.timeoutMs,
        maxAttempts: this.settings.maxAttempts,
        ...signalOf(options),
      });
    } catch (error) {
      if (error instanceof S3Error && error.status === 404) {
        const kind = await this.#hasKeys(path, options).catch(() => false)
          ? "is-a-directory"
          : "not-found";
        throw new StorageError(kind, path);
      }
      throw toStorageError(error, path);
    }
  }

  async write(path: string, options: S3WriteOptions = {}): Promise<WriteHandle> {
    if (this.#writing.has(path)) throw new StorageError("busy", path);
    this.#writing.add(path);
    try {
      const key = this.#keys.file(path);
      const offset = options.offset ?? 0;
      const needHead = options.exclusive || options.append || offset > 0;
      const [, isDir, existing] = await Promise.all([
        this.#requireDir(parentPath(path), options),
        this.#hasKeys(path, options),
        needHead ? this.#objects.head(key, options.signal) : Promise.resolve(null),
      ]);
      if (isDir) throw new StorageError("is-a-directory", path);
      if (options.exclusive && existing !== null) throw new StorageError("exists", path);
      if (offset > 0 && !options.append && existing === null) {
        throw new StorageError("not-found", path);
      }
      const keep = existing === null
        ? 0
        : options.append
        ? existing.size
        : Math.min(offset, existing.size);
      return createUploadSink(this.#objects, {
        key,
        path,
        ...(existing !== null && keep > 0 ? { base: { info: existing, keep } } : {}),
        exclusive: options.exclusive ?? false,
        partSize: this.settings.partSize,
        maxPartsInFlight: this.settings.maxPartsInFlight,
        ...(options.sizeHint === undefined ? {} : { sizeHint: options.sizeHint }),
        ...signalOf(options),
        onSettled: () => this.#writing.delete(path),
      });
    } catch (error) {
      this.#writing.delete(path);
      throw toStorageError(error, path);
    }
  }

  async mkdir(path: string, options?: OperationOptions): Promise<void> {
    try {
      if (path === "/") throw new StorageError("exists", path);
      const [, file, isDir] = await Promise.all([
        this.#requireDir(parentPath(path), options),
        this.#objects.head(this.#keys.file(path), options?.signal),
        this.#hasKeys(path, options),
      ]);
      if (file !== null || isDir) throw new StorageError("exists", path);
      await this.#objects.put(this.#keys.dir(path), new Uint8Array(0), {
        exclusive: true,
        ...signalOf(options),
      });
    } catch (error) {
      if (error instanceof S3Error && error.status === 412) throw new StorageError("exists", path);
      throw toStorageError(error, path);
    }
  }

  async remove(path: string, options?: OperationOptions): Promise<void> {
    try {
      const key = this.#keys.file(path);
      const file = await this.#objects.head(key, options?.signal);
      if (file === null) {
        throw new StorageError(
          await this.#hasKeys(path, options) ? "is-a-directory" : "not-found",
          path,
        );
      }
      await this.#objects.delete(key, options?.signal);
    } catch (error) {
      throw toStorageError(error, path);
    }
  }

  async rmdir(path: string, options?: OperationOptions): Promise<void> {
    try {
      if (path === "/") throw new StorageError("permission", path);
      const marker = this.#keys.dir(path);
      const page = await this.#objects.list({ prefix: marker, maxKeys: 2, ...signalOf(options) });
      if (page.objects.length === 0) {
        const file = await this.#objects.head(this.#keys.file(path), options?.signal);
        throw new StorageError(file ? "not-a-directory" : "not-found", path);
      }
      if (page.objects.some((object) => object.key !== marker)) {
        throw new StorageError("not-empty", path);
      }
      await this.#objects.delete(marker, options?.signal);
    } catch (error) {
      throw toStorageError(error, path);
    }
  }

  async rename(from: string, to: string, options?: OperationOptions): Promise<void> {
    try {
      if (from === "/" || to === "/") throw new StorageError("permission", from);
      const source = await this.#objects.head(this.#keys.file(from), options?.signal);
      if (source !== null) {
        if (from === to) return;
        const [, targetIsDir] = await Promise.all([
          this.#requireDir(parentPath(to), options),
          this.#hasKeys(to, options),
        ]);
        if (targetIsDir) throw new StorageError("is-a-directory", to);
        const target = this.#keys.file(to);
        // Copy, then delete: the old name stays readable until the new one exists.
        await copyObject(
          this.#objects,
          { key: this.#keys.file(from), info: source },
          target,
          signalOf(options),
        );
        await this.#objects.delete(this.#keys.file(from), options?.signal);
        return;
      }
      if (!(await this.#hasKeys(from, options))) throw new StorageError("not-found", from);
      // A directory cannot move into itself (POSIX rename: EINVAL).
      if (isWithin(to, from)) throw new StorageError("invalid-name", to);
      const [, targetFile, targetPage] = await Promise.all([
        this.#requireDir(parentPath(to), options),
        this.#objects.head(this.#keys.file(to), options?.signal),
        this.#objects.list({ prefix: this.#keys.dir(to), maxKeys: 2, ...signalOf(options) }),
      ]);
      if (targetFile !== null) throw new StorageError("not-a-directory", to);
      if (targetPage.objects.some((object) => object.key !== this.#keys.dir(to))) {
        throw new StorageError("not-empty", to);
      }
      await renameDirectory(this.#objects, {
        from: this.#keys.dir(from),
        to: this.#keys.dir(to),
        maxKeys: this.settings.maxRenameKeys,
        concurrency: this.settings.renameConcurrency,
        ...signalOf(options),
      });
    } catch (error) {
      throw toStorageError(error, from);
    }
  }

  async setMtime(path: string, mtime: Date, options?: OperationOptions): Promise<void> {
    try {
      const key = this.#keys.file(path);
      const file = path === "/" ? null : await this.#objects.head(key, options?.signal);
      if (file !== null) {
        // S3 objects are immutable: the time is set by copying the object onto itself with new
        // metadata (server-side; pinned to the ETag, so a concurrent upload is not undone).
        await copyObject(this.#objects, { key, info: file }, key, {
          metadata: { ...file.metadata, [MTIME_META]: formatMtime(mtime) },
          ...signalOf(options),
        });
        return;
      }
      if (path === "/" || !(await this.#hasKeys(path, options))) {
        throw new StorageError(path === "/" ? "permission" : "not-found", path);
      }
      // A directory's time lives on its marker (written, if it had none).
      await this.#objects.put(this.#keys.dir(path), new Uint8Array(0), {
        metadata: { [MTIME_META]: formatMtime(mtime) },
        ...signalOf(options),
      });
    } catch (error) {
      throw toStorageError(error, path);
    }
  }

  chmod(path: string): Promise<void> {
    // No permission bits in S3 (ACLs are per bucket policy, not per file mode).
    return Promise.reject(new StorageError("not-supported", path));
  }

  /**
   * Checks that the bucket answers (HEAD bucket), for a readiness probe: resolves, or throws
   * `unavailable`/`permission`.
   */
  async probe(options?: OperationOptions): Promise<void> {
    try {
      await this.#objects.probe(options?.signal);
    } catch (error) {
      throw toStorageError(error, "/");
    }
  }

  /** Multipart uploads in progress under the served prefix (abandoned ones cost money). */
  pendingUploads(options?: OperationOptions): Promise<ListedUpload[]> {
    return this.#objects.listUploads(this.location.prefix, options?.signal);
  }

  /** True when any key lies under the directory `path` (its marker included). */
  async #hasKeys(path: string, options?: OperationOptions): Promise<boolean> {
    if (path === "/") return true;
    const page = await this.#objects.list({
      prefix: this.#keys.dir(path),
      maxKeys: 1,
      ...signalOf(options),
    });
    return page.objects.length > 0 || page.prefixes.length > 0;
  }

  /** Throws unless `path` is a directory: `not-a-directory` for a file, else `not-found`. */
  async #requireDir(path: string, options?: OperationOptions): Promise<void> {
    if (await this.#hasKeys(path, options)) return;
    const file = await this.#objects.head(this.#keys.file(path), options?.signal);
    throw new StorageError(file ? "not-a-directory" : "not-found", path);
  }
}

function fileStat(path: string, info: ObjectInfo, key: string): FileStat {
  return {
    name: baseName(path),
    type: "file",
    size: info.size,
    mtime: parseMtime(info),
    mode: 0o644,
    id: key,
  };
}

function dirStat(name: string, mtime: Date, key: string): FileStat {
  return { name, type: "dir", size: 0, mtime, mode: 0o755, id: key || "/" };
}

/**
 * Opens an S3 root: parses `s3://BUCKET[/PREFIX]`, applies the settings and the `AWS_*`
 * environment, and checks that the bucket answers (HEAD bucket). Throws
 * {@linkcode S3ConfigError}, with a message for the operator, when it does not.
 *
 * @example
 * ```ts ignore
 * import { openS3Storage } from "./s3_storage.ts";
 * const storage = await openS3Storage("s3://ftpgate-test/", { endpoint: "http://127.0.0.1:7480" });
 * ```
 */
export async function openS3Storage(
  url: string,
  settings: S3StorageOptions = {},
): Promise<S3Storage> {
  const location = parseS3Url(url);
  const storage = new S3Storage(location, resolveS3Settings(settings), settings);
  try {
    await storage.objects.probe(AbortSignal.timeout(storage.settings.timeoutMs));
  } catch (error) {
    await storage.close();
    throw new S3ConfigError(probeFailure(error, location.bucket));
  }
  return storage;
}

function probeFailure(error: unknown, bucket: string): string {
  if (!(error instanceof S3Error)) return `cannot reach the S3 endpoint for bucket "${bucket}"`;
  switch (error.status) {
    case 0:
      return `cannot reach the S3 endpoint for bucket "${bucket}" (${error.code || "no answer"})`;
    case 404:
      return `S3 bucket "${bucket}" does not exist`;
    case 403:
      return `access to S3 bucket "${bucket}" denied: check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and the region`;
    case 301:
    case 400:
      return `S3 bucket "${bucket}" refused the request (wrong region or addressing style? try --s3-region or --s3-path-style)`;
  }
  return `S3 bucket "${bucket}" answered HTTP ${error.status}`;
}
