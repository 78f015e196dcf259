/**
 * The server: listens, accepts control connections, keeps the session registry, enforces the
 * connection limits, and shuts down.
 *
 * @module
 */

import { Authenticator } from "./auth.ts";
import { normalizeHost } from "./data/address.ts";
import { log } from "./log.ts";
import { type ResolvedOptions, resolveOptions, type ServeOptions } from "./options.ts";
import { encodeReply } from "./protocol/reply.ts";
import { Session, type SessionContext } from "./session.ts";
import { LocalStorage } from "./storage/local.ts";
import { MemoryStorage } from "./storage/memory.ts";
import type { Storage } from "./storage/storage.ts";

/** The `root` that selects an empty in-memory storage. */
export const MEMORY_ROOT = "memory:";
/** How often sessions are checked for idle, stalled and expired timeouts, at most. */
const SWEEP_INTERVAL_MS = 1000;
/** Longest pause between retries of a failing accept (EMFILE and the like). */
const MAX_ACCEPT_BACKOFF_MS = 1000;

/** Options for {@linkcode FtpServer.shutdown}. */
export interface ShutdownOptions {
  /** How long running transfers may go on before they are aborted. Default: `shutdownGraceMs`. */
  graceMs?: number;
}

/** A running FTP server, returned by {@linkcode serve}. */
export class FtpServer implements AsyncDisposable {
  /** The address the server listens on (the real port when 0 was asked for). */
  readonly addr: Deno.NetAddr;
  /** `ftp://` URL of the server, with the first user's credentials when one is configured. */
  readonly url: string;
  /** Resolves once the server has shut down and every session has ended. */
  readonly finished: Promise<void>;
  /** The storage sessions see. */
  readonly storage: Storage;

  readonly #listener: Deno.Listener<Deno.TcpConn, Deno.NetAddr>;
  readonly #options: ResolvedOptions;
  readonly #sessions = new Set<Session>();
  readonly #perIp = new Map<string, number>();
  readonly #failures = new Map<string, { count: number; since: number; bannedUntil: number }>();
  readonly #context: SessionContext;
  #sweeper: ReturnType<typeof setInterval> | undefined;
  #shuttingDown: Promise<void> | null = null;
  #resolveFinished!: () => void;
  #allSessionsEnded: (() => void) | null = null;

  /** @internal Use {@linkcode serve}. */
  constructor(
    listener: Deno.Listener<Deno.TcpConn, Deno.NetAddr>,
    options: ResolvedOptions,
    storage: Storage,
  ) {
    this.#listener = listener;
    this.#options = options;
    this.storage = storage;
    this.addr = listener.addr;
    this.url = serverUrl(listener.addr, options);
    this.finished = new Promise((resolve) => (this.#resolveFinished = resolve));
    this.#context = {
      options,
      storage,
      auth: new Authenticator(options.users, options.anonymous),
      sessionEnded: (session) => this.#sessionEnded(session),
      loginFailed: (session, user) => this.#loginFailed(session, user),
    };
    const interval = Math.max(
      50,
      Math.min(
        SWEEP_INTERVAL_MS,
        options.idleTimeoutMs / 4,
        options.dataTimeoutMs / 4,
        options.stallTimeoutMs / 4,
      ),
    );
    this.#sweeper = setInterval(() => this.#sweep(), interval);
    this.#acceptLoop();
  }

  /** Sessions currently connected. */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  /**
   * Stops accepting, lets running transfers finish within the grace period, then closes every
   * session with 421. Resolves when everything is closed. Safe to call more than once.
   */
  shutdown(options: ShutdownOptions = {}): Promise<void> {
    this.#shuttingDown ??= this.#shutdown(options.graceMs ?? this.#options.shutdownGraceMs);
    return this.#shuttingDown;
  }

  /** Shuts the server down; for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  async #shutdown(graceMs: number): Promise<void> {
    try {
      this.#listener.close();
    } catch { /* already closed */ }
    clearInterval(this.#sweeper);
    const deadline = Date.now() + graceMs;
    for (const session of this.#sessions) {
      if (!session.transfer) session.close(421, "Server shutting down.");
    }
    while (this.#sessions.size > 0 && Date.now() < deadline) {
      const transfers = [...this.#sessions].flatMap((s) => (s.transfer ? [s.transfer.done] : []));
      if (transfers.length === 0) break;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.all(transfers),
        new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now())))),
      ]);
      clearTimeout(timer);
      for (const session of this.#sessions) {
        if (!session.transfer) session.close(421, "Server shutting down.");
      }
    }
    for (const session of this.#sessions) session.close(421, "Server shutting down.");
    if (this.#sessions.size > 0) {
      await new Promise<void>((resolve) => (this.#allSessionsEnded = resolve));
    }
    log.server.info("Server on {host} port {port} stopped", {
      host: this.addr.hostname,
      port: this.addr.port,
    });
    this.#resolveFinished();
  }

  async #acceptLoop(): Promise<void> {
    let backoff = 0;
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
        backoff = 0;
      } catch (error) {
        if (this.#shuttingDown || error instanceof Deno.errors.BadResource) return;
        // Out of file descriptors or a connection reset before accept: wait, then go on.
        backoff = Math.min(MAX_ACCEPT_BACKOFF_MS, Math.max(5, backoff * 2));
        log.server.warning("Accept failed ({error}); retrying in {ms} ms", { error, ms: backoff });
        await new Promise((resolve) => setTimeout(resolve, backoff));
        continue;
      }
      this.#admit(conn);
    }
  }

  /** Starts a session, or refuses the connection with 421 when a limit is reached. */
  #admit(conn: Deno.TcpConn): void {
    const ip = normalizeHost(conn.remoteAddr.hostname);
    const refusal = this.#refusal(ip);
    if (refusal !== null) {
      log.security.warning("Refused connection from {remote}: {reason}", {
        remote: ip,
        reason: refusal,
      });
      refuse(conn, refusal);
      return;
    }
    const session = new Session(conn, this.#context);
    this.#sessions.add(session);
    this.#perIp.set(ip, (this.#perIp.get(ip) ?? 0) + 1);
    session.run();
  }

  #refusal(ip: string): string | null {
    const options = this.#options;
    if (this.#sessions.size >= options.maxSessions) return "Too many users, try again later.";
    if ((this.#perIp.get(ip) ?? 0) >= options.maxSessionsPerIp) {
      return "Too many connections from your address.";
    }
    const failures = this.#failures.get(ip);
    if (failures && failures.bannedUntil > Date.now()) {
      return "Too many failed logins from your address; try again later.";
    }
    return null;
  }

  #sessionEnded(session: Session): void {
    if (!this.#sessions.delete(session)) return;
    const ip = session.remoteHost;
    const count = (this.#perIp.get(ip) ?? 1) - 1;
    if (count <= 0) this.#perIp.delete(ip);
    else this.#perIp.set(ip, count);
    if (this.#sessions.size === 0) this.#allSessionsEnded?.();
  }

  /** Counts a failed login against the client's IP; bans it after too many. */
  #loginFailed(session: Session, user: string): number {
    const options = this.#options;
    const ip = session.remoteHost;
    const now = Date.now();
    let record = this.#failures.get(ip);
    if (!record || now - record.since > options.banDurationMs) {
      record = { count: 0, since: now, bannedUntil: 0 };
      this.#failures.set(ip, record);
    }
    record.count++;
    // One line per failure, with the address, in a fixed form for fail2ban.
    log.security.warning("Login failed for user {user} from {remote}", { user, remote: ip });
    if (record.count >= options.banAfterFailures && record.bannedUntil <= now) {
      record.bannedUntil = now + options.banDurationMs;
      log.security.warning("Banned {remote} for {seconds} s after {count} failed logins", {
        remote: ip,
        seconds: Math.round(options.banDurationMs / 1000),
        count: record.count,
      });
    }
    return options.loginFailureDelayMs;
  }

  #sweep(): void {
    const now = Date.now();
    for (const session of this.#sessions) session.tick(now);
    for (const [ip, record] of this.#failures) {
      if (now - record.since > this.#options.banDurationMs && record.bannedUntil <= now) {
        this.#failures.delete(ip);
      }
    }
  }
}

/**
 * Starts an FTP server. Like `Deno.serve`, it is already listening when it returns.
 *
 * @example Serve a directory to one user, then stop
 * ```ts
 * import { serve } from "./mod.ts";
 *
 * await using server = serve({
 *   root: Deno.makeTempDirSync(),
 *   users: [{ name: "alice", password: "secret" }],
 * });
 * console.log(server.url); // ftp://alice:secret@127.0.0.1:40123/
 * ```
 */
export function serve(options: ServeOptions = {}): FtpServer {
  const resolved = resolveOptions(options);
  const storage = typeof resolved.root !== "string"
    ? resolved.root
    : resolved.root === MEMORY_ROOT
    ? new MemoryStorage()
    : new LocalStorage(resolved.root, {
      onNotCapable: warnNotCapable(resolved.root),
      atomicUploads: resolved.atomicUploads,
    });
  const listener = Deno.listen({ hostname: resolved.hostname, port: resolved.port });
  const server = new FtpServer(listener, resolved, storage);
  log.server.info("Listening on {url}", { url: redactUrl(server.url) });
  options.onListen?.(server.addr);
  options.signal?.addEventListener("abort", () => server.shutdown(), { once: true });
  if (options.signal?.aborted) server.shutdown();
  return server;
}

function refuse(conn: Deno.Conn, text: string): void {
  conn.write(encodeReply(421, text)).catch(() => {}).finally(() => {
    try {
      conn.close();
    } catch { /* already closed */ }
  });
}

function warnNotCapable(root: string): (error: Error) => void {
  let warned = false;
  return (error) => {
    if (warned) return;
    warned = true;
    log.server.error(
      "Deno refused access inside the root ({error}); run with --allow-read={root} --allow-write={root}",
      { error: error.message, root },
    );
  };
}

function serverUrl(addr: Deno.NetAddr, options: ResolvedOptions): string {
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  const user = options.users[0];
  const credentials = user
    ? `${encodeURIComponent(user.name)}:${encodeURIComponent(user.password)}@`
    : "";
  return `ftp://${credentials}${host}:${addr.port}/`;
}

/** The URL without its password, for logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@");
}
