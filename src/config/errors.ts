/**
 * The config file's error type: every problem found, each as one line `JSON.path: message`.
 * Light on purpose (no schema library), so that the CLI can recognise it without loading zod.
 *
 * @module
 */

/** One problem in a config file. */
export interface ConfigIssue {
  /** Where: a JSON path such as `users[2].root`, or `(file)` for the file as a whole. */
  path: string;
  /** What is wrong, in one sentence without a value that could be a secret. */
  message: string;
  /** 1-based line of the value in the file, when known. */
  line?: number;
}

/**
 * A config file that cannot be used: unreadable, not JSONC, or with values that fail the schema
 * or the checks after it (directories that do not exist, unset environment variables, hashes
 * of unknown formats). `message` holds one line per issue; the CLI prints it and exits 2.
 *
 * @example
 * ```ts
 * import { ConfigError } from "./errors.ts";
 * const error = new ConfigError("/etc/ftpgate.jsonc", [
 *   { path: "users[2].root", message: "directory does not exist", line: 14 },
 * ]);
 * error.message; // "users[2].root: directory does not exist"
 * error.format(); // "/etc/ftpgate.jsonc:14: users[2].root: directory does not exist"
 * ```
 */
export class ConfigError extends Error {
  /** The config file. */
  readonly file: string;
  /** Every problem found, in file order where known. */
  readonly issues: readonly ConfigIssue[];

  /** An error for `file` with these issues (at least one). */
  constructor(file: string, issues: readonly ConfigIssue[]) {
    super(issues.map((issue) => `${issue.path}: ${issue.message}`).join("\n"));
    this.name = "ConfigError";
    this.file = file;
    this.issues = issues;
  }

  /** The issues as lines prefixed with `file:line:` (what compilers print; editors jump there). */
  format(): string {
    return this.issues.map((issue) =>
      `${this.file}${
        issue.line === undefined ? "" : `:${issue.line}`
      }: ${issue.path}: ${issue.message}`
    ).join("\n");
  }
}

/**
 * A JSON path in the notation of the error lines: `users[2].mounts[0].root`; keys that are not
 * identifiers are quoted (`limits["a b"]`).
 *
 * @example
 * ```ts
 * import { formatPath } from "./errors.ts";
 * formatPath(["users", 2, "root"]); // "users[2].root"
 * formatPath([]); // "(file)"
 * ```
 */
export function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return "(file)";
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else if (/^[$A-Za-z_][$\w]*$/.test(String(part))) {
      out += `${out === "" ? "" : "."}${String(part)}`;
    } else out += `[${JSON.stringify(String(part))}]`;
  }
  return out;
}
