/**
 * Who may log in, and what they may do.
 *
 * @module
 */

import { createHash, timingSafeEqual } from "node:crypto";

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
 * Checks credentials. Passwords are compared as SHA-256 digests with `timingSafeEqual`, so the
 * time taken does not reveal how much of a guess was right, nor the password's length.
 */
export class Authenticator {
  readonly #users = new Map<string, { digest: Uint8Array; write: boolean }>();
  readonly anonymous: AnonymousAccess;

  constructor(users: readonly UserConfig[], anonymous: AnonymousAccess) {
    for (const user of users) {
      this.#users.set(user.name, { digest: digest(user.password), write: user.write ?? true });
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
    // Compare against a dummy digest for unknown users so that the answer takes as long.
    const ok = timingSafeEqual(user?.digest ?? UNKNOWN_USER_DIGEST, digest(password)) &&
      user !== undefined;
    return ok ? { name, write: user.write, anonymous: false } : null;
  }
}

const UNKNOWN_USER_DIGEST = digest("\0unknown user\0");

function digest(text: string): Uint8Array {
  return createHash("sha256").update(text).digest();
}
