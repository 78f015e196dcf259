/**
 * The two ways a password check can fail without answering yes or no: the stored hash is not one
 * ftpgate can read ({@linkcode PasswordHashError}, a configuration mistake), or the verifier
 * cannot take the work now ({@linkcode PasswordBusyError}, an overload).
 *
 * @module
 */

/**
 * A stored password hash that is malformed, of an unknown scheme, or of a known scheme with
 * parameters ftpgate does not support. Thrown by `detectHashFormat` and `verifyPassword` before
 * any work is done, so a config loader can report it with the JSON path of the value.
 *
 * The message names the scheme and what is wrong, never the hash itself: a hash is a secret too
 * (it can be attacked offline), and it must not reach a log line.
 *
 * @example
 * ```ts
 * import { PasswordHashError } from "./errors.ts";
 * import { detectHashFormat } from "./format.ts";
 * let problem = "";
 * try {
 *   detectHashFormat("$1$abc$def");
 * } catch (error) {
 *   if (error instanceof PasswordHashError) problem = `users[0].password_hash: ${error.message}`;
 * }
 * // 'users[0].password_hash: Password hashes of scheme "$1$" (MD5-crypt, which is broken) are
 * // not supported: make a new one with "ftpgate hash-password"'
 * ```
 */
export class PasswordHashError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PasswordHashError";
  }
}

/** Why a verification was not done. */
export type PasswordBusyReason = "queue-full" | "timeout" | "closed" | "aborted";

/**
 * The verifier did not check the password: its queue was full (a login storm), the work took
 * longer than the time limit, the verifier was closed, or the caller's signal aborted it. The
 * answer is "cannot decide", not "wrong password": an identity provider rejects with it, and
 * the session answers 421 (not 530) so that nobody is logged in and nothing counts against a
 * guess limit.
 *
 * @example
 * ```ts
 * import { PasswordBusyError } from "./errors.ts";
 * const error = new PasswordBusyError("queue-full");
 * error.reason; // "queue-full"
 * ```
 */
export class PasswordBusyError extends Error {
  readonly reason: PasswordBusyReason;
  constructor(reason: PasswordBusyReason, message?: string) {
    super(message ?? BUSY_MESSAGES[reason]);
    this.name = "PasswordBusyError";
    this.reason = reason;
  }
}

const BUSY_MESSAGES: Record<PasswordBusyReason, string> = {
  "queue-full": "Too many password checks are waiting; try again later",
  "timeout": "The password check took too long and was stopped",
  "closed": "The password verifier is closed",
  "aborted": "The password check was aborted",
};
