/**
 * Storage on the local filesystem, jailed to one root directory.
 *
 * The jail is ours, not the OS's: Deno's `--allow-read=ROOT` still reads through a symlink that
 * lives inside ROOT, so every path is checked by its real path (symlinks resolved) before use,
 * and every opened file is checked again by inode after opening, which catches a symlink swapped
 * in between check and open. What remains is a race that needs two swaps timed around our
 * re-check by someone who can already create symlinks inside the root — that is, a local user,
 * never an FTP client (ftpgate has no command that creates a symlink).
 *
 * @module
 */

import { StorageError, type StorageErrorKind } from "../errors.ts";
import type { FileStat, ReadHandle, Storage, WriteHandle, WriteOptions } from "./storage.ts";
import { baseName, parentPath } from "./vpath.ts";

/** Options for {@linkcode LocalStorage}. */
export interface LocalStorageOptions {
  /** Called when Deno refuses an operation for lack of a permission flag (`NotCapable`). */
  onNotCapable?: (error: Error) => void;
  /**
   * Write each upload to a hidden temporary file in the target's directory and rename it into
   * place when the upload completes; an interrupted upload leaves the old file untouched.
   * Without it, an interrupted upload leaves the bytes received so far (for REST resume).
   */
  atomicUploads?: boolean;
}

/** Prefix of in-progress atomic uploads: hidden from listings and from clients. */
export const UPLOAD_PREFIX = ".ftpgate-upload-";

/**
 * Serves a directory of the local filesystem.
 *
 * @example
 * ```ts
 * import { LocalStorage } from "./local.ts";
 * const storage = new LocalStorage(Deno.makeTempDirSync(), { atomicUploads: true });
 * await storage.mkdir("/incoming");
 * ```
 */
export class LocalStorage implements Storage {
  /** The real (symlink-free) path of the root directory. */
  readonly root: string;
  readonly #onNotCapable: ((error: Error) => void) | undefined;
  readonly #atomic: boolean;
  /** Real paths with an upload in progress: a second writer gets `busy`, never an interleaving. */
  readonly #writing = new Set<string>();

  /**
   * @param root an existing directory; throws `Deno.errors.NotFound` if it is missing and
   *   `TypeError` if it is not a directory.
   */
  constructor(root: string, options: LocalStorageOptions = {}) {
    const real = Deno.realPathSync(root);
    if (!Deno.statSync(real).isDirectory) throw new TypeError(`root is not a directory: ${root}`);
    this.root = real === "/" ? "" : real;
    this.#onNotCapable = options.onNotCapable;
    this.#atomic = options.atomicUploads ?? false;
  }

  async stat(path: string): Promise<FileStat> {
    const real = await this.#realExisting(path);
    try {
      return toFileStat(baseName(path), await Deno.stat(real));
    } catch (error) {
      throw this.#error(error, path);
    }
  }

  async list(path: string): Promise<FileStat[]> {
    const dir = await this.#realExisting(path);
    const entries: FileStat[] = [];
    try {
      const pending: Promise<FileStat | null>[] = [];
      for await (const entry of Deno.readDir(dir)) {
        pending.push(this.#entryStat(dir, entry));
        if (pending.length >= 64) entries.push(...await settle(pending));
      }
      entries.push(...await settle(pending));
    } catch (error) {
      throw this.#error(error, path);
    }
    return entries;
  }

  async read(path: string, offset = 0): Promise<ReadHandle> {
    const real = await this.#realExisting(path);
    let file: Deno.FsFile | undefined;
    try {
      const checked = await Deno.stat(real);
      if (checked.isDirectory) throw new StorageError("is-a-directory", path);
      // A FIFO or device would block the open or stream forever.
      if (!checked.isFile) throw new StorageError("permission", path);
      file = await Deno.open(real, { read: true });
      const opened = await file.stat();
      await this.#verifyOpened(path, real, opened, checked);
      if (offset > 0) await file.seek(offset, Deno.SeekMode.Start);
      return { size: opened.size, readable: file.readable };
    } catch (error) {
      file?.close();
      throw this.#error(error, path);
    }
  }

  async write(path: string, options: WriteOptions = {}): Promise<WriteHandle> {
    const target = await this.#realTarget(path);
    if (this.#writing.has(target)) throw new StorageError("busy", path);
    this.#writing.add(target);
    const release = () => {
      this.#writing.delete(target);
    };
    try {
      if (!this.#atomic) {
        const file = await this.#openForWrite(path, target, options);
        return this.#fileSink(file, path, () => {
          release();
          return Promise.resolve();
        });
      }
      const upload = await this.#openTemporary(path, target, options);
      return this.#fileSink(upload.file, path, async (complete) => {
        try {
          if (complete) await upload.commit();
          else await Deno.remove(upload.temporary).catch(() => {});
        } finally {
          release();
        }
      });
    } catch (error) {
      release();
      throw this.#error(error, path);
    }
  }

  async mkdir(path: string): Promise<void> {
    const target = await this.#realTarget(path);
    try {
      await Deno.mkdir(target);
    } catch (error) {
      throw this.#error(error, path);
    }
  }

  async remove(path: string): Promise<void> {
    const target = await this.#realTarget(path);
    try {
      // lstat: a symlink is removed itself, whatever it points to.
      if ((await Deno.lstat(target)).isDirectory) throw new StorageError("is-a-directory", path);
      await Deno.remove(target);
    } catch (error) {
      throw this.#error(error, path);
    }
  }

  async rmdir(path: string): Promise<void> {
    if (path === "/") throw new StorageError("permission", path);
    const target = await this.#realTarget(path);
    try {
      if (!(await Deno.lstat(target)).isDirectory) throw new StorageError("not-a-directory", path);
      await Deno.remove(target);
    } catch (error) {
      throw this.#error(error, path);
    }
  }

  async rename(from: string, to: string): Promise<void> {
    if (from === "/" || to === "/") throw new StorageError("permission", from);
    const [source, target] = await Promise.all([this.#realTarget(from), this.#realTarget(to)]);
    try {
      await Deno.lstat(source);
      await Deno.rename(source, target);
    } catch (error) {
      throw this.#error(error, from);
    }
  }

  async setMtime(path: string, mtime: Date): Promise<void> {
    const real = await this.#realExisting(path);
    try {
      const { atime } = await Deno.stat(real);
      await Deno.utime(real, atime ?? mtime, mtime);
    } catch (error) {
      throw this.#error(error, path);
    }
  }

  async chmod(path: string, mode: number): Promise<void> {
    const real = await this.#realExisting(path);
    try {
      // Permission bits only: a client must not be able to set setuid or setgid.
      await Deno.chmod(real, mode & 0o777);
    } catch (error) {
      throw this.#error(error, path);
    }
  }

  /** The real path of an existing object, refusing anything that resolves outside the root. */
  async #realExisting(path: string): Promise<string> {
    if (isUploadName(path)) throw new StorageError("not-found", path);
    let real: string;
    try {
      real = await Deno.realPath(this.root + path);
    } catch (error) {
      throw this.#error(error, path);
    }
    if (!this.#inside(real)) throw new StorageError("permission", path);
    return real;
  }

  /**
   * The real path at which `path` would be created or changed: the parent's real path plus the
   * name. The name itself is not resolved, so a symlink there is handled by the caller (removed
   * as a link, or refused or followed by the write checks).
   */
  async #realTarget(path: string): Promise<string> {
    if (path === "/") return this.root || "/";
    if (isUploadName(path)) throw new StorageError("not-found", path);
    const parent = await this.#realExisting(parentPath(path));
    return `${parent === "/" ? "" : parent}/${baseName(path)}`;
  }

  async #openForWrite(path: string, target: string, options: WriteOptions): Promise<Deno.FsFile> {
    let existing: Deno.FileInfo | null = null;
    try {
      existing = await Deno.lstat(target);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    if (existing === null) {
      if ((options.offset ?? 0) > 0) throw new StorageError("not-found", path);
      // O_CREAT|O_EXCL refuses to follow a symlink planted at the name after our lstat.
      return await Deno.open(target, { write: true, createNew: true, mode: 0o644 });
    }
    if (options.exclusive) throw new StorageError("exists", path);
    let real = target;
    if (existing.isSymlink) {
      real = await Deno.realPath(target);
      if (!this.#inside(real)) throw new StorageError("permission", path);
      existing = await Deno.stat(real);
    }
    if (existing.isDirectory) throw new StorageError("is-a-directory", path);
    if (!existing.isFile) throw new StorageError("permission", path);
    // Opened without truncation: nothing is changed until the handle is proven to be the file
    // we checked.
    const file = await Deno.open(real, { write: true });
    try {
      await this.#verifyOpened(path, real, await file.stat(), existing);
      if (options.append) {
        await file.seek(0, Deno.SeekMode.End);
      } else {
        // Past the end, truncate() extends with zeros; the protocol layer refuses such offsets.
        const offset = options.offset ?? 0;
        await file.truncate(offset);
        if (offset > 0) await file.seek(offset, Deno.SeekMode.Start);
      }
      return file;
    } catch (error) {
      file.close();
      throw error;
    }
  }

  /**
   * Starts an atomic upload: a new hidden file beside the target, seeded with the bytes the
   * upload keeps (REST offset, or all of them for APPE). `commit` moves it into place.
   */
  async #openTemporary(
    path: string,
    target: string,
    options: WriteOptions,
  ): Promise<{ file: Deno.FsFile; temporary: string; commit(): Promise<void> }> {
    let existing: Deno.FileInfo | null = null;
    let real = target;
    try {
      existing = await Deno.lstat(target);
      if (existing.isSymlink) {
        real = await Deno.realPath(target);
        if (!this.#inside(real)) throw new StorageError("permission", path);
        existing = await Deno.stat(real);
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    if (existing?.isDirectory) throw new StorageError("is-a-directory", path);
    if (existing && !existing.isFile) throw new StorageError("permission", path);
    if (existing && options.exclusive) throw new StorageError("exists", path);
    const keep = existing === null
      ? 0
      : options.append
      ? existing.size
      : Math.min(options.offset ?? 0, existing.size);
    if (existing === null && (options.offset ?? 0) > 0) throw new StorageError("not-found", path);
    const temporary = `${
      real.slice(0, real.lastIndexOf("/"))
    }/${UPLOAD_PREFIX}${crypto.randomUUID()}`;
    const file = await Deno.open(temporary, {
      write: true,
      createNew: true,
      mode: existing?.mode ?? 0o644,
    });
    try {
      if (keep > 0) await copyPrefix(real, file, keep);
    } catch (error) {
      file.close();
      await Deno.remove(temporary).catch(() => {});
      throw error;
    }
    return {
      file,
      temporary,
      commit: async () => {
        if (options.exclusive) {
          // link() fails if the name appeared meanwhile: exclusive even against a racing upload.
          await Deno.link(temporary, real);
          await Deno.remove(temporary);
        } else {
          await Deno.rename(temporary, real);
        }
      },
    };
  }

  /** Proves an opened handle is the object checked before opening, still inside the root. */
  async #verifyOpened(
    path: string,
    real: string,
    opened: Deno.FileInfo,
    checked: Deno.FileInfo,
  ): Promise<void> {
    const again = await Deno.realPath(real);
    if (again !== real || opened.ino !== checked.ino || opened.dev !== checked.dev) {
      throw new StorageError("permission", path);
    }
  }

  /**
   * Wraps an open file as the write side of an upload. `finish(true)` runs after a complete
   * upload, `finish(false)` after an aborted or failed one; the file is closed first either way.
   */
  #fileSink(
    file: Deno.FsFile,
    path: string,
    finish: (complete: boolean) => Promise<void>,
  ): WriteHandle {
    let done = false;
    const end = async (complete: boolean) => {
      if (done) return;
      done = true;
      try {
        file.close();
      } catch { /* already closed */ }
      try {
        await finish(complete);
      } catch (error) {
        throw this.#error(error, path);
      }
    };
    return new WritableStream<Uint8Array>({
      write: async (chunk) => {
        try {
          let offset = 0;
          while (offset < chunk.length) offset += await file.write(chunk.subarray(offset));
        } catch (error) {
          await end(false).catch(() => {});
          throw this.#error(error, path);
        }
      },
      close: () => end(true),
      abort: () => end(false),
    });
  }

  async #entryStat(dir: string, entry: Deno.DirEntry): Promise<FileStat | null> {
    const real = `${dir === "/" ? "" : dir}/${entry.name}`;
    if (entry.name.startsWith(UPLOAD_PREFIX)) return null;
    if (entry.isSymlink) {
      // Listed only when it resolves inside the root, then shown as what it points to.
      const target = await Deno.realPath(real);
      if (!this.#inside(target)) return null;
      return toFileStat(entry.name, await Deno.stat(target));
    }
    if (!entry.isFile && !entry.isDirectory) return null;
    return toFileStat(entry.name, await Deno.lstat(real));
  }

  #inside(real: string): boolean {
    return real === (this.root || "/") || real.startsWith(this.root + "/");
  }

  /** Maps an OS error to a {@linkcode StorageError} about the virtual path. */
  #error(error: unknown, path: string): StorageError {
    if (error instanceof StorageError) return error;
    if (error instanceof Deno.errors.NotCapable) this.#onNotCapable?.(error);
    return new StorageError(errorKind(error), path, { cause: error });
  }
}

/** True when the path names an in-progress atomic upload, which clients may not touch. */
function isUploadName(path: string): boolean {
  return path.includes(UPLOAD_PREFIX) &&
    path.slice(path.lastIndexOf("/") + 1).startsWith(UPLOAD_PREFIX);
}

/** Copies the first `length` bytes of the file at `source` into `target`. */
async function copyPrefix(source: string, target: Deno.FsFile, length: number): Promise<void> {
  using file = await Deno.open(source, { read: true });
  const buffer = new Uint8Array(Math.min(length, 1 << 20));
  let left = length;
  while (left > 0) {
    const n = await file.read(buffer.subarray(0, Math.min(left, buffer.length)));
    if (n === null) break;
    let offset = 0;
    while (offset < n) offset += await target.write(buffer.subarray(offset, n));
    left -= n;
  }
}

/** Collects a batch of entry stats, dropping entries that vanished or may not be shown. */
async function settle(pending: Promise<FileStat | null>[]): Promise<FileStat[]> {
  const results = await Promise.allSettled(pending);
  pending.length = 0;
  const out: FileStat[] = [];
  for (const result of results) {
    if (result.status === "fulfilled" && result.value !== null) out.push(result.value);
  }
  return out;
}

function toFileStat(name: string, info: Deno.FileInfo): FileStat {
  return {
    name,
    type: info.isDirectory ? "dir" : "file",
    size: info.size,
    mtime: info.mtime ?? new Date(0),
    mode: (info.mode ?? 0o644) & 0o7777,
    id: `${(info.dev ?? 0).toString(16)}g${(info.ino ?? 0).toString(16)}`,
  };
}

const KIND_BY_CODE: Record<string, StorageErrorKind> = {
  ENOENT: "not-found",
  EEXIST: "exists",
  ENOTDIR: "not-a-directory",
  EISDIR: "is-a-directory",
  ENOTEMPTY: "not-empty",
  EACCES: "permission",
  EPERM: "permission",
  EROFS: "permission",
  ELOOP: "permission",
  ENAMETOOLONG: "invalid-name",
  EINVAL: "invalid-name",
  EILSEQ: "invalid-name",
  ENOSPC: "no-space",
  EDQUOT: "no-space",
  EFBIG: "no-space",
  EBUSY: "busy",
  ETXTBSY: "busy",
};

/**
 * Classifies an OS error. Deno throws typed errors for the common cases and a plain `Error` with
 * a `code` for the rest (a non-empty directory is `ENOTEMPTY` on a plain `Error`).
 */
function errorKind(error: unknown): StorageErrorKind {
  if (error instanceof Deno.errors.NotFound) return "not-found";
  if (error instanceof Deno.errors.AlreadyExists) return "exists";
  if (error instanceof Deno.errors.NotADirectory) return "not-a-directory";
  if (error instanceof Deno.errors.IsADirectory) return "is-a-directory";
  if (error instanceof Deno.errors.PermissionDenied) return "permission";
  if (error instanceof Deno.errors.NotCapable) return "permission";
  if (error instanceof Deno.errors.FilesystemLoop) return "permission";
  const code = (error as { code?: unknown })?.code;
  return (typeof code === "string" && KIND_BY_CODE[code]) || "io";
}
