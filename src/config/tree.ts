/**
 * A user's tree, rights and limits as the config file and the HTTP identity hook write them
 * (snake_case, `quota`/`bandwidth` objects, `"*"` for every permission) → the fields of
 * `UserConfig`. Pure: roots are passed through a function the caller gives (the loader resolves
 * relative paths; the hook provider checks them against `allowed_roots`).
 *
 * @module
 */

import type { IdentityLimits } from "../identity/identity.ts";
import { type Permission, PERMISSIONS } from "../identity/rules.ts";
import type { MountConfig, UserConfig } from "../identity/static.ts";

/** The tree fields of a user, as written (the output of `UserTreeShape`). */
export interface UserTreeInput {
  root?: string;
  mounts?: readonly { path: string; root: string; read_only?: boolean }[];
  rules?: readonly { path: string; allow: readonly (Permission | "*")[] }[];
  home?: string;
  quota?: { bytes?: number; files?: number };
  bandwidth?: {
    upload?: number;
    download?: number;
    session_upload?: number;
    session_download?: number;
  };
  max_sessions?: number;
  allowed_networks?: readonly string[];
  require_tls?: boolean;
}

/** The tree fields of `UserConfig`. */
export type UserTree = Pick<
  UserConfig,
  "root" | "mounts" | "rules" | "home" | "limits" | "allowedNetworks" | "requireTls"
>;

/**
 * Maps the written fields to `UserConfig`'s. `root` is called for `root` and every mount root,
 * with the path suffix of the value (`["root"]`, `["mounts", 1, "root"]`) for error messages.
 *
 * @example
 * ```ts
 * import { toUserTree } from "./tree.ts";
 * const tree = toUserTree(
 *   { root: "/srv/ftp/alice", bandwidth: { download: 1048576 }, rules: [{ path: "/", allow: ["*"] }] },
 *   (root) => root,
 * );
 * tree.limits; // { downloadBytesPerSecond: 1048576 }
 * ```
 */
export function toUserTree(
  input: UserTreeInput,
  root: (value: string, at: readonly PropertyKey[]) => string,
): UserTree {
  const tree: UserTree = {};
  if (input.root !== undefined) tree.root = root(input.root, ["root"]);
  if (input.mounts !== undefined) {
    tree.mounts = input.mounts.map((mount, i): MountConfig => ({
      path: mount.path,
      root: root(mount.root, ["mounts", i, "root"]),
      ...(mount.read_only ? { readOnly: true } : {}),
    }));
  }
  if (input.rules !== undefined) {
    tree.rules = input.rules.map((rule) => ({
      path: rule.path,
      allow: rule.allow.includes("*")
        ? PERMISSIONS
        : [...new Set(rule.allow as readonly Permission[])],
    }));
  }
  if (input.home !== undefined) tree.home = input.home;
  const limits: IdentityLimits = {};
  if (input.bandwidth?.upload !== undefined) limits.uploadBytesPerSecond = input.bandwidth.upload;
  if (input.bandwidth?.download !== undefined) {
    limits.downloadBytesPerSecond = input.bandwidth.download;
  }
  if (input.bandwidth?.session_upload !== undefined) {
    limits.sessionUploadBytesPerSecond = input.bandwidth.session_upload;
  }
  if (input.bandwidth?.session_download !== undefined) {
    limits.sessionDownloadBytesPerSecond = input.bandwidth.session_download;
  }
  if (input.max_sessions !== undefined) limits.maxSessions = input.max_sessions;
  if (input.quota?.bytes !== undefined) limits.quotaBytes = input.quota.bytes;
  if (input.quota?.files !== undefined) limits.quotaFiles = input.quota.files;
  if (Object.keys(limits).length > 0) tree.limits = limits;
  if (input.allowed_networks !== undefined) tree.allowedNetworks = [...input.allowed_networks];
  if (input.require_tls !== undefined) tree.requireTls = input.require_tls;
  return tree;
}

/**
 * Mount paths given twice (after normalising trailing slashes), as `[index, path]` pairs of
 * the second occurrence: a mount table refuses them, the loader names them.
 *
 * @example
 * ```ts
 * import { duplicateMounts } from "./tree.ts";
 * duplicateMounts([{ path: "/a" }, { path: "/a/" }]); // [[1, "/a"]]
 * ```
 */
export function duplicateMounts(mounts: readonly { path: string }[]): [number, string][] {
  const seen = new Set<string>();
  const out: [number, string][] = [];
  mounts.forEach((mount, i) => {
    const path = mount.path.replace(/\/+$/, "") || "/";
    if (seen.has(path)) out.push([i, path]);
    seen.add(path);
  });
  return out;
}
