/**
 * Who may log in, and what they may do.
 *
 * @module
 */

/** A configured user. */
export interface UserConfig {
  name: string;
  password: string;
  /** May upload, delete and rename. Default true. */
  write?: boolean;
}

/** Anonymous access: off, read-only, or read-write. */
export type AnonymousAccess = false | "read" | "write";

/** A logged-in identity. */
export interface Account {
  name: string;
  write: boolean;
  anonymous: boolean;
}

/** Names clients use for anonymous login (RFC 1635). */
const ANONYMOUS_NAMES = new Set(["anonymous", "ftp"]);

/**
 * Checks credentials in constant time: the comparison always walks the whole stored password,
 * whatever the guess, so the time taken does not reveal how much of a guess was right; an
 * unknown user is compared against a dummy of the same kind. (No node:crypto: loading it costs
 * 25 ms of every start.)
 */
export class Authenticator {
  readonly #users = new Map<string, { password: Uint8Array; write: boolean }>();
  readonly anonymous: AnonymousAccess;

  constructor(users: readonly UserConfig[], anonymous: AnonymousAccess) {
    for (const user of users) {
      this.#users.set(user.name, {
        password: encoder.encode(user.password),
        write: user.write ?? true,
      });
    }
    this.anonymous = anonymous;
  }

  /** True when `name` logs in anonymously (and anonymous access is on). */
  isAnonymousName(name: string): boolean {
    return this.anonymous !== false && ANONYMOUS_NAMES.has(name.toLowerCase()) &&
      !this.#users.has(name);
  }

  /** The account for these credentials, or null. */
  verify(name: string, password: string): Account | null {
    if (this.isAnonymousName(name)) {
      return { name: "anonymous", write: this.anonymous === "write", anonymous: true };
    }
    const user = this.#users.get(name);
    const ok = constantTimeEqual(user?.password ?? UNKNOWN_USER, encoder.encode(password)) &&
      user !== undefined;
    return ok ? { name, write: user.write, anonymous: false } : null;
  }
}

const encoder = new TextEncoder();
/** What an unknown user's guess is compared with, so that the answer takes as long. */
const UNKNOWN_USER = encoder.encode("\0unknown user: no password matches this\0");

/**
 * True when both byte strings are equal. The loop runs over all of `expected` whatever `given`
 * is; the lengths are compared arithmetically, not with an early return.
 */
export function constantTimeEqual(expected: Uint8Array, given: Uint8Array): boolean {
  let difference = expected.length ^ given.length;
  for (let i = 0; i < expected.length; i++) {
    difference |= expected[i] ^ (i < given.length ? given[i] : ~expected[i]);
  }
  return difference === 0;
}
