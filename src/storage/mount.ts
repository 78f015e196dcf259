/**
 * A mount table: one tree made of several back ends under virtual paths (`/` on a local
 * directory, `/archive` on another, read-only, `/shared` in a bucket). Each path belongs to the
 * mount with the longest matching prefix; a mount point shows in its parent's listing even when
 * the parent's back end has no such directory, and so do the directories leading to a deeper
 * mount point.
 *
 * Renames across mounts are refused (550, naming both paths): a copy and delete between back
 * ends is neither atomic nor cheap, and `mv` between file systems is the client's decision.
 * Mount points themselves, and the directories leading to them, cannot be removed, renamed or
 * renamed onto.
 *
 * @module
 */

import { FtpError, StorageError } from "../errors.ts";
import { Code } from "../protocol/codes.ts";
import { quotePath } from "../protocol/reply.ts";
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
import { baseName, isWithin, resolvePath, splitPath } from "./vpath.ts";
import { LocalStorage } from "./local.ts";

/** One back end under a virtual path. */
export interface Mount {
  /** Where it appears (`/`, `/archive`). */
  path: string;
  /** The back end. */
  storage: Storage;
  /** Nothing under it may be changed. */
  readOnly?: boolean;
}

interface Located {
  mount: Mount;
  /** The path inside the mount's back end. */
  inner: string;
}

/** A synthetic directory: a mount point's parent that no back end holds. */
const SYNTHETIC_MODE = 0o555;

/**
 * A {@linkcode Storage} composed of other storages.
 *
 * @example A home directory with a read-only archive
 * ```ts
 * import { MountTable } from "./mount.ts";
 * import { MemoryStorage } from "./memory.ts";
 * const tree = new MountTable([
 *   { path: "/", storage: new MemoryStorage() },
 *   { path: "/archive", storage: MemoryStorage.from({ "2025.csv": "..." }), readOnly: true },
 * ]);
 * (await tree.stat("/archive/2025.csv")).size; // 3
 * ```
 */
export class MountTable implements Storage {
  /** What any mount can do (FEAT advertises a feature that works somewhere in the tree). */
  readonly capabilities: StorageCapabilities;
  /** Longest path first. */
  readonly #mounts: readonly Mount[];
  readonly #created = new Date();
  /** Local mounts by the real directory they serve, longest first (built on first use). */
  #localRoots: readonly { root: string; mount: Mount }[] | undefined;
  /**
   * Where `path` really is (see {@linkcode Storage.realVirtualPath}): asked of the mount that
   * holds it, with the mount's path put back in front. A link that leaves one mount for the real
   * directory of another (possible when that directory lies inside the first one's root) is
   * told by the other mount's path, whose rules are the ones meant for those files. Present only
   * when some mount can tell (a local directory); a path no back end holds (a synthetic
   * directory leading to a mount) is where it is named.
   */
  readonly realVirtualPath?: (path: string, options?: OperationOptions) => Promise<string>;

  /** Throws `TypeError` for a relative or duplicate mount path. */
  constructor(mounts: readonly Mount[]) {
    const seen = new Set<string>();
    const normalized = mounts.map((mount) => {
      if (!mount.path.startsWith("/")) {
        throw new TypeError(`mount path must be absolute: "${mount.path}"`);
      }
      const path = resolvePath("/", mount.path);
      if (seen.has(path)) throw new TypeError(`mount path given twice: "${path}"`);
      seen.add(path);
      return { ...mount, path };
    });
    this.#mounts = normalized.sort((a, b) => b.path.length - a.path.length);
    const union = {} as Record<keyof StorageCapabilities, boolean>;
    for (const mount of normalized) {
      for (const [name, value] of Object.entries(mount.storage.capabilities)) {
        union[name as keyof StorageCapabilities] ||= value;
      }
    }
    this.capabilities = Object.freeze(union);
    if (normalized.some((mount) => mount.storage.realVirtualPath !== undefined)) {
      this.realVirtualPath = (path, options) => this.#realVirtualPath(path, options);
    }
  }

  /** The mounts, longest path first. */
  get mounts(): readonly Mount[] {
    return this.#mounts;
  }

  /** The capabilities of the mount that holds `path`. */
  capabilitiesAt(path: string): StorageCapabilities {
    const located = this.#locate(path);
    return located === null
      ? this.capabilities
      : located.mount.storage.capabilitiesAt?.(located.inner) ?? located.mount.storage.capabilities;
  }

  /** The back end of the mount that holds `path` (`mount` for the directories leading to one). */
  backendAt(path: string): string {
    const located = this.#locate(path);
    if (located === null) return "mount";
    const { storage } = located.mount;
    return storage.backendAt?.(located.inner) ?? storage.backend ?? "custom";
  }

  async stat(path: string, options?: OperationOptions): Promise<FileStat> {
    const located = this.#locate(path);
    if (located !== null) {
      try {
        const stat = await located.mount.storage.stat(located.inner, options);
        return located.inner === "/" ? { ...stat, name: baseName(path) } : stat;
      } catch (error) {
        if (
          !(error instanceof StorageError && error.kind === "not-found") ||
          !this.#leadsToMount(path)
        ) {
          throw this.#outer(error, located, path);
        }
      }
    }
    if (this.#leadsToMount(path)) return this.#synthetic(baseName(path));
    throw new StorageError("not-found", path);
  }

  async *list(path: string, options?: OperationOptions): AsyncGenerator<FileStat> {
    const overlay = this.#childMounts(path);
    const located = this.#locate(path);
    const listed = new Set<string>();
    if (located !== null) {
      try {
        for await (const entry of located.mount.storage.list(located.inner, options)) {
          listed.add(entry.name);
          const shadow = overlay.get(entry.name);
          yield shadow === undefined ? entry : await shadow();
        }
      } catch (error) {
        // A synthetic directory that the owning back end does not hold: only the overlay.
        const missing = error instanceof StorageError && error.kind === "not-found";
        if (!missing || overlay.size === 0) throw this.#outer(error, located, path);
      }
    } else if (overlay.size === 0) {
      throw new StorageError("not-found", path);
    }
    for (const [name, stat] of overlay) {
      if (!listed.has(name)) yield await stat();
    }
  }

  read(path: string, options?: ReadOptions): Promise<ReadHandle> {
    return this.#call(path, false, (storage, inner) => storage.read(inner, options));
  }

  async write(path: string, options?: WriteOptions): Promise<WriteHandle> {
    const located = this.#require(path, true);
    const sink = await this.#run(
      located,
      path,
      () => located.mount.storage.write(located.inner, options),
    );
    return located.mount.path === "/" ? sink : this.#outerSink(sink, located, path);
  }

  mkdir(path: string, options?: OperationOptions): Promise<void> {
    if (this.#isMountPoint(path) || this.#leadsToMount(path)) {
      return Promise.reject(new StorageError("exists", path));
    }
    return this.#call(path, true, (storage, inner) => storage.mkdir(inner, options));
  }

  remove(path: string, options?: OperationOptions): Promise<void> {
    if (this.#isMountPoint(path)) return Promise.reject(new StorageError("is-a-directory", path));
    return this.#call(path, true, (storage, inner) => storage.remove(inner, options));
  }

  rmdir(path: string, options?: OperationOptions): Promise<void> {
    if (this.#isMountPoint(path) || this.#leadsToMount(path)) {
      return Promise.reject(new StorageError("permission", path));
    }
    return this.#call(path, true, (storage, inner) => storage.rmdir(inner, options));
  }

  async rename(from: string, to: string, options?: OperationOptions): Promise<void> {
    if (this.#isMountPoint(from) || this.#leadsToMount(from)) {
      throw new StorageError("permission", from);
    }
    // Nor onto the way to one (`/shared` when `/shared/team` is mounted): what moved there
    // would be shadowed by the mount, files hidden below a tree the user sees instead.
    if (this.#isMountPoint(to) || this.#leadsToMount(to)) {
      throw new StorageError("permission", to);
    }
    const source = this.#require(from, true);
    const target = this.#require(to, true);
    if (source.mount !== target.mount) {
      throw new FtpError(
        Code.FILE_UNAVAILABLE,
        `Cannot rename ${quotePath(from)} to ${quotePath(to)}: they are on different mounts.`,
      );
    }
    await this.#run(
      source,
      from,
      () => source.mount.storage.rename(source.inner, target.inner, options),
    );
  }

  setMtime(path: string, mtime: Date, options?: OperationOptions): Promise<void> {
    return this.#call(path, true, (storage, inner) => storage.setMtime(inner, mtime, options));
  }

  chmod(path: string, mode: number, options?: OperationOptions): Promise<void> {
    if (this.#isMountPoint(path)) return Promise.reject(new StorageError("permission", path));
    return this.#call(path, true, (storage, inner) => storage.chmod(inner, mode, options));
  }

  async #realVirtualPath(path: string, options?: OperationOptions): Promise<string> {
    const located = this.#locate(path);
    const storage = located?.mount.storage;
    if (located === null || storage?.realVirtualPath === undefined) return path;
    let inner: string;
    try {
      inner = await storage.realVirtualPath(located.inner, options);
    } catch (error) {
      if (error instanceof StorageError && error.kind === "not-found" && this.#leadsToMount(path)) {
        return path;
      }
      throw this.#outer(error, located, path);
    }
    return this.#owner(located.mount, inner);
  }

  /**
   * The virtual path of `inner` (a path inside `mount`), by the mount that serves its real
   * directory: the local mount with the longest root that holds it and still serves it at that
   * path (not shadowed there by a deeper mount).
   */
  #owner(mount: Mount, inner: string): string {
    const outer = (base: Mount, rest: string) =>
      base.path === "/" ? rest : rest === "/" ? base.path : base.path + rest;
    if (!(mount.storage instanceof LocalStorage)) return outer(mount, inner);
    const real = mount.storage.root + (inner === "/" ? "" : inner);
    this.#localRoots ??= this.#mounts
      .flatMap((m) => m.storage instanceof LocalStorage ? [{ root: m.storage.root, mount: m }] : [])
      .sort((a, b) => b.root.length - a.root.length);
    for (const { root, mount: candidate } of this.#localRoots) {
      const holds = root === "" || real === root || real.startsWith(root + "/");
      if (!holds) continue;
      const path = outer(candidate, real.slice(root.length) || "/");
      if (this.#locate(path)?.mount === candidate) return path;
    }
    return outer(mount, inner);
  }

  /** The mount that holds `path`, or null when none does (a synthetic directory). */
  #locate(path: string): Located | null {
    for (const mount of this.#mounts) {
      if (isWithin(path, mount.path)) {
        const inner = mount.path === "/" ? path : path.slice(mount.path.length) || "/";
        return { mount, inner };
      }
    }
    return null;
  }

  /** The mount for an operation; `permission` for a change in a read-only one. */
  #require(path: string, changes: boolean): Located {
    const located = this.#locate(path);
    if (located === null) throw new StorageError(changes ? "permission" : "not-found", path);
    if (changes && located.mount.readOnly) throw new StorageError("permission", path);
    return located;
  }

  #call<T>(
    path: string,
    changes: boolean,
    call: (storage: Storage, inner: string) => Promise<T>,
  ): Promise<T> {
    let located: Located;
    try {
      located = this.#require(path, changes);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#run(located, path, () => call(located.mount.storage, located.inner));
  }

  async #run<T>(located: Located, path: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw this.#outer(error, located, path);
    }
  }

  /** A back end's error about its inner path, retold about the path the client used. */
  #outer(error: unknown, located: Located, path: string): unknown {
    if (!(error instanceof StorageError) || located.mount.path === "/") return error;
    return new StorageError(error.kind, path, { cause: error });
  }

  /** Upload errors told about the outer path too (a full disk under /archive says /archive/x). */
  #outerSink(sink: WriteHandle, located: Located, path: string): WriteHandle {
    const writer = sink.getWriter();
    const outer = (error: unknown) => {
      throw this.#outer(error, located, path);
    };
    return new WritableStream<Uint8Array>({
      write: (chunk) => writer.write(chunk).catch(outer),
      close: () => writer.close().catch(outer),
      abort: (reason) => writer.abort(reason),
    });
  }

  #isMountPoint(path: string): boolean {
    return path !== "/" && this.#mounts.some((mount) => mount.path === path);
  }

  /** True when a mount point lies strictly below `path`. */
  #leadsToMount(path: string): boolean {
    return this.#mounts.some((mount) => mount.path !== path && isWithin(mount.path, path));
  }

  /**
   * The entries a listing of `path` shows because of mounts: each child that is a mount point
   * (its back end's root) or leads to one (a synthetic directory).
   */
  #childMounts(path: string): Map<string, () => Promise<FileStat>> {
    const depth = splitPath(path).length;
    const children = new Map<string, () => Promise<FileStat>>();
    for (const mount of this.#mounts) {
      if (mount.path === path || !isWithin(mount.path, path)) continue;
      const name = splitPath(mount.path)[depth];
      const child = path === "/" ? `/${name}` : `${path}/${name}`;
      if (children.has(name)) continue;
      children.set(name, () => this.stat(child).catch(() => this.#synthetic(name)));
    }
    return children;
  }

  #synthetic(name: string): FileStat {
    return {
      name,
      type: "dir",
      size: 0,
      mtime: this.#created,
      mode: SYNTHETIC_MODE,
      id: `mount:${name}`,
    };
  }
}
