/**
 * Typed errors and the one place where any error becomes an FTP reply.
 *
 * Handlers throw; the session calls {@linkcode toReply}. Replies speak virtual paths only: an OS
 * error message, which names the real path, never reaches a client.
 *
 * @module
 */

import { Code } from "./protocol/codes.ts";
import { quotePath } from "./protocol/reply.ts";

/**
 * An error that already knows its reply: thrown by handlers for protocol-level refusals, and by
 * a custom {@linkcode Storage} that wants a specific reply.
 *
 * @example
 * ```ts
 * import { FtpError, toReply } from "./errors.ts";
 * toReply(new FtpError(550, "Quota exceeded for this directory.")).code; // 550
 * ```
 */
export class FtpError extends Error {
  /** The reply code (see `protocol/codes.ts`). */
  readonly code: number;
  /** An error answered with `code` and `message` as the reply text. */
  constructor(code: number, message: string) {
    super(message);
    this.name = "FtpError";
    this.code = code;
  }
}

/** Kinds of storage failure; each maps to exactly one reply code in {@linkcode toReply}. */
export type StorageErrorKind =
  | "not-found"
  | "exists"
  | "not-a-directory"
  | "is-a-directory"
  | "not-empty"
  | "permission"
  | "invalid-name"
  | "not-supported"
  | "quota"
  | "no-space"
  | "busy"
  | "unavailable"
  | "io";

/**
 * A storage back end's failure, described by kind and virtual path. Every {@linkcode Storage}
 * implementation throws these and nothing else for expected failures.
 *
 * @example
 * ```ts
 * import { StorageError, toReply } from "./errors.ts";
 * toReply(new StorageError("not-found", "/a.txt")); // 550 "/a.txt": No such file or directory.
 * ```
 */
export class StorageError extends Error {
  /** What went wrong; decides the reply. */
  readonly kind: StorageErrorKind;
  /** Virtual path the failure is about (never a real filesystem path). */
  readonly path: string;
  /** A failure of `kind` about the virtual `path`; `options.cause` keeps the OS error for logs. */
  constructor(kind: StorageErrorKind, path: string, options?: ErrorOptions) {
    super(`${kind}: ${path}`, options);
    this.name = "StorageError";
    this.kind = kind;
    this.path = path;
  }
}

/** A reply code and text. */
export interface Reply {
  /** The reply code. */
  code: number;
  /** The reply text (one line). */
  text: string;
}

const STORAGE_REPLIES: Record<StorageErrorKind, { code: number; text: string }> = {
  "not-found": { code: Code.FILE_UNAVAILABLE, text: "No such file or directory" },
  "exists": { code: Code.FILE_UNAVAILABLE, text: "File exists" },
  "not-a-directory": { code: Code.FILE_UNAVAILABLE, text: "Not a directory" },
  "is-a-directory": { code: Code.FILE_UNAVAILABLE, text: "Is a directory" },
  "not-empty": { code: Code.FILE_UNAVAILABLE, text: "Directory not empty" },
  "permission": { code: Code.FILE_UNAVAILABLE, text: "Permission denied" },
  "invalid-name": { code: Code.NAME_NOT_ALLOWED, text: "File name not allowed" },
  "not-supported": { code: Code.NOT_IMPLEMENTED, text: "Not supported by this storage" },
  "quota": { code: Code.QUOTA_EXCEEDED, text: "Quota exceeded" },
  "no-space": { code: Code.INSUFFICIENT_STORAGE, text: "Insufficient storage space" },
  "busy": { code: Code.FILE_BUSY, text: "File busy, try again later" },
  // 451, not 421: RFC 959 §4.2 gives 421 to a server that is closing the control connection,
  // and clients act on it (lftp reconnects, curl gives up). A back end that is down for one
  // command leaves the session open, for the next command to try again.
  "unavailable": { code: Code.LOCAL_ERROR, text: "Storage unavailable, try again later" },
  "io": { code: Code.LOCAL_ERROR, text: "Local error in processing" },
};

/**
 * Turns any error into the reply a client should see. Unknown errors become
 * `451 Local error in processing` and are reported to the caller for logging via `unexpected`.
 */
export function toReply(error: unknown): Reply & { unexpected: boolean } {
  if (error instanceof FtpError) {
    return { code: error.code, text: error.message, unexpected: false };
  }
  if (error instanceof StorageError) {
    const { code, text } = STORAGE_REPLIES[error.kind];
    return { code, text: `${quotePath(error.path)}: ${text}.`, unexpected: error.kind === "io" };
  }
  return { code: Code.LOCAL_ERROR, text: "Local error in processing.", unexpected: true };
}
