/**
 * Per-path rules judged where a path really leads, not only where it is named.
 *
 * The command handlers check a rule on the virtual path the client named. A symbolic link inside
 * the root (left by an operator or anything with shell access; the jail allows links that stay
 * inside the root, and no FTP command creates one) makes two names for one place:
 * `/pub/latest -> ../inbox` would let `RETR /pub/latest/secret.txt` be judged by the rules of
 * `/pub` while it reads the drop box `/inbox`. This decorator closes that: before each operation
 * it asks the back end where the path really is ({@linkcode Storage.realVirtualPath}) and refuses
 * (`permission`, the 550 of a rule refusal) when a right that the named path grants, and that
 * the operation needs, is not granted at the real path. Rights the named path lacks are the
 * handler's business (it refused already, or the command needs none, as CWD).
 *
 * What each operation needs, as the handlers check it:
 *
 * | operation | right at the real path |
 * |-----------|------------------------|
 * | `stat`, `list` | `list` (so CWD, SIZE, MDTM, MLST, STAT, LIST, NLST, MLSD through a link into a place the user may not list are refused, and tell nothing about what it holds) |
 * | `read` | `download` |
 * | `write` | `upload` for a new file, `overwrite` over one (also with a REST offset), `append` for APPE onto one |
 * | `mkdir`, `setMtime`, `chmod` | `mkdir`, `mtime`, `chmod` |
 * | `remove`, `rmdir`, `rename` | `delete`, `rmdir`, `rename` (both names), `overwrite` onto an existing name; a directory with a rule of its own below its real path is not moved |
 *
 * `remove`, `rmdir` and `rename` act on a link itself, not on what it points to (see
 * `local.ts`), so they are judged at the real location of the parent plus the name.
 *
 * Installed only for a user whose rules are not uniform (some rule or restriction starts below
 * `/`) and whose tree can have links: anyone else pays nothing, not even a call. Where it is
 * installed, each operation costs one extra resolution (a `realpath`) on local disk.
 *
 * What remains: the check and the operation resolve the path separately, so someone who can
 * swap links inside the root can race them, as for the jail (`local.ts`), a local user, never
 * an FTP client. MLSx `perm` facts are computed from the named path.
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
} from "../storage/storage.ts";
import { baseName, joinPath, parentPath } from "../storage/vpath.ts";
import type { AccessRules, Permission } from "./rules.ts";

/**
 * `storage` with `rules` judged at the real path of every operation as well; `storage` itself
 * when that cannot matter (uniform rules, or a back end without links).
 *
 * @example A link into a drop box leads nowhere
 * ```ts
 * import { withRealPathRules } from "./real_path_rules.ts";
 * import { AccessRules, PERMISSIONS } from "./rules.ts";
 * import { LocalStorage } from "../storage/local.ts";
 * const root = Deno.makeTempDirSync();
 * Deno.mkdirSync(`${root}/inbox`);
 * Deno.mkdirSync(`${root}/pub`);
 * Deno.writeTextFileSync(`${root}/inbox/secret.txt`, "dropped");
 * Deno.symlinkSync("../inbox", `${root}/pub/latest`);
 * const rules = new AccessRules([
 *   { path: "/", allow: PERMISSIONS },
 *   { path: "/inbox", allow: ["upload"] },
 * ]);
 * const storage = withRealPathRules(new LocalStorage(root), rules);
 * await storage.read("/pub/latest/secret.txt").catch((e) => e.kind); // "permission"
 * ```
 */
export function withRealPathRules(storage: Storage, rules: AccessRules): Storage {
  if (storage.realVirtualPath === undefined || rules.uniformBelow("/")) return storage;
  return new RealPathRules(storage, rules);
}

class RealPathRules implements Storage {
  readonly #inner: Storage;
  readonly #resolve: (path: string, options?: OperationOptions) => Promise<string>;
  readonly #rules: AccessRules;

  constructor(inner: Storage, rules: AccessRules) {
    this.#inner = inner;
    this.#resolve = inner.realVirtualPath!.bind(inner);
    this.#rules = rules;
  }

  get capabilities(): StorageCapabilities {
    return this.#inner.capabilities;
  }

  capabilitiesAt(path: string): StorageCapabilities {
    return this.#inner.capabilitiesAt?.(path) ?? this.#inner.capabilities;
  }

  realVirtualPath(path: string, options?: OperationOptions): Promise<string> {
    return this.#resolve(path, options);
  }

  async stat(path: string, options?: OperationOptions): Promise<FileStat> {
    this.#require(path, await this.#resolve(path, options), "list");
    return this.#inner.stat(path, options);
  }

  async *list(path: string, options?: OperationOptions): AsyncGenerator<FileStat> {
    this.#require(path, await this.#resolve(path, options), "list");
    yield* this.#inner.list(path, options);
  }

  async read(path: string, options?: ReadOptions): Promise<ReadHandle> {
    this.#require(path, await this.#resolve(path, options), "download");
    return this.#inner.read(path, options);
  }

  async write(path: string, options: WriteOptions = {}): Promise<WriteHandle> {
    await this.#checkWrite(path, await this.#resolve(path, options), options);
    return this.#inner.write(path, options);
  }

  async mkdir(path: string, options?: OperationOptions): Promise<void> {
    this.#require(path, await this.#resolve(path, options), "mkdir");
    return this.#inner.mkdir(path, options);
  }

  async remove(path: string, options?: OperationOptions): Promise<void> {
    this.#require(path, await this.#linkLocation(path, options), "delete");
    return this.#inner.remove(path, options);
  }

  async rmdir(path: string, options?: OperationOptions): Promise<void> {
    this.#require(path, await this.#linkLocation(path, options), "rmdir");
    return this.#inner.rmdir(path, options);
  }

  async rename(from: string, to: string, options?: OperationOptions): Promise<void> {
    const [realFrom, realTo] = await Promise.all([
      this.#linkLocation(from, options),
      this.#linkLocation(to, options),
    ]);
    // As RNFR and RNTO do on the named paths (files.ts): a directory with a rule of its own
    // below it does not move, nor into a place with one below.
    if (realFrom !== from) {
      this.#require(from, realFrom, "rename");
      if (!this.#rules.uniformBelow(realFrom)) throw new StorageError("permission", from);
    }
    if (realTo !== to) {
      this.#require(to, realTo, "rename");
      if (from !== to && this.#lost(to, realTo, "overwrite") && await this.#exists(to, options)) {
        throw new StorageError("permission", to);
      }
      if (
        !this.#rules.uniformBelow(realTo) &&
        (await this.#inner.stat(from, options).catch(() => null))?.type !== "file"
      ) {
        throw new StorageError("permission", to);
      }
    }
    return this.#inner.rename(from, to, options);
  }

  async setMtime(path: string, mtime: Date, options?: OperationOptions): Promise<void> {
    this.#require(path, await this.#resolve(path, options), "mtime");
    return this.#inner.setMtime(path, mtime, options);
  }

  async chmod(path: string, mode: number, options?: OperationOptions): Promise<void> {
    this.#require(path, await this.#resolve(path, options), "chmod");
    return this.#inner.chmod(path, mode, options);
  }

  /** The right the handler checked for this upload (transfers.ts), checked at `real` too. */
  async #checkWrite(path: string, real: string, options: WriteOptions): Promise<void> {
    if (real === path) return;
    if (options.exclusive) return this.#require(path, real, "upload");
    if ((options.offset ?? 0) > 0 && !options.append) {
      return this.#require(path, real, "overwrite");
    }
    // Upload for a new file, overwrite or append for an existing one: look only when the two
    // candidates are judged differently at the real path.
    const onExisting: Permission = options.append ? "append" : "overwrite";
    if (this.#lost(path, real, "upload") || this.#lost(path, real, onExisting)) {
      this.#require(path, real, (await this.#exists(path, options)) ? onExisting : "upload");
    }
  }

  /** True when `path` grants `permission` and its real location `real` does not. */
  #lost(path: string, real: string, permission: Permission): boolean {
    return real !== path && this.#rules.allows(permission, path) &&
      !this.#rules.allows(permission, real);
  }

  /** Refuses as a rule refusal does (550 "Permission denied") when `real` lacks the right. */
  #require(path: string, real: string, permission: Permission): void {
    if (this.#lost(path, real, permission)) throw new StorageError("permission", path);
  }

  /** The real location of the name itself (a link is not followed): the real parent, the name. */
  async #linkLocation(path: string, options?: OperationOptions): Promise<string> {
    if (path === "/") return path;
    return joinPath(await this.#resolve(parentPath(path), options), baseName(path));
  }

  async #exists(path: string, options?: OperationOptions): Promise<boolean> {
    try {
      await this.#inner.stat(path, options);
      return true;
    } catch (error) {
      if (error instanceof StorageError && error.kind === "not-found") return false;
      throw error;
    }
  }
}
