/**
 * The storage interface: where the protocol meets the bytes.
 *
 * Every path is a normalised virtual path (see `vpath.ts`): absolute, `/`-separated, no `.` or
 * `..`. An implementation maps `/` to its root and must never touch anything outside it.
 *
 * ## Error contract
 * Expected failures are thrown as {@linkcode StorageError} with a kind; the session turns the kind
 * into the reply in one place:
 *
 * | kind              | reply | when |
 * |-------------------|-------|------|
 * | `not-found`       | 550   | the path, or a parent of it, does not exist (or points outside the root) |
 * | `exists`          | 550   | mkdir of an existing name; exclusive create of an existing file |
 * | `not-a-directory` | 550   | a directory operation on a file, or a file used as a parent |
 * | `is-a-directory`  | 550   | a file operation on a directory |
 * | `not-empty`       | 550   | rmdir of a directory with entries |
 * | `permission`      | 550   | the OS or the back end refused |
 * | `invalid-name`    | 553   | the back end cannot store that name |
 * | `no-space`        | 452   | out of space or quota |
 * | `busy`            | 450   | the file is in use (another upload holds it) |
 * | `io`              | 451   | anything else; logged |
 *
 * @module
 */

export { StorageError, type StorageErrorKind } from "../errors.ts";

/** Facts about one file or directory. */
export interface FileStat {
  /** Base name (for the root: `/`). */
  name: string;
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

/** A file opened for reading. */
export interface ReadHandle {
  /** Size of the whole file, in bytes. */
  size: number;
  /** The bytes from the requested offset to the end. Cancel it to close the file early. */
  readable: ReadableStream<Uint8Array>;
}

/** How a write starts. */
export interface WriteOptions {
  /** Keep the first `offset` bytes and write from there (REST + STOR). Default 0: replace. */
  offset?: number;
  /** Write after the current end (APPE); creates the file if missing. */
  append?: boolean;
  /** Fail with `exists` if the file is already there (STOU). */
  exclusive?: boolean;
}

/** Where uploaded bytes go. Close it to commit; abort it to give up. */
export type WriteHandle = WritableStream<Uint8Array>;

/** A file tree the server serves. Local disk and memory are two implementations. */
export interface Storage {
  /** Facts about one path. */
  stat(path: string): Promise<FileStat>;
  /** The entries of a directory, in no particular order, without `.` and `..`. */
  list(path: string): Promise<FileStat[]>;
  /** Opens a file for reading from `offset`; `offset > size` is allowed and yields nothing. */
  read(path: string, offset?: number): Promise<ReadHandle>;
  /** Opens a file for writing; see {@linkcode WriteOptions}. */
  write(path: string, options?: WriteOptions): Promise<WriteHandle>;
  /** Creates one directory; the parent must exist. */
  mkdir(path: string): Promise<void>;
  /** Removes a file (not a directory). */
  remove(path: string): Promise<void>;
  /** Removes an empty directory. */
  rmdir(path: string): Promise<void>;
  /** Renames a file or directory; replaces an existing file at `to`. */
  rename(from: string, to: string): Promise<void>;
  /** Sets the modification time. */
  setMtime(path: string, mtime: Date): Promise<void>;
  /** Sets the permission bits. */
  chmod(path: string, mode: number): Promise<void>;
}
