/**
 * The storage interface: where the protocol meets the bytes.
 *
 * Every path is a normalised virtual path (see `vpath.ts`): absolute, `/`-separated, no `.` or
 * `..`. An implementation maps `/` to its root and must never touch anything outside it.
 *
 * ## Capabilities
 * A back end declares what it can do ({@linkcode StorageCapabilities}); the protocol obeys: FEAT
 * leaves out what is missing, and a command that needs a missing capability is refused (502 for a
 * command, 504 for a parameter such as a REST offset) before any byte moves. A back end that is
 * asked anyway throws `not-supported`.
 *
 * ## Cancellation
 * Every call takes an optional `signal`. When it aborts (ABOR, the session closing, a timeout),
 * a pending call should reject soon, and streams it returned should end; a local disk may finish
 * a microsecond-long call first, an object store must abort its request.
 *
 * ## Error contract
 * Expected failures are thrown as {@linkcode StorageError} with a kind; the session turns the kind
 * into the reply in one place (`errors.ts`):
 *
 * | kind              | reply | when |
 * |-------------------|-------|------|
 * | `not-found`       | 550   | the path, or a parent of it, does not exist (or points outside the root) |
 * | `exists`          | 550   | mkdir of an existing name; exclusive create of an existing file |
 * | `not-a-directory` | 550   | a directory operation on a file, or a file used as a parent |
 * | `is-a-directory`  | 550   | a file operation on a directory |
 * | `not-empty`       | 550   | rmdir of a directory with entries |
 * | `permission`      | 550   | the OS, the back end or a rule refused |
 * | `invalid-name`    | 553   | the back end cannot store that name |
 * | `not-supported`   | 502   | the back end cannot do this at all (see capabilities) |
 * | `quota`           | 552   | the user's quota (bytes or files) would be exceeded |
 * | `no-space`        | 452   | the back end is out of space |
 * | `busy`            | 450   | the file is in use (another upload holds it) |
 * | `unavailable`     | 451   | the back end cannot be reached (an object store that is down); the session stays |
 * | `io`              | 451   | anything else; logged |
 *
 * @module
 */

export { StorageError, type StorageErrorKind } from "../errors.ts";

/** Facts about one file or directory. */
export interface FileStat {
  /** Base name (for the root: `/`). */
  name: string;
  /** A regular file or a directory; nothing else is ever shown to a client. */
  type: "file" | "dir";
  /** Size in bytes (directories: what the back end reports, often 4096 or 0). */
  size: number;
  /** Last modification time. */
  mtime: Date;
  /** Permission bits, e.g. `0o644`. */
  mode: number;
  /** A value that identifies the object across renames, for the MLSx `unique` fact. */
  id: string;
}

/**
 * What a back end can do. The protocol layer reads these before it accepts a command, so that a
 * client is told "not here" (502/504) instead of getting a half-done operation.
 *
 * @example
 * ```ts
 * import { FULL_CAPABILITIES, type StorageCapabilities } from "./storage.ts";
 * // An object store without permission bits:
 * const caps: StorageCapabilities = { ...FULL_CAPABILITIES, chmod: false };
 * ```
 */
export interface StorageCapabilities {
  /** `read()` from an offset: REST before RETR. */
  readonly readAtOffset: boolean;
  /** `write()` keeping the first `offset` bytes: REST before STOR. */
  readonly writeAtOffset: boolean;
  /** `write({ append: true })`: APPE. */
  readonly append: boolean;
  /** A finished upload replaces the old file in one step: no moment without a file, no half file. */
  readonly atomicReplace: boolean;
  /** `rename()` of a file. */
  readonly renameFile: boolean;
  /** `rename()` of a directory, with everything in it. */
  readonly renameDirectory: boolean;
  /** `chmod()`: SITE CHMOD, and a meaningful `unix.mode` fact. */
  readonly chmod: boolean;
  /** `setMtime()`: MFMT. */
  readonly setMtime: boolean;
  /** `FileStat.id` stays the same across renames: the MLSx `unique` fact. */
  readonly uniqueIds: boolean;
}

/**
 * Every capability: what local disk and memory can do.
 *
 * @example
 * ```ts
 * import { FULL_CAPABILITIES } from "./storage.ts";
 * FULL_CAPABILITIES.append; // true
 * ```
 */
export const FULL_CAPABILITIES: StorageCapabilities = Object.freeze({
  readAtOffset: true,
  writeAtOffset: true,
  append: true,
  atomicReplace: true,
  renameFile: true,
  renameDirectory: true,
  chmod: true,
  setMtime: true,
  uniqueIds: true,
});

/** Options every storage call takes. */
export interface OperationOptions {
  /** Aborting it cancels the call (and ends the streams it returned). */
  signal?: AbortSignal;
}

/** How a read starts. */
export interface ReadOptions extends OperationOptions {
  /** Skip this many bytes (REST + RETR). `offset > size` is allowed and yields nothing. Default 0. */
  offset?: number;
}

/** A file opened for reading. */
export interface ReadHandle {
  /** Size of the whole file, in bytes. */
  size: number;
  /** The bytes from the requested offset to the end. Cancel it to close the file early. */
  readable: ReadableStream<Uint8Array>;
}

/** How a write starts. */
export interface WriteOptions extends OperationOptions {
  /** Keep the first `offset` bytes and write from there (REST + STOR). Default 0: replace. */
  offset?: number;
  /** Write after the current end (APPE); creates the file if missing. */
  append?: boolean;
  /** Fail with `exists` if the file is already there (STOU). */
  exclusive?: boolean;
  /**
   * The size the client announced (ALLO, RFC 959 §4.1.3), in bytes: a back end may plan for it
   * (S3 picks a part size that fits the file in 10,000 parts); others ignore it. A hint, not a
   * limit: the upload may be shorter or longer.
   */
  sizeHint?: number;
}

/**
 * Where uploaded bytes go. Close it to commit; abort it to give up (an atomic back end then keeps
 * the old file).
 */
export type WriteHandle = WritableStream<Uint8Array>;

/**
 * A file tree the server serves. Local disk, memory and object stores are implementations; a
 * mount table composes several under one tree.
 */
export interface Storage {
  /** What this back end can do (for a composite: anywhere in it; see {@linkcode capabilitiesAt}). */
  readonly capabilities: StorageCapabilities;
  /** The back end's kind, as metrics label it: `local`, `memory`, `s3`. */
  readonly backend?: string;
  /** A composite's back end at `path` (a mount table asks the mount). */
  backendAt?(path: string): string;
  /** A composite's capabilities at one path; absent for a back end that is the same everywhere. */
  capabilitiesAt?(path: string): StorageCapabilities;
  /**
   * Where `path` really is, as a virtual path of this tree: what a symbolic link inside the root
   * leads to (`/pub/latest` → `/inbox` for a link `pub/latest -> ../inbox`). A missing final
   * component is the real parent plus the name; a missing parent is `not-found`. Absent for a
   * back end without links (memory, object stores): every path is where it is named. Per-path
   * rules use it so that a link cannot carry a client from one rule into another.
   */
  realVirtualPath?(path: string, options?: OperationOptions): Promise<string>;
  /** Facts about one path. */
  stat(path: string, options?: OperationOptions): Promise<FileStat>;
  /**
   * The entries of a directory, without `.` and `..`, in the back end's order, as they are read:
   * a directory of a million entries is never held whole. Nothing happens until the first entry
   * is asked for; errors (`not-found`, `not-a-directory`) surface there. Breaking out of the
   * iteration releases what the listing holds.
   */
  list(path: string, options?: OperationOptions): AsyncIterable<FileStat>;
  /** Opens a file for reading; see {@linkcode ReadOptions}. */
  read(path: string, options?: ReadOptions): Promise<ReadHandle>;
  /** Opens a file for writing; see {@linkcode WriteOptions}. */
  write(path: string, options?: WriteOptions): Promise<WriteHandle>;
  /** Creates one directory; the parent must exist. */
  mkdir(path: string, options?: OperationOptions): Promise<void>;
  /** Removes a file (not a directory). */
  remove(path: string, options?: OperationOptions): Promise<void>;
  /** Removes an empty directory. */
  rmdir(path: string, options?: OperationOptions): Promise<void>;
  /** Renames a file or directory; replaces an existing file at `to`. */
  rename(from: string, to: string, options?: OperationOptions): Promise<void>;
  /** Sets the modification time. */
  setMtime(path: string, mtime: Date, options?: OperationOptions): Promise<void>;
  /** Sets the permission bits. */
  chmod(path: string, mode: number, options?: OperationOptions): Promise<void>;
}

/**
 * The capabilities that apply at `path`: a composite's own answer, or the back end's.
 *
 * @example
 * ```ts
 * import { capabilitiesAt } from "./storage.ts";
 * import { MemoryStorage } from "./memory.ts";
 * capabilitiesAt(new MemoryStorage(), "/a.txt").readAtOffset; // true
 * ```
 */
export function capabilitiesAt(storage: Storage, path: string): StorageCapabilities {
  return storage.capabilitiesAt?.(path) ?? storage.capabilities;
}

/**
 * Every entry of a listing in an array: for tests and small directories only (the protocol
 * streams listings instead).
 *
 * @example
 * ```ts
 * import { collectList } from "./storage.ts";
 * import { MemoryStorage } from "./memory.ts";
 * const names = (await collectList(MemoryStorage.from({ "a.txt": "" }), "/")).map((e) => e.name);
 * ```
 */
export async function collectList(
  storage: Storage,
  path: string,
  options?: OperationOptions,
): Promise<FileStat[]> {
  const entries: FileStat[] = [];
  for await (const entry of storage.list(path, options)) entries.push(entry);
  return entries;
}
