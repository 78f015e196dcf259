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
 * Filesystem calls are blocking (`*Sync`), as nginx's are by default: on a local disk they take
 * microseconds, while Deno's async file operations each hop to a thread pool and back. Measured
 * on the 2-core CI machine: open, stat, read and close of a 4 KiB file cost 18 µs in blocking
 * calls and 376 µs in async ones; a 10,000-entry directory lists in 45 ms instead of 280 ms.
 * The price: a slow network filesystem would stall every session for the length of each call.
 * Reads and writes move at most 1 MiB per call, so one transfer cannot hold the loop for long.
 *
 * @module
 */

import { StorageError, type StorageErrorKind } from "../errors.ts";
import {
  type FileStat,
  FULL_CAPABILITIES,
  type OperationOptions,
  type ReadHandle,
  type ReadOptions,
  type Storage,
  type StorageCapabilities,
  type WriteHandle,
  type WriteOptions,
} from "./storage.ts";
import { baseName, parentPath } from "./vpath.ts";
import { type CachedEntry, type CacheFill, DirCache, type DirCacheOptions } from "./dir_cache.ts";
import { writeAll } from "../io.ts";
import { attachRawReader } from "./raw_reader.ts";

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
  /**
   * Keep listings of large directories between LISTs, kept true by inotify (see
   * `dir_cache.ts`): a repeated listing re-stats only what changed. Used only where it is
   * sound (Linux with glibc, `--allow-ffi`, a local filesystem); elsewhere it is silently off.
   * Call {@linkcode LocalStorage.close} to release its inotify instance. Default: off.
   */
  listCache?: boolean | {
    /** Directories with fewer entries are not cached. Default 256. */
    minEntries?: number;
    /** Directories cached at once (one inotify watch each). Default 64. */
    maxDirectories?: number;
    /** Entries cached at once, over all directories. Default 200,000. */
    maxEntries?: number;
  };
  /**
   * Where the "file busy" guard lives when several storages serve one tree (the workers of a
   * multi-worker server): uploads of one real path exclude each other through it. Default: a
   * set of this storage's own.
   */
  writeGuard?: {
    /** Takes `key` (a real path): true when it was free. */
    acquire(key: string): boolean | Promise<boolean>;
    /** Gives `key` back. */
    release(key: string): void;
  };
}

/**
 * The "file busy" guard: at most one upload per real path at a time.
 *
 * @example
 * ```ts
 * import type { WriteGuard } from "./local.ts";
 * const held = new Set<string>();
 * const guard: WriteGuard = {
 *   acquire: (key) => !held.has(key) && held.add(key) !== undefined,
 *   release: (key) => void held.delete(key),
 * };
 * ```
 */
export interface WriteGuard {
  /** Takes `key` (a real path): true when it was free. */
  acquire(key: string): boolean | Promise<boolean>;
  /** Gives `key` back. */
  release(key: string): void;
}

/** A directory held for reading: a path to read it by, and what to do after. */
interface PinnedDirectory {
  /** The path to read it by (`/proc/self/fd/N` when pinned). */
  path: string;
  /** Its real path. */
  real: string;
  /** Its device and inode, as the pinned handle saw them. */
  id: string;
  release(): void;
}

let procFd: boolean | undefined;
let nodeFs: Promise<typeof import("node:fs")> | undefined;

/** Whether `/proc/self/fd` works here: Linux, with read permission for it. Checked once. */
function procFdUsable(): boolean {
  if (procFd === undefined) {
    try {
      procFd = Deno.build.os === "linux" &&
        Deno.permissions.querySync({ name: "read", path: "/proc/self/fd" }).state === "granted" &&
        Deno.statSync("/proc/self/fd").isDirectory;
    } catch {
      procFd = false;
    }
  }
  return procFd;
}

/** Prefix of in-progress atomic uploads: hidden from listings and from clients. */
export const UPLOAD_PREFIX = ".ftpgate-upload-";
/** The whole name of an atomic upload's temporary file: the prefix and a random UUID. */
const UPLOAD_NAME =
  /^\.ftpgate-upload-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Directories read between two yields to the event loop while looking for stale uploads. */
const CLEANUP_BATCH = 64;

/** A default reader (no BYOB buffer of its own) gets chunks of this size. */
const DEFAULT_CHUNK = 256 * 1024;
/** Directory entries stat'ed between two yields to the event loop (a yield costs ~2 ms here). */
const LIST_BATCH = 16384;

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
export class LocalStorage implements Storage, Disposable {
  readonly backend = "local";
  /** Everything: offsets, append, renames, permission bits, inode ids. Replacing a file is atomic only with `atomicUploads`. */
  readonly capabilities: StorageCapabilities;
  /** The real (symlink-free) path of the root directory. */
  readonly root: string;
  readonly #onNotCapable: ((error: Error) => void) | undefined;
  readonly #atomic: boolean;
  /** Real paths with an upload in progress: a second writer gets `busy`, never an interleaving. */
  readonly #writing = new Set<string>();
  readonly #guard: WriteGuard | undefined;
  /** Listings of large directories, when `listCache` is on and sound here (undefined: not yet). */
  #cache: DirCache | null | undefined;
  readonly #cacheOptions: DirCacheOptions | null;
  #closed = false;

  /**
   * Serves `root`, resolved once to its real path.
   *
   * @param root an existing directory; throws `Deno.errors.NotFound` if it is missing and
   *   `TypeError` if it is not a directory.
   */
  constructor(root: string, options: LocalStorageOptions = {}) {
    const real = Deno.realPathSync(root);
    if (!Deno.statSync(real).isDirectory) throw new TypeError(`root is not a directory: ${root}`);
    this.root = real === "/" ? "" : real;
    this.#onNotCapable = options.onNotCapable;
    this.#atomic = options.atomicUploads ?? false;
    this.#guard = options.writeGuard;
    this.capabilities = { ...FULL_CAPABILITIES, atomicReplace: this.#atomic };
    const cache = options.listCache ?? false;
    this.#cacheOptions = cache === false ? null : cache === true ? {} : cache;
  }

  /**
   * The listing cache, opened with the first listing: loading libc through FFI and reading the
   * mount table cost a millisecond or two that start-up should not pay.
   */
  #listCache(): DirCache | null {
    if (this.#cacheOptions !== null && !this.#closed && this.#cache === undefined) {
      this.#cache = DirCache.open(this.root || "/", this.#cacheOptions);
    }
    return this.#cache ?? null;
  }

  /** True when listings are cached (`listCache` asked for, and sound here). */
  get listCacheActive(): boolean {
    return this.#listCache() !== null;
  }

  /** Directories whose listing is cached right now. */
  get cachedDirectories(): number {
    return this.#cache?.size ?? 0;
  }

  /** Stops the listing cache (closes its inotify instance). Safe to call twice. */
  close(): void {
    this.#closed = true;
    this.#cache?.close();
  }

  /** {@linkcode LocalStorage.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Where `path` really is, as a virtual path: its real path (through the jail's own resolution,
   * so a link out of the root is `permission`) relative to the root; for a missing final
   * component (a name about to be created, a dangling link) the real parent plus the name.
   *
   * @example
   * ```ts
   * import { LocalStorage } from "./local.ts";
   * const root = Deno.makeTempDirSync();
   * Deno.mkdirSync(`${root}/inbox`);
   * Deno.mkdirSync(`${root}/pub`);
   * Deno.symlinkSync("../inbox", `${root}/pub/latest`);
   * await new LocalStorage(root).realVirtualPath("/pub/latest/new.txt"); // "/inbox/new.txt"
   * ```
   */
  realVirtualPath(path: string): Promise<string> {
    return this.#run(path, () => {
      let real: string;
      try {
        real = this.#realExisting(path);
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound) || path === "/") throw error;
        real = this.#realTarget(path);
      }
      return real === (this.root || "/") ? "/" : real.slice(this.root.length);
    });
  }

  stat(path: string): Promise<FileStat> {
    return this.#run(path, () => {
      const real = this.#realExisting(path);
      // lstat, not stat: `real` is symlink-free, so a symlink there now was swapped in since.
      const info = Deno.lstatSync(real);
      if (info.isSymlink) throw new StorageError("permission", path);
      return toFileStat(baseName(path), info);
    });
  }

  async *list(path: string, options: OperationOptions = {}): AsyncGenerator<FileStat> {
    let dir: PinnedDirectory;
    try {
      dir = await this.#pinDirectory(path);
    } catch (error) {
      throw this.#error(error, path);
    }
    const prefix = dir.real === "/" ? "/" : `${dir.real}/`;
    let fill: CacheFill | null = null;
    try {
      const cache = this.#listCache();
      if (cache !== null) {
        // The directory was resolved and pinned above, as for every listing: the cache only
        // spares the stats of entries that have not changed (see dir_cache.ts).
        const cached = cache.lookup(dir.real, dir.id, (name) => this.#probe(prefix, name));
        if (cached !== null) {
          for (let i = 0; i < cached.length; i++) {
            if (i > 0 && i % LIST_BATCH === 0) {
              await new Promise((resolve) => setTimeout(resolve, 0));
              options.signal?.throwIfAborted();
            }
            const entry = cached[i];
            const stat = typeof entry === "string" ? this.#liveStat(prefix, entry) : entry;
            if (stat !== null) yield stat;
          }
          return;
        }
        fill = cache.begin(dir.real, dir.id); // before the read: changes meanwhile are seen
      }
      // Deno reads a directory's names in one call (its Rust side collects them all): the names
      // are held, but each entry is stat'ed and handed on in batches, so no array of stats and
      // no sorted copy is ever built. Names come from the pinned directory; each entry is then
      // stat'ed by its real path, which is much cheaper than through /proc (and a swap can at
      // most show the size and date of a file outside that has the same name as one inside).
      let names: Deno.DirEntry[];
      try {
        names = Array.from(Deno.readDirSync(dir.path));
      } catch (error) {
        throw this.#error(error, path);
      }
      for (let i = 0; i < names.length; i++) {
        // A huge directory must not hold every other session: let them in now and then.
        if (i > 0 && i % LIST_BATCH === 0) {
          await new Promise((resolve) => setTimeout(resolve, 0));
          options.signal?.throwIfAborted();
        }
        const name = names[i];
        if (fill !== null) {
          const entry = this.#probe(prefix, name.name);
          if (entry === null) continue;
          fill.add(entry);
          const stat = typeof entry === "string" ? this.#liveStat(prefix, entry) : entry;
          if (stat !== null) yield stat;
          continue;
        }
        const entry = this.#entryStat(prefix, name);
        if (entry !== null) yield entry;
      }
      fill?.commit();
      fill = null;
    } finally {
      fill?.abandon();
      dir.release();
    }
  }

  read(path: string, options: ReadOptions = {}): Promise<ReadHandle> {
    const offset = options.offset ?? 0;
    return this.#run(path, () => {
      const { file, info } = this.#openChecked(path, this.#realExisting(path), "file");
      try {
        if (offset > 0) file.seekSync(offset, Deno.SeekMode.Start);
        return { size: info.size, readable: fileReadable(file) };
      } catch (error) {
        file.close();
        throw error;
      }
    });
  }

  async write(path: string, options: WriteOptions = {}): Promise<WriteHandle> {
    const target = await this.#run(path, () => this.#realTarget(path));
    const guard = this.#guard;
    if (guard !== undefined) {
      if (!(await guard.acquire(target))) throw new StorageError("busy", path);
    } else {
      if (this.#writing.has(target)) throw new StorageError("busy", path);
      this.#writing.add(target);
    }
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      if (guard !== undefined) guard.release(target);
      else this.#writing.delete(target);
    };
    try {
      if (!this.#atomic) {
        // Checked now, so that a refusal comes before the 150; the file is opened (and
        // truncated) only when the first byte or the end of the upload arrives: an upload whose
        // data connection or TLS handshake fails changes nothing.
        const existing = this.#existing(path, target);
        if (existing && options.exclusive) throw new StorageError("exists", path);
        if (!existing && (options.offset ?? 0) > 0) throw new StorageError("not-found", path);
        const isNew = existing === null;
        return this.#fileSink(() => this.#openForWrite(path, target, options, isNew), path, () => {
          release();
          return Promise.resolve();
        });
      }
      const upload = await this.#openTemporary(path, target, options);
      return this.#fileSink(() => upload.file, path, (complete) => {
        try {
          if (complete) upload.commit();
          else removeQuietly(upload.temporary);
          return Promise.resolve();
        } catch (error) {
          removeQuietly(upload.temporary); // a hidden file clients cannot delete must not stay
          return Promise.reject(error);
        } finally {
          release();
        }
      }, upload.file);
    } catch (error) {
      release();
      throw this.#error(error, path);
    }
  }

  mkdir(path: string): Promise<void> {
    return this.#run(path, () => Deno.mkdirSync(this.#realTarget(path)));
  }

  remove(path: string): Promise<void> {
    return this.#run(path, () => {
      const target = this.#realTarget(path);
      // lstat: a symlink is removed itself, whatever it points to.
      if (Deno.lstatSync(target).isDirectory) throw new StorageError("is-a-directory", path);
      Deno.removeSync(target);
    });
  }

  rmdir(path: string): Promise<void> {
    return this.#run(path, () => {
      if (path === "/") throw new StorageError("permission", path);
      const target = this.#realTarget(path);
      if (!Deno.lstatSync(target).isDirectory) throw new StorageError("not-a-directory", path);
      Deno.removeSync(target);
    });
  }

  rename(from: string, to: string): Promise<void> {
    return this.#run(from, () => {
      if (from === "/" || to === "/") throw new StorageError("permission", from);
      const source = this.#realTarget(from);
      const target = this.#realTarget(to);
      Deno.lstatSync(source);
      Deno.renameSync(source, target);
    });
  }

  setMtime(path: string, mtime: Date): Promise<void> {
    // Through a handle proven to be the checked object: utime() by path follows a symlink
    // swapped in after the check, which would change a file outside the root.
    return this.#run(path, () => {
      const { file, info } = this.#openChecked(path, this.#realExisting(path), "any");
      try {
        file.utimeSync(info.atime ?? mtime, mtime);
      } finally {
        file.close();
      }
    });
  }

  async chmod(path: string, mode: number): Promise<void> {
    // Through a checked descriptor, for the same reason as setMtime (Deno's FsFile has no
    // chmod; node:fs's fchmod does it, loaded on first use). Permission bits only: a client
    // must not be able to set setuid or setgid.
    const fs = await (nodeFs ??= import("node:fs"));
    return this.#run(path, () => {
      const real = this.#realExisting(path);
      const checked = this.#checkedInfo(path, real, "any");
      const fd = fs.openSync(real, "r");
      try {
        this.#verifyOpened(path, real, fs.fstatSync(fd), checked);
        fs.fchmodSync(fd, mode & 0o777);
      } finally {
        fs.closeSync(fd);
      }
    });
  }

  /**
   * Removes the temporary files of atomic uploads that a killed process left behind: regular
   * files named exactly as this module names them (the prefix and a UUID), last changed before
   * `olderThan`, anywhere in the tree. Symlinks are never followed; nothing else is touched.
   * Runs in the background at start, yielding between directories. Resolves to how many it
   * removed.
   */
  async removeStaleUploads(olderThan: Date, signal?: AbortSignal): Promise<number> {
    let removed = 0;
    const pending = [this.root || "/"];
    for (let visited = 0; pending.length > 0; visited++) {
      if (signal?.aborted) break;
      if (visited % CLEANUP_BATCH === CLEANUP_BATCH - 1) await new Promise((r) => setTimeout(r, 0));
      const dir = pending.pop()!;
      let entries: Deno.DirEntry[];
      try {
        entries = Array.from(Deno.readDirSync(dir));
      } catch {
        continue; // gone or unreadable: not ours to worry about
      }
      for (const entry of entries) {
        const path = `${dir === "/" ? "" : dir}/${entry.name}`;
        if (entry.isDirectory && !entry.isSymlink) pending.push(path);
        if (!entry.isFile || !UPLOAD_NAME.test(entry.name)) continue;
        try {
          const info = Deno.lstatSync(path);
          if (!info.isFile || (info.mtime?.getTime() ?? Infinity) >= olderThan.getTime()) continue;
          Deno.removeSync(path);
          removed++;
        } catch { /* vanished meanwhile */ }
      }
    }
    return removed;
  }

  /** Runs a blocking operation, turning any failure into a rejected StorageError. */
  #run<T>(path: string, operation: () => T): Promise<T> {
    try {
      return Promise.resolve(operation());
    } catch (error) {
      return Promise.reject(this.#error(error, path));
    }
  }

  /**
   * A directory to read, held open so that swapping its path for a symlink after the check
   * cannot redirect the read: on Linux it is read through `/proc/self/fd/N`, which names the
   * opened directory itself, not a path resolved again. (Needs read permission on
   * `/proc/self/fd`, which `deno task start` grants; without it, the path is checked again after
   * the read instead, which narrows the race but cannot close it.)
   */
  async #pinDirectory(path: string): Promise<PinnedDirectory> {
    const real = this.#realExisting(path);
    if (procFdUsable()) {
      // node:fs only for a numeric descriptor: loaded on first listing, not at every start.
      const { openSync, closeSync } = await (nodeFs ??= import("node:fs"));
      const fd = openSync(real, "r");
      try {
        const pinned = `/proc/self/fd/${fd}`;
        if (Deno.realPathSync(pinned) !== real) throw new StorageError("permission", path);
        const info = Deno.statSync(pinned);
        if (!info.isDirectory) throw new StorageError("not-a-directory", path);
        return { path: pinned, real, id: objectId(info), release: () => closeSync(fd) };
      } catch (error) {
        closeSync(fd);
        throw error;
      }
    }
    const info = Deno.statSync(real);
    if (!info.isDirectory) throw new StorageError("not-a-directory", path);
    return {
      path: real,
      real,
      id: objectId(info),
      release: () => {
        if (Deno.realPathSync(this.root + path) !== real) {
          throw new StorageError("permission", path);
        }
      },
    };
  }

  /** The real path of an existing object, refusing anything that resolves outside the root. */
  #realExisting(path: string): string {
    if (isUploadName(path)) throw new StorageError("not-found", path);
    const real = Deno.realPathSync(this.root + path);
    if (!this.#inside(real)) throw new StorageError("permission", path);
    return real;
  }

  /**
   * The real path at which `path` would be created or changed: the parent's real path plus the
   * name. The name itself is not resolved, so a symlink there is handled by the caller (removed
   * as a link, or refused or followed by the write checks).
   */
  #realTarget(path: string): string {
    if (path === "/") return this.root || "/";
    if (isUploadName(path)) throw new StorageError("not-found", path);
    const parent = this.#realExisting(parentPath(path));
    return `${parent === "/" ? "" : parent}/${baseName(path)}`;
  }

  /** What is at `target` now: its (symlink-resolved, jail-checked) real path and stat, or null. */
  #existing(path: string, target: string): { real: string; info: Deno.FileInfo } | null {
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(target);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return null;
      throw error;
    }
    let real = target;
    if (info.isSymlink) {
      real = Deno.realPathSync(target);
      if (!this.#inside(real)) throw new StorageError("permission", path);
      // `real` is symlink-free: a symlink there now was swapped in since.
      info = Deno.lstatSync(real);
      if (info.isSymlink) throw new StorageError("permission", path);
    }
    if (info.isDirectory) throw new StorageError("is-a-directory", path);
    if (!info.isFile) throw new StorageError("permission", path);
    return { real, info };
  }

  #openForWrite(
    path: string,
    target: string,
    options: WriteOptions,
    isNew: boolean,
  ): Deno.FsFile {
    // The upload was checked at STOR, but the file opens only with its first byte: resolve the
    // path again now, in the same synchronous step as the open, so that nothing another session
    // renamed meanwhile (a directory swapped for a symlink to outside) can redirect it.
    this.#sameTarget(path, target);
    if (isNew) {
      // Still new, most likely: create it outright (O_CREAT|O_EXCL never follows a symlink),
      // which spares a failing lstat (an exception, ~15 µs) per new file. Something there now
      // goes the long way below, as if it had been there at STOR.
      try {
        return Deno.openSync(target, { write: true, createNew: true, mode: 0o644 });
      } catch (error) {
        if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      }
    }
    const existing = this.#existing(path, target);
    if (existing === null) {
      if ((options.offset ?? 0) > 0) throw new StorageError("not-found", path);
      // O_CREAT|O_EXCL refuses to follow a symlink planted at the name after our lstat.
      return Deno.openSync(target, { write: true, createNew: true, mode: 0o644 });
    }
    if (options.exclusive) throw new StorageError("exists", path);
    // Opened without truncation: nothing is changed until the handle is proven to be the file
    // we checked.
    const file = Deno.openSync(existing.real, { write: true });
    try {
      this.#verifyOpened(path, existing.real, file.statSync(), existing.info);
      if (options.append) {
        file.seekSync(0, Deno.SeekMode.End);
      } else {
        // Past the end, truncate() extends with zeros; the protocol layer refuses such offsets.
        const offset = options.offset ?? 0;
        file.truncateSync(offset);
        if (offset > 0) file.seekSync(offset, Deno.SeekMode.Start);
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
  ): Promise<{ file: Deno.FsFile; temporary: string; commit(): void }> {
    const existing = this.#existing(path, target);
    if (existing && options.exclusive) throw new StorageError("exists", path);
    if (existing === null && (options.offset ?? 0) > 0) throw new StorageError("not-found", path);
    const real = existing?.real ?? target;
    const keep = existing === null
      ? 0
      : options.append
      ? existing.info.size
      : Math.min(options.offset ?? 0, existing.info.size);
    const temporary = `${
      real.slice(0, real.lastIndexOf("/"))
    }/${UPLOAD_PREFIX}${crypto.randomUUID()}`;
    const file = Deno.openSync(temporary, {
      write: true,
      createNew: true,
      mode: existing?.info.mode ?? 0o644,
    });
    try {
      // Asynchronous on purpose: APPE to a large file would otherwise copy it in one block.
      if (keep > 0) await copyPrefix(real, file, keep);
    } catch (error) {
      file.close();
      removeQuietly(temporary);
      throw error;
    }
    return {
      file,
      temporary,
      commit: () => {
        // As for a direct open: the place resolved at STOR must still be the place now.
        this.#sameTarget(path, target);
        if (real !== target && Deno.realPathSync(target) !== real) {
          throw new StorageError("permission", path);
        }
        if (options.exclusive) {
          // link() fails if the name appeared meanwhile: exclusive even against a racing upload.
          Deno.linkSync(temporary, real);
          Deno.removeSync(temporary);
        } else {
          Deno.renameSync(temporary, real);
        }
      },
    };
  }

  /** Refuses when `path` no longer resolves to the real path it had when checked. */
  #sameTarget(path: string, target: string): void {
    if (this.#realTarget(path) !== target) throw new StorageError("permission", path);
  }

  /**
   * What is at the symlink-free path `real` before it is opened: lstat, so that a symlink
   * swapped in since the real path was resolved is seen as one (and refused).
   */
  #checkedInfo(path: string, real: string, kind: "file" | "any"): Deno.FileInfo {
    const checked = Deno.lstatSync(real);
    if (checked.isSymlink) throw new StorageError("permission", path);
    if (kind === "file" && checked.isDirectory) throw new StorageError("is-a-directory", path);
    // A FIFO or device would block the open or stream forever.
    if (!checked.isFile && !(kind === "any" && checked.isDirectory)) {
      throw new StorageError("permission", path);
    }
    return checked;
  }

  /** Opens `real` for reading and proves the handle is the object checked inside the root. */
  #openChecked(
    path: string,
    real: string,
    kind: "file" | "any",
  ): { file: Deno.FsFile; info: Deno.FileInfo } {
    const checked = this.#checkedInfo(path, real, kind);
    const file = Deno.openSync(real, { read: true });
    try {
      const info = file.statSync();
      this.#verifyOpened(path, real, info, checked);
      return { file, info };
    } catch (error) {
      file.close();
      throw error;
    }
  }

  /**
   * Proves an opened handle is the object checked before opening, and that the path still names
   * it, inside the root. Before the open, lstat saw a regular file (not a symlink) at `real`;
   * after it, the handle must be that inode, `real` must still lstat to it, and `real` must
   * still be its own real path. A swap that redirected the open to a file outside fails one of
   * these unless the attacker swaps twice, each time inside a window of microseconds, with
   * write access to the root — a local user, never an FTP client.
   */
  #verifyOpened(path: string, real: string, opened: Identified, checked: Deno.FileInfo): void {
    const now = Deno.lstatSync(real);
    if (
      !sameObject(opened, checked) || !sameObject(opened, now) || now.isSymlink ||
      Deno.realPathSync(real) !== real
    ) {
      throw new StorageError("permission", path);
    }
  }

  /**
   * Wraps a file, opened on first use, as the write side of an upload. `finish(true)` runs after
   * a complete upload, `finish(false)` after an aborted or failed one; the file is closed first.
   */
  #fileSink(
    open: () => Deno.FsFile,
    path: string,
    finish: (complete: boolean) => Promise<void>,
    opened: Deno.FsFile | null = null,
  ): WriteHandle {
    // An atomic upload's temporary file is open already: it must be closed whatever happens,
    // even when the upload is given up before its first byte.
    let file: Deno.FsFile | null = opened;
    let done = false;
    const end = async (complete: boolean) => {
      if (done) return;
      done = true;
      try {
        // A complete upload of zero bytes still creates (or empties) the file.
        if (complete) file ??= open();
        file?.close();
      } catch (error) {
        await finish(false).catch(() => {});
        throw this.#error(error, path);
      }
      try {
        await finish(complete);
      } catch (error) {
        throw this.#error(error, path);
      }
    };
    return new WritableStream<Uint8Array>({
      write: async (chunk) => {
        try {
          file ??= open();
          let offset = 0;
          while (offset < chunk.length) offset += file.writeSync(chunk.subarray(offset));
        } catch (error) {
          await end(false).catch(() => {});
          throw this.#error(error, path);
        }
      },
      close: () => end(true),
      abort: () => end(false),
    });
  }

  #entryStat(prefix: string, entry: Deno.DirEntry): FileStat | null {
    if (entry.name.startsWith(UPLOAD_PREFIX)) return null;
    const real = prefix + entry.name;
    try {
      if (entry.isSymlink) {
        // Listed only when it resolves inside the root, then shown as what it points to.
        const target = Deno.realPathSync(real);
        if (!this.#inside(target)) return null;
        const info = Deno.lstatSync(target);
        return info.isSymlink ? null : toFileStat(entry.name, info);
      }
      if (!entry.isFile && !entry.isDirectory) return null;
      return toFileStat(entry.name, Deno.lstatSync(real));
    } catch {
      return null; // vanished since readDir, or unreadable: not listed
    }
  }

  /**
   * What the cache keeps of the entry `name`: its stat, or a mark to check it live every time
   * (a symlink, which must be resolved against the root on every listing; a file with other
   * hard links, whose changes through another directory no watch of ours sees). Null when it is
   * not listed at all (gone, an upload in progress, neither file nor directory).
   */
  #probe(prefix: string, name: string): CachedEntry | null {
    if (name.startsWith(UPLOAD_PREFIX)) return null;
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(prefix + name);
    } catch {
      return null;
    }
    if (info.isSymlink || (info.isFile && (info.nlink ?? 1) > 1)) {
      return name;
    }
    if (!info.isFile && !info.isDirectory) return null;
    return toFileStat(name, info);
  }

  /** An entry checked on every listing, exactly as an uncached listing checks it. */
  #liveStat(prefix: string, name: string): FileStat | null {
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(prefix + name);
    } catch {
      return null;
    }
    return this.#entryStat(prefix, {
      name,
      isFile: info.isFile,
      isDirectory: info.isDirectory,
      isSymlink: info.isSymlink,
    });
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

/**
 * A file's bytes as a byte stream; BYOB reads fill the caller's buffer directly. The transfer
 * pump reads the file through the attached raw reader instead (see raw_reader.ts).
 */
function fileReadable(file: Deno.FsFile): ReadableStream<Uint8Array> {
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    try {
      file.close();
    } catch { /* already closed */ }
  };
  const readSync = (buffer: Uint8Array): number | null => {
    try {
      const n = file.readSync(buffer);
      if (n === null) close();
      return n;
    } catch (error) {
      close();
      throw error;
    }
  };
  return attachRawReader(fileStream(file, close), { readSync, close });
}

function fileStream(file: Deno.FsFile, close: () => void): ReadableStream<Uint8Array> {
  return new ReadableStream({
    type: "bytes",
    autoAllocateChunkSize: DEFAULT_CHUNK,
    pull(controller) {
      const request = controller.byobRequest!;
      const view = request.view!;
      let n: number | null;
      try {
        n = file.readSync(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
      } catch (error) {
        close();
        throw error;
      }
      if (n === null) {
        close();
        controller.close();
        request.respond(0);
        return;
      }
      request.respond(n);
    },
    cancel: close,
  });
}

/** True when the path names an in-progress atomic upload, which clients may not touch. */
function isUploadName(path: string): boolean {
  return path.includes(UPLOAD_PREFIX) &&
    path.slice(path.lastIndexOf("/") + 1).startsWith(UPLOAD_PREFIX);
}

function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path);
  } catch { /* gone already */ }
}

/** Copies the first `length` bytes of the file at `source` into `target`. */
async function copyPrefix(source: string, target: Deno.FsFile, length: number): Promise<void> {
  using file = await Deno.open(source, { read: true });
  const buffer = new Uint8Array(Math.min(length, 1 << 20));
  let left = length;
  while (left > 0) {
    const n = await file.read(buffer.subarray(0, Math.min(left, buffer.length)));
    if (n === null) break;
    await writeAll(target, buffer.subarray(0, n));
    left -= n;
  }
}

/** What identifies a file: a Deno.FileInfo, or node:fs's fstat of a descriptor. */
interface Identified {
  ino: number | bigint | null;
  dev: number | bigint | null;
}

/** Device and inode, as a cache key. */
function objectId(info: Deno.FileInfo): string {
  return `${info.dev}:${info.ino}`;
}

/** Same device and inode. */
function sameObject(a: Identified, b: Identified): boolean {
  return a.ino !== null && Number(a.ino) === Number(b.ino) && Number(a.dev) === Number(b.dev);
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
