/**
 * Virtual paths: what a client sees. Pure functions, no I/O.
 *
 * A virtual path is absolute, normalised, and uses `/`: `/`, `/a`, `/a/b`. Every path a client
 * sends is turned into one by {@linkcode resolvePath} before any storage sees it, so `..` can never
 * climb above `/` — the same rule as `chroot`. Storage back ends then map `/` to their root.
 *
 * @module
 */

import { FtpError } from "../errors.ts";

/** Longest path argument we accept, in UTF-16 code units (Linux PATH_MAX is 4096 bytes). */
export const MAX_PATH_LENGTH = 4096;
/** Longest single name, in bytes (NAME_MAX on Linux and most filesystems). */
export const MAX_NAME_BYTES = 255;

const encoder = new TextEncoder();

/**
 * Resolves a client path against the current directory into a virtual path.
 *
 * - Absolute paths start at the virtual root; `~` and `~/x` mean the root too.
 * - Backslashes are separators (Windows clients send them); on disk a name can never contain
 *   one that we wrote, and `..\..` cannot be used to step around the `..` rule.
 * - `.` and empty segments are dropped, `..` removes one segment and stops at `/`.
 * - `%2e%2e` is a literal name: nothing here URL-decodes.
 *
 * Throws `FtpError` 501 for NUL or CR bytes or an over-long path, 553 for an over-long name.
 *
 * @example
 * ```ts
 * import { resolvePath } from "./vpath.ts";
 * resolvePath("/pub", "../../etc/passwd"); // "/etc/passwd" — inside the virtual root
 * ```
 */
export function resolvePath(cwd: string, input: string): string {
  checkPathArgument(input);
  let path = input.includes("\\") ? input.replaceAll("\\", "/") : input;
  if (path === "~" || path.startsWith("~/")) path = path.slice(1) || "/";
  const segments = path.startsWith("/") ? [] : splitPath(cwd);
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      segments.pop();
      continue;
    }
    if (segment.length * 3 > MAX_NAME_BYTES && encoder.encode(segment).length > MAX_NAME_BYTES) {
      throw new FtpError(553, "File name too long.");
    }
    segments.push(segment);
  }
  return segments.length === 0 ? "/" : "/" + segments.join("/");
}

/** Rejects arguments no file system path may contain. */
export function checkPathArgument(input: string): void {
  if (input.length > MAX_PATH_LENGTH) throw new FtpError(501, "Path too long.");
  if (input.includes("\0") || input.includes("\r") || input.includes("\n")) {
    throw new FtpError(501, "Path contains a forbidden character.");
  }
}

/** The segments of a normalised virtual path: `/a/b` → `["a", "b"]`. */
export function splitPath(path: string): string[] {
  return path === "/" ? [] : path.slice(1).split("/");
}

/** The last segment of a virtual path; `/` for the root. */
export function baseName(path: string): string {
  return path === "/" ? "/" : path.slice(path.lastIndexOf("/") + 1);
}

/** The parent of a virtual path; the root is its own parent. */
export function parentPath(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash <= 0 ? "/" : path.slice(0, slash);
}

/** Appends a name to a virtual directory path. */
export function joinPath(dir: string, name: string): string {
  return dir === "/" ? `/${name}` : `${dir}/${name}`;
}

/** True when `path` is `dir` or lies below it. */
export function isWithin(path: string, dir: string): boolean {
  return dir === "/" || path === dir || path.startsWith(dir + "/");
}
