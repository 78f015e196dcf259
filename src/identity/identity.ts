/**
 * Identity: who logged in, and the file system they get. Authentication returns the user's
 * storage, rules and limits together, so that two users of one server can see different trees
 * with different rights (ftpserverlib's `AuthUser → ClientDriver`, libunftp's `enter(user)`).
 *
 * @module
 */

import type { Storage } from "../storage/storage.ts";
import type { AccessRules } from "./rules.ts";

/** Limits that apply to one user. Every field is optional: absent means "no limit". */
export interface IdentityLimits {
  /** Upload rate, bytes per second, shared by all of the user's sessions. */
  uploadBytesPerSecond?: number;
  /** Download rate, bytes per second, shared by all of the user's sessions. */
  downloadBytesPerSecond?: number;
  /** Upload rate, bytes per second, of each of the user's sessions (vsftpd's `local_max_rate`). */
  sessionUploadBytesPerSecond?: number;
  /** Download rate, bytes per second, of each of the user's sessions. */
  sessionDownloadBytesPerSecond?: number;
  /** Most sessions the user may have logged in at once. */
  maxSessions?: number;
  /** Most bytes the user's files may hold together (552 beyond it; existing data untouched). */
  quotaBytes?: number;
  /** Most files the user may have. */
  quotaFiles?: number;
}

/**
 * A logged-in user: what the session works with from PASS until REIN, a new USER or the end.
 *
 * @example
 * ```ts
 * import type { Identity } from "./identity.ts";
 * import { AccessRules } from "./rules.ts";
 * import { MemoryStorage } from "../storage/memory.ts";
 * const identity: Identity = {
 *   name: "alice",
 *   anonymous: false,
 *   storage: new MemoryStorage(),
 *   rules: AccessRules.FULL,
 * };
 * ```
 */
export interface Identity {
  /** The name logs and listings show. */
  readonly name: string;
  /** Logged in as `anonymous`/`ftp` (RFC 1635). */
  readonly anonymous: boolean;
  /** The user's tree: one back end, or a mount table of several. */
  readonly storage: Storage;
  /** What the user may do where. */
  readonly rules: AccessRules;
  /** Where the session starts (a virtual path). Default `/`. */
  readonly home?: string;
  /** Rate, session and quota limits. */
  readonly limits?: IdentityLimits;
  /** Networks (CIDR) the user may log in from; absent: anywhere. */
  readonly allowedNetworks?: readonly string[];
  /** The user may log in only over TLS (AUTH TLS or implicit TLS). */
  readonly requireTls?: boolean;
}

/** What a provider knows about a login attempt besides the credentials. */
export interface LoginContext {
  /** The client's address. */
  remoteAddress: string;
  /** The control connection is TLS. */
  secure: boolean;
  /** Aborted when the session closes: an external provider should give up then. */
  signal?: AbortSignal;
}

/**
 * Decides who may log in. The server's `--user`/anonymous logic is one implementation
 * ({@linkcode StaticIdentityProvider}); a config file, an HTTP hook or a directory service are
 * others.
 *
 * `authenticate` resolves to null for wrong credentials (530, counted against the address) and
 * rejects when it cannot decide (an auth service that is down): the client then gets 421 and
 * nobody is logged in.
 *
 * @example
 * ```ts
 * import type { IdentityProvider } from "./identity.ts";
 * import { AccessRules } from "./rules.ts";
 * import { MemoryStorage } from "../storage/memory.ts";
 * const storage = new MemoryStorage();
 * const provider: IdentityProvider = {
 *   authenticate: (user, password) =>
 *     Promise.resolve(
 *       user === "demo" && password === "demo"
 *         ? { name: user, anonymous: false, storage, rules: AccessRules.FULL }
 *         : null,
 *     ),
 * };
 * ```
 */
export interface IdentityProvider {
  /** The identity for these credentials, or null. */
  authenticate(user: string, password: string, context: LoginContext): Promise<Identity | null>;
  /** True when `user` logs in anonymously (the 331 reply then asks for an e-mail address). */
  isAnonymous?(user: string): boolean;
  /** Releases what the provider holds (workers, connections); the server that made it calls it. */
  close?(): Promise<void> | void;
}
