/**
 * Virtual paths ↔ S3 keys. Pure.
 *
 * A file `/a/b.txt` is the key `PREFIX + "a/b.txt"`; a directory `/a` is the key prefix
 * `PREFIX + "a/"`, and exists while any key starts with it. MKD writes a zero-byte marker at
 * exactly `PREFIX + "a/"` so that an empty directory exists too (the convention of the S3
 * console, rclone and SFTPGo).
 *
 * @module
 */

import { StorageError } from "../../errors.ts";

/** S3's longest key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;

const encoder = new TextEncoder();

/** Maps the virtual tree onto keys under one prefix. */
export class KeyMapper {
  /** `""` or ending in `/`. */
  readonly prefix: string;

  constructor(prefix: string) {
    this.prefix = prefix;
  }

  /**
   * The key of a file. Throws `invalid-name` when S3 cannot hold it, or when `path` is not a
   * normalised virtual path (see {@linkcode KeyMapper.dir}).
   */
  file(path: string): string {
    if (path === "/") throw new StorageError("is-a-directory", path);
    return this.#checked(this.prefix + path.slice(1), path);
  }

  /**
   * The key prefix of a directory (its marker's key): `""`/the root prefix for `/`.
   *
   * Like {@linkcode KeyMapper.file}, refuses (`invalid-name`) a path with an empty, `.` or `..`
   * segment. The protocol layer never makes one, but a key is sent in a request URL, and URL
   * parsing resolves dot segments: `/../bob/x` under the prefix `alice/` would be `bob/x`,
   * beside the user's prefix. Checked here as well, whatever the layers above did.
   */
  dir(path: string): string {
    return path === "/" ? this.prefix : this.#checked(this.prefix + path.slice(1) + "/", path);
  }

  /** The virtual path of a key under the root, or null for a key outside it. */
  path(key: string): string | null {
    if (!key.startsWith(this.prefix)) return null;
    const rest = key.slice(this.prefix.length).replace(/\/$/, "");
    return "/" + rest;
  }

  #checked(key: string, path: string): string {
    if (!path.startsWith("/") || path.slice(1).split("/").some(isDotOrEmpty)) {
      throw new StorageError("invalid-name", path);
    }
    if (key.length * 3 > MAX_KEY_BYTES && encoder.encode(key).length > MAX_KEY_BYTES) {
      throw new StorageError("invalid-name", path);
    }
    return key;
  }
}

function isDotOrEmpty(segment: string): boolean {
  return segment === "" || segment === "." || segment === "..";
}

/**
 * The entry name a listed key or common prefix stands for under `dirPrefix`, or null for one
 * that no virtual path can name: the directory's own marker, and keys made by other tools
 * with empty, `.` or `..` segments (`a//b`, `a/./b`) or with CR, LF or NUL, which a client
 * could never address (the protocol refuses such paths) and which would break a listing's
 * lines.
 */
export function entryName(keyOrPrefix: string, dirPrefix: string): string | null {
  const name = keyOrPrefix.slice(dirPrefix.length).replace(/\/$/, "");
  if (name === "" || name === "." || name === ".." || name.includes("/")) return null;
  if (/[\r\n\0]/.test(name)) return null;
  return name;
}
