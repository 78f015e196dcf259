/**
 * From a user's description (root or mounts, rules, home, limits, networks, TLS-only) to the
 * {@linkcode Identity} a session works with: one way, whether the description came from the
 * server's options, a config file or an HTTP identity hook.
 *
 * @module
 */

import { MountTable } from "../storage/mount.ts";
import { isWithin, resolvePath } from "../storage/vpath.ts";
import type { Storage } from "../storage/storage.ts";
import type { Identity, IdentityLimits } from "./identity.ts";
import { AccessRules, type PathRule, READ_ONLY } from "./rules.ts";

/** What a user's tree and rights are made of. */
export interface UserTree<Root> {
  /** One root for the whole tree… */
  root?: Root;
  /** …or several, mounted under paths. */
  mounts?: readonly { path: string; root: Root; readOnly?: boolean }[];
  /** Rules by path; absent: `defaultRules`. */
  rules?: readonly PathRule[];
  home?: string;
  limits?: IdentityLimits;
  allowedNetworks?: readonly string[];
  requireTls?: boolean;
}

/**
 * The identity of `name` with this tree. `open` turns a root into its storage; a read-only
 * mount also caps the rules below it, down to the next mount (so that MLSx facts and the checks
 * agree with the mount table). `home` is normalised (`/pub/..` is `/`). Throws TypeError for a
 * tree with both a root and mounts, or bad mounts.
 *
 * @example
 * ```ts
 * import { buildIdentity } from "./build.ts";
 * import { MemoryStorage } from "../storage/memory.ts";
 * const identity = buildIdentity("alice", { root: "mem" }, () => new MemoryStorage(), null);
 * identity.rules.allows("upload", "/x"); // true
 * ```
 */
export function buildIdentity<Root>(
  name: string,
  tree: UserTree<Root>,
  open: (root: Root | undefined) => Storage,
  defaultRules: readonly PathRule[] | null,
): Identity {
  let rules = new AccessRules(tree.rules ?? defaultRules);
  let storage: Storage;
  if (tree.mounts !== undefined) {
    if (tree.root !== undefined) throw new TypeError(`${name} has both root and mounts`);
    storage = new MountTable(
      tree.mounts.map((mount) => ({
        path: mount.path,
        storage: open(mount.root),
        ...(mount.readOnly ? { readOnly: true } : {}),
      })),
    );
    // A read-only mount caps its own subtree, not the mounts below it: those are other back
    // ends, writable unless marked read-only themselves (the mount table refuses writes by the
    // same measure, so the checks, the MLSx perm facts and the back end agree).
    const paths = tree.mounts.map((mount) => resolvePath("/", mount.path));
    tree.mounts.forEach((mount, i) => {
      if (!mount.readOnly) return;
      const below = paths.filter((path) => path !== paths[i] && isWithin(path, paths[i]));
      rules = rules.restrict(paths[i], READ_ONLY, below);
    });
  } else {
    storage = open(tree.root);
  }
  return {
    name,
    anonymous: false,
    storage,
    rules,
    // Normalised: a home of "/pub/.." would otherwise be a current directory that no rule path
    // matches, and a key prefix an object store resolves past the user's own ("/../bob").
    ...(tree.home === undefined ? {} : { home: resolvePath("/", tree.home) }),
    ...(tree.limits === undefined ? {} : { limits: tree.limits }),
    ...(tree.allowedNetworks === undefined ? {} : { allowedNetworks: tree.allowedNetworks }),
    ...(tree.requireTls === undefined ? {} : { requireTls: tree.requireTls }),
  };
}
