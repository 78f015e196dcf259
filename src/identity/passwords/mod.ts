/**
 * Password hashes for configured users: verify a password against the hash an operator already
 * has (argon2id/i/d, bcrypt, SHA-512/SHA-256 crypt, PBKDF2, scrypt), and make new argon2id ones.
 *
 * The functions use one shared {@linkcode PasswordVerifier} (a lazily started worker pool with a
 * bounded queue); {@linkcode closePasswordVerifier} stops it. A server that wants its own limits
 * creates a `PasswordVerifier` instead.
 *
 * ```ts
 * import { closePasswordVerifier, hashPassword, verifyPassword } from "./mod.ts";
 * const hash = await hashPassword("s3cret"); // "$argon2id$v=19$m=19456,t=2,p=1$…"
 * await verifyPassword(hash, "s3cret"); // true
 * await closePasswordVerifier();
 * ```
 *
 * @module
 */

import {
  type HashPasswordOptions,
  PasswordVerifier,
  type PasswordVerifierOptions,
  type VerifyOptions,
} from "./verifier.ts";

export {
  ARGON2ID_DEFAULTS,
  type HashPasswordOptions,
  PasswordVerifier,
  type PasswordVerifierOptions,
  type PasswordVerifierStats,
  type VerifyOptions,
} from "./verifier.ts";
export { detectHashFormat, HASH_FORMATS, type HashFormat } from "./format.ts";
export { PasswordBusyError, type PasswordBusyReason, PasswordHashError } from "./errors.ts";

/**
 * An argon2id hash (OWASP parameters) of a random password nobody knows. An identity provider
 * verifies the password of an unknown user against it, so that "no such user" takes as long as
 * "wrong password" and login timing does not reveal which users exist.
 *
 * @example
 * ```ts
 * import { closePasswordVerifier, UNKNOWN_USER_HASH, verifyPassword } from "./mod.ts";
 * const stored: string | undefined = undefined; // the user is not configured
 * const ok = await verifyPassword(stored ?? UNKNOWN_USER_HASH, "guess") && stored !== undefined;
 * await closePasswordVerifier();
 * ```
 */
export const UNKNOWN_USER_HASH =
  "$argon2id$v=19$m=19456,t=2,p=1$LRu1pCz3MQVN6Qc9ndl3mg$y5q97Gj8S7LK56DkG5EE0T7UJiTLh/A70GvgjJ5jq54";

let shared: PasswordVerifier | undefined;
let sharedOptions: PasswordVerifierOptions = {};

/**
 * True when `password` matches the stored `hash`, false when it does not. Rejects with
 * `PasswordHashError` for a malformed or unsupported hash (check hashes at load time with
 * `detectHashFormat`), and with `PasswordBusyError` when the check could not be done now (the
 * queue is full, it timed out, it was aborted): that is "cannot decide", a 421, not a 530.
 *
 * @example
 * ```ts
 * import { closePasswordVerifier, verifyPassword } from "./mod.ts";
 * const hash = "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA";
 * await verifyPassword(hash, "Hello world!"); // true
 * await closePasswordVerifier();
 * ```
 */
export function verifyPassword(
  hash: string,
  password: string,
  options?: VerifyOptions,
): Promise<boolean> {
  return sharedVerifier().verify(hash, password, options);
}

/**
 * A new argon2id hash of `password` with a random salt, by default with OWASP's parameters
 * (m=19456 KiB, t=2, p=1): `$argon2id$v=19$m=19456,t=2,p=1$salt$hash`.
 *
 * @example
 * ```ts
 * import { closePasswordVerifier, hashPassword } from "./mod.ts";
 * const hash = await hashPassword("s3cret");
 * hash.startsWith("$argon2id$v=19$m=19456,t=2,p=1$"); // true
 * await closePasswordVerifier();
 * ```
 */
export function hashPassword(password: string, options?: HashPasswordOptions): Promise<string> {
  return sharedVerifier().hash(password, options);
}

/**
 * Sets the options of the shared verifier (pool size, queue, time-out). They apply when the
 * shared verifier starts: call it before the first check (or after `closePasswordVerifier`).
 *
 * @example
 * ```ts
 * import { closePasswordVerifier, configurePasswordVerifier } from "./mod.ts";
 * configurePasswordVerifier({ workers: 2, maxQueue: 64 });
 * await closePasswordVerifier();
 * ```
 */
export function configurePasswordVerifier(options: PasswordVerifierOptions): void {
  sharedOptions = { ...options };
}

/**
 * Stops the shared verifier's workers (refusing checks in flight); the next check starts a new
 * one. Call it on shutdown, and at the end of tests.
 *
 * @example
 * ```ts
 * import { closePasswordVerifier } from "./mod.ts";
 * await closePasswordVerifier();
 * ```
 */
export async function closePasswordVerifier(): Promise<void> {
  const verifier = shared;
  shared = undefined;
  await verifier?.close();
}

function sharedVerifier(): PasswordVerifier {
  return shared ??= new PasswordVerifier(sharedOptions);
}
