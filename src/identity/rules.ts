/**
 * Per-path permissions: what a user may do where. Pure: no I/O.
 *
 * The vocabulary is the one of the command table. Each command names the permission it needs and
 * checks it on the path it resolved, so `..` and mounts cannot step around a rule. A symbolic
 * link inside the root (which the jail allows while it stays inside) gives a place a second
 * name; for a user whose rules are not the same everywhere, the admitted storage therefore
 * checks each operation's permission at the path's real location too (`real_path_rules.ts`):
 * a link into a drop box lets files in where the drop box would, and shows or gives out nothing.
 *
 * | permission  | commands |
 * |-------------|----------|
 * | `list`      | LIST, NLST, MLSD, MLST, STAT with a path, SIZE, MDTM |
 * | `download`  | RETR |
 * | `upload`    | STOR and APPE of a new file; STOU (on every name it tries: `a`, `a.1`, ...) |
 * | `overwrite` | STOR over an existing file (with or without REST); RNTO onto an existing name |
 * | `append`    | APPE to an existing file |
 * | `delete`    | DELE |
 * | `rename`    | RNFR (on the source) and RNTO (on the target) |
 * | `mkdir`     | MKD |
 * | `rmdir`     | RMD |
 * | `chmod`     | SITE CHMOD |
 * | `mtime`     | MFMT |
 *
 * CWD, CDUP and PWD need nothing: moving around reveals only that a directory exists. Where the
 * user may not list, CWD to a file is answered as CWD to a missing name, so that a drop box does
 * not tell which files it holds; LIST, NLST, MLSD and STAT check `list` before they look.
 *
 * Rules name paths, so a directory cannot be renamed when a rule starts below it (its files
 * would leave their rule: a drop box made readable) or when one starts below the new name (its
 * files would fall under it): see {@linkcode AccessRules.uniformBelow}.
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
  #limits: readonly Limit[] = [];

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
   * The same rules, with at most `allow` at and below `path` (a read-only mount, a user with
   * `write: false`) — except at and below the paths of `except` (the writable mounts below a
   * read-only one, which are other back ends).
   *
   * @example A read-only archive with a writable mount inside it
   * ```ts
   * import { AccessRules, READ_ONLY } from "./rules.ts";
   * const rules = AccessRules.FULL.restrict("/", READ_ONLY, ["/incoming"]);
   * rules.allows("delete", "/old.txt"); // false
   * rules.allows("mkdir", "/incoming/new"); // true
   * ```
   */
  restrict(
    path: string,
    allow: readonly Permission[],
    except: readonly string[] = [],
  ): AccessRules {
    const copy = new AccessRules();
    copy.#rules = this.#rules;
    copy.#limits = [...this.#limits, {
      path: normalize(path),
      allow: new Set(allow),
      except: except.map(normalize),
    }];
    return copy;
  }

  /** True when `permission` is granted at the virtual path `path`. */
  allows(permission: Permission, path: string): boolean {
    for (const limit of this.#limits) {
      if (
        isWithin(path, limit.path) && !limit.allow.has(permission) &&
        !limit.except.some((exception) => isWithin(path, exception))
      ) {
        return false;
      }
    }
    if (this.#rules === null) return true;
    for (const rule of this.#rules) {
      if (isWithin(path, rule.path)) return rule.allow.has(permission);
    }
    return false;
  }

  /**
   * True when no rule or restriction starts or ends strictly below `dir`: everything below the
   * directory then has the permissions of the directory itself. A listing computes them once;
   * a rename of the directory moves nothing out of a rule of its own (a drop box, a read-only
   * subtree) and into none.
   *
   * @example
   * ```ts
   * import { AccessRules, PERMISSIONS } from "./rules.ts";
   * const rules = new AccessRules([
   *   { path: "/", allow: PERMISSIONS },
   *   { path: "/pub/inbox", allow: ["upload"] },
   * ]);
   * rules.uniformBelow("/pub"); // false: /pub/inbox has a rule of its own
   * rules.uniformBelow("/pub/inbox"); // true
   * ```
   */
  uniformBelow(dir: string): boolean {
    const below = (path: string) => path !== dir && isWithin(path, dir);
    return !this.#limits.some((limit) => below(limit.path) || limit.except.some(below)) &&
      !(this.#rules ?? []).some((rule) => below(rule.path));
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

/** A ceiling: at most `allow` at and below `path`, except at and below each of `except`. */
interface Limit extends CompiledRule {
  except: readonly string[];
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
