/**
 * Per-path permissions: what a user may do where. Pure: no I/O.
 *
 * The vocabulary is the one of the command table. Each command names the permission it needs and
 * checks it on the path it resolved (so `..`, symlinks and mounts cannot step around a rule):
 *
 * | permission  | commands |
 * |-------------|----------|
 * | `list`      | LIST, NLST, MLSD, MLST, STAT with a path, SIZE, MDTM |
 * | `download`  | RETR |
 * | `upload`    | STOR, STOU and APPE of a new file |
 * | `overwrite` | STOR over an existing file (with or without REST) |
 * | `append`    | APPE to an existing file |
 * | `delete`    | DELE |
 * | `rename`    | RNFR (on the source) and RNTO (on the target) |
 * | `mkdir`     | MKD |
 * | `rmdir`     | RMD |
 * | `chmod`     | SITE CHMOD |
 * | `mtime`     | MFMT |
 *
 * CWD, CDUP and PWD need nothing: moving around reveals only that a directory exists.
 *
 * Rules are by path prefix and the longest matching prefix wins, so `/` can grant everything
 * while `/inbox` is a drop box (`upload` only: files go in, nobody sees them). Where no rule
 * matches, nothing is allowed. A user without rules has every permission.
 *
 * @module
 */

import { isWithin, resolvePath } from "../storage/vpath.ts";

/**
 * Every permission, in a fixed order.
 *
 * @example
 * ```ts
 * import { PERMISSIONS } from "./rules.ts";
 * PERMISSIONS.includes("upload"); // true
 * ```
 */
export const PERMISSIONS = [
  "list",
  "download",
  "upload",
  "overwrite",
  "append",
  "delete",
  "rename",
  "mkdir",
  "rmdir",
  "chmod",
  "mtime",
] as const;

/** One permission of {@linkcode PERMISSIONS}. */
export type Permission = typeof PERMISSIONS[number];

/** What a rule grants below a path. */
export interface PathRule {
  /** A virtual path (`/`, `/inbox`); the rule applies to it and everything below. */
  path: string;
  /** The permissions granted there. */
  allow: readonly Permission[];
}

/** Read-only: look and download. */
export const READ_ONLY: readonly Permission[] = ["list", "download"];

/**
 * A user's rules, compiled: the longest matching prefix decides, and restrictions (a read-only
 * mount) take away from whatever the rules grant below their path.
 *
 * @example A drop box inside a full-access tree
 * ```ts
 * import { AccessRules, PERMISSIONS } from "./rules.ts";
 * const rules = new AccessRules([
 *   { path: "/", allow: PERMISSIONS },
 *   { path: "/inbox", allow: ["upload"] },
 * ]);
 * rules.allows("upload", "/inbox/report.csv"); // true
 * rules.allows("list", "/inbox"); // false
 * ```
 */
export class AccessRules {
  /** Every permission everywhere. */
  static readonly FULL: AccessRules = new AccessRules();

  /** Rules, longest path first; null for "everything allowed". */
  #rules: readonly CompiledRule[] | null;
  /** Ceilings: at and below each path, nothing beyond its set. */
  #limits: readonly CompiledRule[] = [];

  /**
   * Compiles rules.
   *
   * @param rules the rules; `null` (or omitted) grants everything. Throws `TypeError` for an
   *   unknown permission or a path that is not absolute.
   */
  constructor(rules: readonly PathRule[] | null = null) {
    this.#rules = rules === null ? null : compile(rules);
  }

  /**
   * The same rules, with at most `allow` at and below `path` (a read-only mount, anonymous
   * upload-only access).
   */
  restrict(path: string, allow: readonly Permission[]): AccessRules {
    const copy = new AccessRules();
    copy.#rules = this.#rules;
    copy.#limits = [...this.#limits, { path: normalize(path), allow: new Set(allow) }];
    return copy;
  }

  /** True when `permission` is granted at the virtual path `path`. */
  allows(permission: Permission, path: string): boolean {
    for (const limit of this.#limits) {
      if (isWithin(path, limit.path) && !limit.allow.has(permission)) return false;
    }
    if (this.#rules === null) return true;
    for (const rule of this.#rules) {
      if (isWithin(path, rule.path)) return rule.allow.has(permission);
    }
    return false;
  }

  /**
   * True when no rule or restriction starts strictly below `dir`: every entry of the directory
   * then has the permissions of the directory itself (a listing computes them once).
   */
  uniformBelow(dir: string): boolean {
    const below = (rule: CompiledRule) => rule.path !== dir && isWithin(rule.path, dir);
    return !this.#limits.some(below) && !(this.#rules ?? []).some(below);
  }

  /** Every permission granted at `path`. */
  at(path: string): Set<Permission> {
    return new Set(PERMISSIONS.filter((permission) => this.allows(permission, path)));
  }
}

interface CompiledRule {
  path: string;
  allow: ReadonlySet<Permission>;
}

function normalize(path: string): string {
  if (!path.startsWith("/")) throw new TypeError(`rule path must be absolute: "${path}"`);
  return resolvePath("/", path);
}

function compile(rules: readonly PathRule[]): CompiledRule[] {
  const compiled = rules.map((rule) => {
    for (const permission of rule.allow) {
      if (!(PERMISSIONS as readonly string[]).includes(permission)) {
        throw new TypeError(`unknown permission "${permission}" in the rule for ${rule.path}`);
      }
    }
    return { path: normalize(rule.path), allow: new Set(rule.allow) };
  });
  return compiled.sort((a, b) => b.path.length - a.path.length);
}
