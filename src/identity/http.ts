/**
 * An identity provider that asks an HTTP hook: the operator's own user store decides who logs
 * in and which tree they get (`auth.http` in the config file).
 *
 * The exchange is modelled on two that operators already run:
 * - SFTPGo's external authentication hook (github.com/drakkan/sftpgo, `docs/external-auth.md`):
 *   the credentials POSTed as JSON (`username`, `password`, `ip`, `protocol`), an HTTP 200
 *   with a user object — `home_dir`, `permissions` by path, `quota_size`/`quota_files`,
 *   `upload_bandwidth`/`download_bandwidth`, `max_sessions`, `filters.allowed_ip` — meaning
 *   "logged in".
 * - AWS Transfer Family's custom identity provider (Transfer Family user guide, page
 *   `custom-lambda-idp`): the event `{ username, password, protocol, serverId, sourceIp }`,
 *   and a response whose
 *   `HomeDirectoryType: "LOGICAL"` with `HomeDirectoryDetails: [{ Entry, Target }]` maps
 *   virtual paths onto real locations — our `mounts: [{ path, root }]`.
 *
 * Ours: POST `{ user, password, remote_address, tls }`; the answer has the fields of a user of
 * the config file (`root` or `mounts`, `rules`, `home`, `quota`, `bandwidth`, `max_sessions`,
 * `allowed_networks`, `require_tls`), checked with the same schema. Where both models treat
 * any non-200 as "refused", we tell wrong credentials (401/403, or `{"ok": false}`) from a
 * hook that cannot answer (time-out, 5xx, unreachable, invalid body): the first is a 530
 * counted against the client's address, the second a 421 for the client and nobody logged in
 * — an outage of the hook must neither let anyone in nor get honest users banned.
 *
 * A hook must not be able to hand out a tree the operator did not allow: every root it
 * returns must be an absolute path to an existing directory whose real path (symbolic links
 * resolved) lies in `allowedRoots`. Redirects are not followed (the password would go to a
 * place the operator did not configure).
 *
 * Every login that gets the same root gets the same storage (and the same mount table for the
 * same mounts), as configured users do: one "file busy" guard per file, so that two sessions
 * never write one file at once, and one quota count per user and tree, so that the quota is not
 * multiplied by the sessions nor the tree walked again at every login. The provider holds them
 * only as long as some session (or quota count) uses them, and lets them go when it is closed.
 *
 * @module
 */

import { formatPath } from "../config/errors.ts";
import { toUserTree } from "../config/tree.ts";
import type { Storage } from "../storage/storage.ts";
import { buildIdentity } from "./build.ts";
import type { Identity, IdentityProvider, LoginContext } from "./identity.ts";
import type { RootOpener } from "./static.ts";

/** Options of {@linkcode HttpIdentityProvider}. */
export interface HttpIdentityProviderOptions {
  /** The hook's URL (`http:` or `https:`). Never logged: it may carry a key in its query. */
  url: string | URL;
  /**
   * Directories the hook may hand out: a root must be one of them or below one (after
   * symbolic links are resolved). Absolute paths.
   */
  allowedRoots: readonly string[];
  /** Opens a root the hook returned (the server's opener: `LocalStorage` with its options). */
  openRoot: RootOpener;
  /**
   * Longest wait for an answer, body included; beyond it the login gets 421.
   * @default 5000
   */
  timeoutMs?: number;
  /**
   * Requests in flight at most; a login beyond gets 421 at once rather than queueing behind a
   * slow hook (a login storm must not pile up sockets and memory).
   * @default 16
   */
  concurrency?: number;
  /**
   * Remember accepted logins this long (0: off). Keyed by an HMAC of user, password, client
   * address and TLS under a random per-process key: the password itself is never stored, the
   * key cannot be tested offline without the process's memory, and a login from another
   * address or without TLS asks the hook again (its answer may depend on them).
   * @default 0
   */
  cacheMs?: number;
  /**
   * Most cached logins; the oldest goes first.
   * @default 10000
   */
  maxCacheEntries?: number;
  /** Sent as `Authorization: Bearer …`, so that the hook can tell ftpgate from anyone else. */
  token?: string;
  /**
   * Largest answer body read.
   * @default 65536
   */
  maxAnswerBytes?: number;
}

/** Why the hook could not decide. */
export type HttpAuthFailure = "busy" | "timeout" | "unreachable" | "status" | "invalid" | "closed";

/**
 * The hook could not decide a login: the session answers 421 and nobody logs in. The message
 * says why without the URL, the password or a real path.
 *
 * @example
 * ```ts
 * import { HttpAuthError } from "./http.ts";
 * const error = new HttpAuthError("status", "the identity hook answered 503");
 * error.reason; // "status"
 * ```
 */
export class HttpAuthError extends Error {
  /** What went wrong. */
  readonly reason: HttpAuthFailure;

  /** An error for `reason`; `message` must hold no password, URL or path. */
  constructor(reason: HttpAuthFailure, message: string) {
    super(message);
    this.name = "HttpAuthError";
    this.reason = reason;
  }
}

/** What the provider counted since it started. */
export interface HttpIdentityStats {
  /** Requests sent to the hook. */
  requests: number;
  /** Logins answered from the cache. */
  cacheHits: number;
  /** Logins refused with "cannot decide" (421), by reason. */
  failures: Record<HttpAuthFailure, number>;
}

interface CacheEntry {
  identity: Identity;
  expires: number;
}

type SchemaModules = [typeof import("../config/schema.ts"), typeof import("../config/issues.ts")];

/**
 * Asks an HTTP hook who may log in (see the module documentation for the exchange).
 *
 * @example
 * ```ts ignore
 * import { LocalStorage, serve } from "../mod.ts";
 * import { HttpIdentityProvider } from "./http.ts";
 * await using server = serve({
 *   identity: new HttpIdentityProvider({
 *     url: "https://auth.example.org/ftp-login",
 *     allowedRoots: ["/srv/ftp/users"],
 *     openRoot: (root) => new LocalStorage(root),
 *     cacheMs: 60_000,
 *   }),
 * });
 * ```
 */
export class HttpIdentityProvider implements IdentityProvider {
  readonly #url: string;
  readonly #allowedRoots: readonly string[];
  readonly #openRoot: RootOpener;
  readonly #timeoutMs: number;
  readonly #concurrency: number;
  readonly #cacheMs: number;
  readonly #maxCacheEntries: number;
  readonly #maxAnswerBytes: number;
  readonly #token: string | undefined;
  readonly #closed = new AbortController();
  readonly #cache = new Map<string, CacheEntry>();
  /** Storages by real root (and mount tables by their mounts), while something uses them. */
  readonly #opened = new Map<string, WeakRef<Storage>>();
  /** Drops the entry of a storage that nothing uses any more. */
  readonly #reaper = new FinalizationRegistry<string>((key) => {
    if (this.#opened.get(key)?.deref() === undefined) this.#opened.delete(key);
  });
  #inFlight = 0;
  /** Counts {@linkcode clearCache} calls: an answer asked for before one is not cached. */
  #cacheGeneration = 0;
  #cacheKey: Promise<CryptoKey> | undefined;
  #schema: Promise<SchemaModules> | undefined;
  readonly #stats: HttpIdentityStats = {
    requests: 0,
    cacheHits: 0,
    failures: { busy: 0, timeout: 0, unreachable: 0, status: 0, invalid: 0, closed: 0 },
  };

  /** Checks the options; no I/O until the first login. Throws `TypeError` when they are wrong. */
  constructor(options: HttpIdentityProviderOptions) {
    const url = new URL(options.url);
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new TypeError("HttpIdentityProvider: url must be http: or https:");
    }
    if (options.allowedRoots.length === 0) {
      throw new TypeError("HttpIdentityProvider: allowedRoots must name at least one directory");
    }
    for (const root of options.allowedRoots) {
      if (!root.startsWith("/")) {
        throw new TypeError("HttpIdentityProvider: allowedRoots must be absolute paths");
      }
    }
    this.#url = url.href;
    this.#allowedRoots = [...options.allowedRoots];
    this.#openRoot = options.openRoot;
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#concurrency = options.concurrency ?? 16;
    this.#cacheMs = options.cacheMs ?? 0;
    this.#maxCacheEntries = options.maxCacheEntries ?? 10_000;
    this.#maxAnswerBytes = options.maxAnswerBytes ?? 65_536;
    this.#token = options.token;
  }

  /** Counts since start (a copy). */
  stats(): HttpIdentityStats {
    return { ...this.#stats, failures: { ...this.#stats.failures } };
  }

  /** Forgets every cached login (SIGHUP: the user store may have changed). */
  clearCache(): void {
    this.#cache.clear();
    this.#cacheGeneration++;
  }

  /** Aborts requests in flight, forgets the cache and lets the opened trees go. */
  close(): void {
    this.#closed.abort();
    this.#cache.clear();
    this.#opened.clear();
  }

  /**
   * The identity the hook grants, null for wrong credentials; rejects with
   * {@linkcode HttpAuthError} when the hook cannot decide.
   */
  async authenticate(
    user: string,
    password: string,
    context: LoginContext,
  ): Promise<Identity | null> {
    try {
      return await this.#authenticate(user, password, context);
    } catch (error) {
      if (error instanceof HttpAuthError) this.#stats.failures[error.reason]++;
      throw error;
    }
  }

  async #authenticate(
    user: string,
    password: string,
    context: LoginContext,
  ): Promise<Identity | null> {
    if (this.#closed.signal.aborted) {
      throw new HttpAuthError("closed", "the identity hook is closed");
    }
    const generation = this.#cacheGeneration;
    const key = this.#cacheMs > 0
      ? await this.#keyOf(user, password, context.remoteAddress, context.secure)
      : undefined;
    if (key !== undefined) {
      const hit = this.#cache.get(key);
      if (hit !== undefined && hit.expires > Date.now()) {
        this.#stats.cacheHits++;
        return hit.identity;
      }
      if (hit !== undefined) this.#cache.delete(key);
    }
    if (this.#inFlight >= this.#concurrency) {
      throw new HttpAuthError(
        "busy",
        `the identity hook has ${this.#inFlight} requests in flight (auth.http.concurrency)`,
      );
    }
    this.#inFlight++;
    let answer: unknown;
    try {
      answer = await this.#ask(user, password, context);
    } finally {
      this.#inFlight--;
    }
    if (answer === null) return null;
    const identity = await this.#identityFrom(user, answer);
    if (identity === null) return null;
    // An answer to a request made before the cache was cleared (SIGHUP: the user store
    // changed) may serve this login, but it is the store's old word: not cached past the clear.
    if (key !== undefined && generation === this.#cacheGeneration) {
      this.#cache.delete(key);
      this.#cache.set(key, { identity, expires: Date.now() + this.#cacheMs });
      while (this.#cache.size > this.#maxCacheEntries) {
        this.#cache.delete(this.#cache.keys().next().value!);
      }
    }
    return identity;
  }

  /** POSTs the credentials; the parsed JSON body of a 200, or null for 401/403. */
  async #ask(user: string, password: string, context: LoginContext): Promise<unknown> {
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const signals = [timeout, this.#closed.signal];
    if (context.signal) signals.push(context.signal);
    const signal = AbortSignal.any(signals);
    this.#stats.requests++;
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "accept": "application/json",
      "user-agent": "ftpgate",
    };
    if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`;
    const failed = (error: unknown): HttpAuthError => {
      if (error instanceof HttpAuthError) return error;
      if (timeout.aborted) {
        return new HttpAuthError(
          "timeout",
          `the identity hook did not answer within ${this.#timeoutMs} ms`,
        );
      }
      if (signal.aborted) return new HttpAuthError("closed", "the login was abandoned");
      return new HttpAuthError(
        "unreachable",
        `the identity hook cannot be reached (${error instanceof Error ? error.name : "error"})`,
      );
    };
    let response: Response;
    try {
      response = await fetch(this.#url, {
        method: "POST",
        headers,
        body: JSON.stringify({
          user,
          password,
          remote_address: context.remoteAddress,
          tls: context.secure,
        }),
        redirect: "manual",
        signal,
      });
    } catch (error) {
      throw failed(error);
    }
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel().catch(() => {});
      return null;
    }
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => {});
      throw new HttpAuthError("status", `the identity hook answered ${response.status}`);
    }
    let text: string;
    try {
      text = await this.#readBody(response);
    } catch (error) {
      throw failed(error);
    }
    let answer: unknown;
    try {
      answer = JSON.parse(text);
    } catch {
      throw new HttpAuthError("invalid", "the identity hook's answer is not JSON");
    }
    if (typeof answer === "object" && answer !== null && !Array.isArray(answer)) {
      if ((answer as Record<string, unknown>).ok === false) return null;
    }
    return answer;
  }

  async #readBody(response: Response): Promise<string> {
    if (response.body === null) return "";
    const reader = response.body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    try {
      while (true) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.length;
        if (size > this.#maxAnswerBytes) {
          throw new HttpAuthError(
            "invalid",
            `the identity hook's answer is larger than ${this.#maxAnswerBytes} bytes`,
          );
        }
        chunks.push(value);
      }
    } catch (error) {
      await reader.cancel().catch(() => {});
      throw error;
    }
    const bytes = new Uint8Array(size);
    let offset = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, offset);
      offset += chunk.length;
    }
    return new TextDecoder("utf-8", { fatal: false }).decode(bytes);
  }

  /** Checks the answer and its roots, and opens the tree. */
  async #identityFrom(user: string, answer: unknown): Promise<Identity | null> {
    const [{ HookAnswerSchema }, { toConfigIssues }] = await (this.#schema ??= Promise.all([
      import("../config/schema.ts"),
      import("../config/issues.ts"),
    ]));
    const result = HookAnswerSchema.safeParse(answer);
    if (!result.success) {
      const issues = toConfigIssues(result.error, HookAnswerSchema).slice(0, 3);
      throw new HttpAuthError(
        "invalid",
        `the identity hook's answer is invalid: ${
          issues.map((issue) => `${issue.path}: ${issue.message}`).join("; ")
        }`,
      );
    }
    const roots: { at: string; value: string }[] = [];
    const tree = toUserTree(result.data, (value, at) => {
      roots.push({ at: formatPath(at), value });
      return value;
    });
    const real = new Map<string, string>();
    for (const { at, value } of roots) real.set(value, await this.#checkRoot(value, at));
    const open = (root: string): Storage => {
      const path = real.get(root)!;
      return this.#shared(`root ${path}`, () => this.#openRoot(path));
    };
    try {
      const identity = buildIdentity(user, tree, (root: unknown) => open(root as string), null);
      if (tree.mounts === undefined) return identity;
      // The same mounts make the same tree: one mount table for all, over the shared roots.
      const key = `mounts ${
        JSON.stringify(
          tree.mounts.map((
            mount,
          ) => [mount.path, real.get(mount.root as string), !!mount.readOnly]),
        )
      }`;
      return { ...identity, storage: this.#shared(key, () => identity.storage) };
    } catch (error) {
      throw new HttpAuthError(
        "invalid",
        `the identity hook's answer is invalid: mounts: ${(error as Error).message}`,
      );
    }
  }

  /** The storage opened under `key` while something still uses it, or a new one from `open`. */
  #shared(key: string, open: () => Storage): Storage {
    const cached = this.#opened.get(key)?.deref();
    if (cached !== undefined) return cached;
    const storage = open();
    this.#opened.set(key, new WeakRef(storage));
    this.#reaper.register(storage, key);
    return storage;
  }

  /**
   * The real path of a root the hook returned, after checking it is absolute, an existing
   * directory, and inside an allowed root. Real paths on both sides: a symbolic link inside an
   * allowed root must not lead out of it, and `..` is resolved away.
   */
  async #checkRoot(root: string, at: string): Promise<string> {
    const invalid = (why: string) =>
      new HttpAuthError("invalid", `the identity hook's answer is invalid: ${at}: ${why}`);
    if (!root.startsWith("/")) throw invalid("must be an absolute path");
    let real: string;
    try {
      real = await Deno.realPath(root);
      if (!(await Deno.stat(real)).isDirectory) throw invalid("is not a directory");
    } catch (error) {
      if (error instanceof HttpAuthError) throw error;
      throw invalid(error instanceof Deno.errors.NotFound ? "does not exist" : "cannot be opened");
    }
    for (const allowed of this.#allowedRoots) {
      let base: string;
      try {
        base = await Deno.realPath(allowed);
      } catch {
        continue; // an allowed root that is gone allows nothing
      }
      if (real === base || real.startsWith(base.endsWith("/") ? base : `${base}/`)) return real;
    }
    throw invalid("is outside auth.http.allowed_roots");
  }

  /** HMAC-SHA-256 of the login under a random key that lives only in this process. */
  async #keyOf(user: string, password: string, remote: string, secure: boolean): Promise<string> {
    const key = await (this.#cacheKey ??= crypto.subtle.importKey(
      "raw",
      crypto.getRandomValues(new Uint8Array(32)),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    ));
    // JSON keeps the fields apart: no user/password split can collide with another.
    const message = new TextEncoder().encode(JSON.stringify([user, password, remote, secure]));
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, message));
    message.fill(0); // the bytes of the password, at least, do not linger
    return Array.from(mac, (byte) => byte.toString(16).padStart(2, "0")).join("");
  }
}
