/**
 * `s3://` roots: the server's, a user's, a mount's, anonymous access's. Each distinct URL is
 * opened once (`openS3Storage()` probes the bucket, so a wrong endpoint or key fails the start,
 * not the first login) and handed to `serve()` as a `Storage`. The S3 module is imported only
 * when some root is an `s3://` URL.
 *
 * A reload (SIGHUP) reuses what is open and opens what is new; storages are closed only at
 * exit, after the server has finished, since sessions logged in before a reload keep theirs.
 *
 * @module
 */

import type { MountConfig, UserConfig } from "../identity/static.ts";
import type { Storage } from "../storage/storage.ts";
import { loadPart } from "./lazy.ts";
import type { AppSettings } from "./settings.ts";

/** True for `s3://...` (the S3 module's `isS3Url`, without loading it). */
export function isS3Root(root: unknown): root is string {
  return typeof root === "string" && /^s3:\/\//i.test(root);
}

/** Every root a configuration names: the server's, users', mounts', anonymous's. */
export function rootsOf(serve: AppSettings["serve"]): string[] {
  const roots: string[] = [serve.root];
  for (const user of serve.users ?? []) {
    if (typeof user.root === "string") roots.push(user.root);
    for (const mount of user.mounts ?? []) {
      if (typeof mount.root === "string") roots.push(mount.root);
    }
  }
  const anonymous = serve.anonymous;
  if (typeof anonymous === "object" && typeof anonymous.root === "string") {
    roots.push(anonymous.root);
  }
  return roots;
}

/** The S3 storages of one process, by URL. */
export class S3Roots {
  readonly #open = new Map<string, Promise<Storage & { close(): Promise<void> }>>();

  /** How many distinct buckets/prefixes are open. */
  get size(): number {
    return this.#open.size;
  }

  /**
   * The server options with every `s3://` root replaced by its storage. Throws the S3 module's
   * `S3ConfigError` (a message for the operator) when a bucket cannot be reached.
   */
  async apply(
    serve: AppSettings["serve"],
    settings: Pick<AppSettings, "s3" | "s3Faults">,
  ): Promise<
    Omit<AppSettings["serve"], "root" | "users"> & {
      root: string | Storage;
      users?: UserConfig[];
    }
  > {
    const urls = rootsOf(serve).filter(isS3Root);
    if (urls.length === 0) return serve;
    const open = new Map<string, Storage>();
    for (const url of new Set(urls)) open.set(url, await this.#storage(url, settings));
    const swap = <T extends string | Storage | undefined>(root: T) =>
      isS3Root(root) ? open.get(root)! : root;
    const users = serve.users?.map((user): UserConfig => ({
      ...user,
      ...(user.root === undefined ? {} : { root: swap(user.root) }),
      ...(user.mounts === undefined ? {} : {
        mounts: user.mounts.map((mount): MountConfig => ({ ...mount, root: swap(mount.root) })),
      }),
    }));
    const anonymous = serve.anonymous;
    return {
      ...serve,
      root: swap(serve.root),
      ...(users === undefined ? {} : { users }),
      ...(typeof anonymous === "object" && anonymous.root !== undefined
        ? { anonymous: { ...anonymous, root: swap(anonymous.root) } }
        : {}),
    };
  }

  #storage(
    url: string,
    settings: Pick<AppSettings, "s3" | "s3Faults">,
  ): Promise<Storage & { close(): Promise<void> }> {
    let storage = this.#open.get(url);
    if (storage === undefined) {
      storage = loadPart<typeof import("../storage/s3/mod.ts")>("s3").then((
        { openS3Storage, parseS3Faults, withListingTtl },
      ) =>
        openS3Storage(url, {
          ...settings.s3,
          ...(settings.s3Faults.length > 0 ? { faults: parseS3Faults(settings.s3Faults) } : {}),
        }).then((s3) => withListingTtl(s3, settings.s3.listCacheMs ?? 0))
      );
      this.#open.set(url, storage);
      // A failed open is not kept: the next reload tries again.
      storage.catch(() => this.#open.delete(url));
    }
    return storage;
  }

  /** Closes every storage (after the server has finished). */
  async close(): Promise<void> {
    const all = [...this.#open.values()];
    this.#open.clear();
    for (const storage of all) {
      try {
        await (await storage).close();
      } catch { /* it failed to open, or is closed */ }
    }
  }
}
