/**
 * The loader's checks that need the machine: paths resolved against the config file's
 * directory and checked to exist, secrets read from the environment or a file. Every problem
 * is collected (with its JSON path and line) rather than thrown, so that one run reports all.
 *
 * @module
 */

import { parseAddress } from "../net/cidr.ts";
import { type ConfigIssue, formatPath } from "./errors.ts";
import type { EnvLookup } from "./types.ts";

/** A JSON path in the file: `["users", 2, "root"]`. */
export type At = readonly PropertyKey[];

/** Collects problems; file system checks run concurrently until {@linkcode Checks.settle}. */
export class Checks {
  /** Every problem so far. */
  readonly issues: ConfigIssue[] = [];
  /** The config file's directory: relative paths start there. */
  readonly dir: string;
  readonly #env: EnvLookup;
  readonly #lineOf: (path: At) => number | undefined;
  readonly #pending: Promise<void>[] = [];

  constructor(dir: string, env: EnvLookup, lineOf: (path: At) => number | undefined) {
    this.dir = dir;
    this.#env = env;
    this.#lineOf = lineOf;
  }

  /** Records a problem at `at`. */
  add(at: At, message: string): void {
    const line = this.#lineOf(at);
    this.issues.push({ path: formatPath(at), message, ...(line ? { line } : {}) });
  }

  /** Waits for the file system checks started so far. */
  async settle(): Promise<void> {
    while (this.#pending.length > 0) await Promise.all(this.#pending.splice(0));
  }

  /** `value` resolved against the config file's directory. */
  resolve(value: string): string {
    return absolute(value, this.dir);
  }

  /** A root: `memory:` and `s3://` URLs as they are, a directory resolved and checked. */
  root(value: string, at: At): string {
    if (value === "memory:" || /^s3:\/\//i.test(value)) {
      if (/^s3:\/\/[^/]*@/i.test(value)) {
        this.add(at, "credentials in an s3:// URL are not allowed: use s3.access_key_id_env");
      }
      return value;
    }
    return this.directory(value, at);
  }

  /** A directory: resolved, and checked to exist. */
  directory(value: string, at: At): string {
    const path = this.resolve(value);
    this.#pending.push(this.#expect(path, "directory", at));
    return path;
  }

  /** A file to read (certificate, token): resolved, and checked to exist. */
  inputFile(value: string, at: At): string {
    const path = this.resolve(value);
    this.#pending.push(this.#expect(path, "file", at));
    return path;
  }

  /** A file to write (logs, ready file): resolved; its directory must exist. */
  outputFile(value: string, at: At): string {
    const path = this.resolve(value);
    // A log directory may be granted write-only (the Dockerfile, the systemd unit): a directory
    // that cannot be stat-ed for lack of read permission is the writer's problem, not a typo.
    this.#pending.push(this.#expect(dirname(path), "directory", at, { unreadableIsFine: true }));
    return path;
  }

  /** A secret from an environment variable; a problem when unset or empty. */
  secretFromEnv(name: string, at: At): string | undefined {
    const value = this.#env(name);
    if (value === undefined) this.add(at, `environment variable ${name} is not set`);
    else if (value === "") this.add(at, `environment variable ${name} is empty`);
    else return value;
    return undefined;
  }

  /** A secret from a file: the whole file, trailing white space (an editor's newline) removed. */
  async secretFromFile(value: string, at: At): Promise<string | undefined> {
    const path = this.resolve(value);
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (error) {
      this.add(at, `cannot read ${path} (${reason(error)})`);
      return undefined;
    }
    const secret = text.replace(/\s+$/, "");
    if (secret === "") this.add(at, `${path} is empty`);
    return secret === "" ? undefined : secret;
  }

  /** A URL must not carry `user:password@`: it would show wherever the URL is logged. */
  noUrlCredentials(value: string, at: At, instead: string): void {
    const url = new URL(value);
    if (url.username !== "" || url.password !== "") {
      this.add(at, `credentials in the URL would show in logs: use ${instead}`);
    }
  }

  async #expect(
    path: string,
    kind: "file" | "directory",
    at: At,
    { unreadableIsFine = false } = {},
  ): Promise<void> {
    try {
      const stat = await Deno.stat(path);
      if (kind === "file" ? !stat.isFile : !stat.isDirectory) {
        this.add(at, `is not a ${kind} (${path})`);
      }
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        this.add(at, `${kind} does not exist (${path})`);
      } else if (unreadableIsFine && error instanceof Deno.errors.NotCapable) {
        return;
      } else {
        this.add(at, `${kind} cannot be checked (${reason(error)}: ${path})`);
      }
    }
  }
}

/** Seconds (the file's unit) → milliseconds (the library's). */
export function ms(seconds: number): number {
  return Math.round(seconds * 1000);
}

/** True for `localhost`, 127.0.0.0/8 and ::1: traffic that never leaves the machine. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "");
  if (bare === "localhost") return true;
  const address = parseAddress(bare);
  if (address === null) return false;
  return address.family === 4 ? address.value >> 24n === 127n : address.value === 1n;
}

/** A short, OS-message-free reason for a failed file operation. */
export function reason(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "not found";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.NotCapable) return "Deno has no read permission";
  if (error instanceof Deno.errors.IsADirectory) return "is a directory";
  return error instanceof Error ? error.name : "error";
}

/** True for `/x`, `C:\x`, `C:/x` and `\\server\share`. */
function isAbsolute(path: string): boolean {
  return path.startsWith("/") || /^[A-Za-z]:[\\/]/.test(path) || path.startsWith("\\\\");
}

/**
 * `path` resolved against `base` and normalised (`.`, `..`, doubled slashes) on POSIX;
 * Windows paths are joined and left to the OS.
 */
export function absolute(path: string, base: string): string {
  if (!isAbsolute(path)) path = `${base.replace(/[\\/]+$/, "")}/${path}`;
  if (!path.startsWith("/")) return path;
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return "/" + parts.join("/");
}

/** The directory part of a path. */
export function dirname(path: string): string {
  const cut = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  return cut <= 0 ? path.slice(0, cut + 1) || "/" : path.slice(0, cut);
}
