/**
 * The identity provider of the server's own options: `users` (name, password, and optionally a
 * root and rules of their own) and anonymous access.
 *
 * @module
 */

import type { Storage } from "../storage/storage.ts";
import { buildIdentity } from "./build.ts";
import { constantTimeEqual } from "./constant_time.ts";
import type { Identity, IdentityLimits, IdentityProvider, LoginContext } from "./identity.ts";
import { AccessRules, type PathRule, READ_ONLY } from "./rules.ts";

/**
 * A user of the server's options.
 *
 * @example
 * ```ts
 * import type { UserConfig } from "./static.ts";
 * const alice: UserConfig = {
 *   name: "alice",
 *   password: "secret",
 *   rules: [{ path: "/", allow: ["list", "download"] }, { path: "/inbox", allow: ["upload"] }],
 * };
 * ```
 */
export interface UserConfig {
  /** The login name (case-sensitive). */
  name: string;
  /** The password in clear, compared in constant time (tests, `--user`); or `passwordHash`. */
  password?: string;
  /**
   * A password hash: argon2id/i/d, bcrypt, SHA-512/SHA-256 crypt, PBKDF2 or scrypt (see
   * `passwords/format.ts`). Verified off the event loop, in a worker.
   */
  passwordHash?: string;
  /**
   * May change the tree (upload, overwrite, delete, rename, mkdir, ...). Default true. `false`
   * caps `rules` too: at most `list` and `download` anywhere.
   */
  write?: boolean;
  /**
   * The user's own tree: a directory, `"memory:"`, or a {@linkcode Storage}. Default: the
   * server's root.
   */
  root?: string | Storage;
  /**
   * The user's tree assembled from several roots (instead of `root`): `/` on one, `/archive`
   * on another, read-only. A read-only mount also caps the user's rules below it.
   */
  mounts?: readonly MountConfig[];
  /** Rules by path (see `rules.ts`). Default: everything (read-only when `write` is false). */
  rules?: readonly PathRule[];
  /** Where the session starts. Default `/`. */
  home?: string;
  /** Rate, session and quota limits. */
  limits?: IdentityLimits;
  /** Networks (CIDR, `10.0.0.0/8`, `2001:db8::/32`) the user may log in from. */
  allowedNetworks?: readonly string[];
  /** The user may log in only over TLS. */
  requireTls?: boolean;
}

/** One root of a user's mount table. */
export interface MountConfig {
  /** Where it appears in the user's tree. */
  path: string;
  /** A directory, `"memory:"`, or a {@linkcode Storage}. */
  root: string | Storage;
  /** Nothing under it may be changed. */
  readOnly?: boolean;
}

/**
 * Anonymous access (`anonymous` or `ftp`, RFC 1635): off, read-only, upload-only (`"write"`: new
 * files may be uploaded, nothing may be overwritten, deleted or renamed — vsftpd's
 * `anon_upload_enable`), or a tree and rules of its own.
 */
export type AnonymousAccess = false | "read" | "write" | AnonymousConfig;

/** Anonymous access with its own tree and rules. */
export interface AnonymousConfig {
  /** Default: the server's root. */
  root?: string | Storage;
  /** Default: read-only. */
  rules?: readonly PathRule[];
}

/** Anonymous uploads: look, download, and add new files. */
export const ANONYMOUS_UPLOAD: readonly PathRule[] = [
  { path: "/", allow: ["list", "download", "upload"] },
];

/** Names clients use for anonymous login (RFC 1635). */
const ANONYMOUS_NAMES = new Set(["anonymous", "ftp"]);

const encoder = new TextEncoder();
/** What an unknown user's guess is compared with, so that the answer takes as long. */
const UNKNOWN_USER = encoder.encode("\0unknown user: no password matches this\0");

/** Opens a root given by name (a directory, `memory:`); the server provides it. */
export type RootOpener = (root: string) => Storage;

interface Account {
  /** The clear password's bytes, or null when the account has a hash. */
  password: Uint8Array | null;
  hash: string | null;
  identity: Identity;
}

type PasswordsModule = typeof import("./passwords/mod.ts");
type Verifier = InstanceType<PasswordsModule["PasswordVerifier"]>;

/**
 * Checks credentials in constant time: the comparison always walks the whole stored password,
 * whatever the guess, so the time taken does not reveal how much of a guess was right; an
 * unknown user is compared against a dummy of the same kind.
 *
 * @example
 * ```ts
 * import { StaticIdentityProvider } from "./static.ts";
 * import { MemoryStorage } from "../storage/memory.ts";
 * const provider = new StaticIdentityProvider({
 *   users: [{ name: "alice", password: "secret" }],
 *   anonymous: false,
 *   storage: new MemoryStorage(),
 * });
 * const identity = await provider.authenticate("alice", "secret", {
 *   remoteAddress: "127.0.0.1",
 *   secure: false,
 * });
 * ```
 */
export class StaticIdentityProvider implements IdentityProvider {
  readonly #accounts = new Map<string, Account>();
  readonly #anonymous: Identity | null;
  /** Some account has a hash: an unknown user is then checked against a hash too. */
  #hashed = false;
  /** The worker pool that verifies hashes, started with the first hashed login. */
  #verifier: Promise<{ module: PasswordsModule; verifier: Verifier }> | undefined;

  /**
   * Compiles the users' rules and opens their roots (once per distinct root).
   *
   * @param options.storage the server's root, for users without one of their own.
   * @param options.openRoot opens a user's root given as a string; needed only when one is.
   */
  constructor(options: {
    users: readonly UserConfig[];
    anonymous: AnonymousAccess;
    storage: Storage;
    openRoot?: RootOpener;
  }) {
    const roots = new Map<string, Storage>();
    const storageFor = (root: string | Storage | undefined): Storage => {
      if (root === undefined) return options.storage;
      if (typeof root !== "string") return root;
      if (!options.openRoot) throw new TypeError(`cannot open root ${root}`);
      let storage = roots.get(root);
      if (storage === undefined) roots.set(root, storage = options.openRoot(root));
      return storage;
    };
    for (const user of options.users) {
      let identity: Identity;
      try {
        identity = buildIdentity(user.name, user, storageFor, null);
        // `write: false` caps whatever the rules grant, everywhere: a user described as
        // read-only stays so when rules are given too (they may still take away `download`).
        if (user.write === false) {
          identity = { ...identity, rules: identity.rules.restrict("/", READ_ONLY) };
        }
      } catch (error) {
        throw new TypeError(`users: ${(error as Error).message}`);
      }
      if ((user.password === undefined) === (user.passwordHash === undefined)) {
        throw new TypeError(`users: ${user.name} needs exactly one of password and passwordHash`);
      }
      if (user.passwordHash !== undefined) this.#hashed = true;
      this.#accounts.set(user.name, {
        password: user.password === undefined ? null : encoder.encode(user.password),
        hash: user.passwordHash ?? null,
        identity,
      });
    }
    const anonymous = options.anonymous;
    if (anonymous === false) {
      this.#anonymous = null;
    } else {
      const config: AnonymousConfig = typeof anonymous === "object" ? anonymous : {};
      const rules = typeof anonymous === "object"
        ? anonymous.rules ?? [{ path: "/", allow: READ_ONLY }]
        : anonymous === "write"
        ? ANONYMOUS_UPLOAD
        : [{ path: "/", allow: READ_ONLY }];
      this.#anonymous = {
        name: "anonymous",
        anonymous: true,
        storage: storageFor(config.root),
        rules: new AccessRules(rules),
      };
    }
  }

  /** Stops the hash verifier's workers, if they started. */
  async close(): Promise<void> {
    const started = this.#verifier;
    this.#verifier = undefined;
    if (started) await (await started).verifier.close();
  }

  /** True when `name` logs in anonymously (and anonymous access is on). */
  isAnonymous(name: string): boolean {
    return this.#anonymous !== null && ANONYMOUS_NAMES.has(name.toLowerCase()) &&
      !this.#accounts.has(name);
  }

  /**
   * The identity for these credentials, or null. A hash is verified in a worker (argon2id costs
   * tens of milliseconds); an unknown user is checked against a dummy of the same kind, so that
   * the time taken does not tell which users exist. Rejects with `PasswordBusyError` when the
   * verifier is saturated: the session answers 421, nobody is logged in.
   */
  async authenticate(
    name: string,
    password: string,
    context?: LoginContext,
  ): Promise<Identity | null> {
    if (this.isAnonymous(name)) return this.#anonymous;
    const account = this.#accounts.get(name);
    if (account?.hash != null || (account === undefined && this.#hashed)) {
      const { module, verifier } = await (this.#verifier ??= import("./passwords/mod.ts").then(
        (module) => ({ module, verifier: new module.PasswordVerifier() }),
      ));
      const hash = account?.hash ?? module.UNKNOWN_USER_HASH;
      const ok = await verifier.verify(hash, password, { signal: context?.signal });
      return ok && account !== undefined ? account.identity : null;
    }
    const ok = constantTimeEqual(account?.password ?? UNKNOWN_USER, encoder.encode(password)) &&
      account !== undefined;
    return ok ? account.identity : null;
  }
}
