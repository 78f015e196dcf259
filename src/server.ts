/**
 * The server: listens, accepts control connections, keeps the session registry, enforces the
 * connection limits, and shuts down.
 *
 * @module
 */

import { COMMANDS } from "./commands/registry.ts";
import { normalizeHost } from "./data/address.ts";
import { DataSetup } from "./data/setup.ts";
import { logEvents } from "./event_log.ts";
import { EventHub } from "./events.ts";
import { applyFaults, type FaultableSeams } from "./faults/decorators.ts";
import type { IdentityProvider } from "./identity/identity.ts";
import { Admissions } from "./identity/admission.ts";
import { type RootOpener, StaticIdentityProvider } from "./identity/static.ts";
import { type ByteWriter, writeAll } from "./io.ts";
import { log } from "./log.ts";
import { acceptLoop } from "./net/accept.ts";
import { type ResolvedOptions, resolveOptions, type ServeOptions } from "./options.ts";
import { Code } from "./protocol/codes.ts";
import { encodeReply } from "./protocol/reply.ts";
import type { ReplyChannel, SessionServices } from "./session/services.ts";
import { type ControlChannel, Session } from "./session/session.ts";
import { LocalStorage } from "./storage/local.ts";
import type { SharedState } from "./workers/shared.ts";
import { MemoryStorage } from "./storage/memory.ts";
import type { Storage } from "./storage/storage.ts";
import type { TlsContext } from "./tls/context.ts";
import { tlsSupport } from "./tls/support.ts";
import { Transcript, type TranscriptEntry } from "./transcript.ts";
import type { ConfigValue, OpsHost, ReadyResult, StatusSnapshot } from "./ops/host.ts";
import { VERSION } from "./version.ts";

/**
 * The `root` that selects an empty in-memory storage.
 *
 * @example
 * ```ts
 * import { MEMORY_ROOT, serve } from "./server.ts";
 * await using server = serve({ root: MEMORY_ROOT });
 * ```
 */
export const MEMORY_ROOT = "memory:";
/** How often sessions are checked for idle, stalled and expired timeouts, at most. */
const SWEEP_INTERVAL_MS = 1000;
/**
 * On shutdown, how long a session lingers after its 421 for the client to close first: short,
 * because `shutdown()` of an idle server must resolve within 100 ms.
 */
const SHUTDOWN_LINGER_MS = 50;
/** How long a client may take to finish a TLS handshake on a new connection. */
const HANDSHAKE_TIMEOUT_MS = 10_000;

type TcpListener = Deno.Listener<Deno.TcpConn, Deno.NetAddr>;

/**
 * What a worker of a multi-worker server adds to {@linkcode serve} (see `workers/pool.ts`).
 * @internal
 */
export interface ServeInternals {
  /** Limits, bans and the busy guard held by the main isolate. */
  shared?: SharedState;
  /** Listen with SO_REUSEPORT, beside the other workers (Linux; needs `--unstable-net`). */
  reusePort?: boolean;
  /** Session numbers unique over the workers: `first`, `first + step`, … */
  sessionIds?: { first: number; step: number };
}

/** What {@linkcode FtpServer.reconfigure} may change while the server runs. */
export type Reconfiguration = Omit<
  ServeOptions,
  | "root"
  | "hostname"
  | "port"
  | "implicitTlsPort"
  | "tls"
  | "tlsSniffMs"
  | "requireTlsSessionReuse"
  | "transcript"
  | "faults"
  | "signal"
  | "onListen"
>;

/**
 * Options only a restart changes: the sockets, the root, TLS itself (see Reconfiguration).
 * SIGHUP (src/app/reload.ts) keeps these as they run and says which of them a new file changed.
 */
export const RESTART_OPTIONS = [
  "root",
  "hostname",
  "port",
  "implicitTlsPort",
  "tls",
  "tlsSniffMs",
  "requireTlsSessionReuse",
  "transcript",
  "faults",
  "listCache",
] as const;

/** What reconfigure() refuses: the restart options, and what only serve() takes. */
const FIXED_OPTIONS: readonly string[] = [...RESTART_OPTIONS, "signal", "onListen"];

/** How long a replaced identity provider may finish the logins it had started. */
const RETIRE_PROVIDER_MS = 30_000;

/**
 * Options for {@linkcode FtpServer.shutdown}.
 *
 * @example
 * ```ts
 * import { serve } from "./server.ts";
 * const server = serve({ root: "memory:" });
 * await server.shutdown({ graceMs: 0 }); // abort transfers at once
 * ```
 */
export interface ShutdownOptions {
  /** How long running transfers may go on before they are aborted. Default: `shutdownGraceMs`. */
  graceMs?: number;
}

/**
 * A running FTP server, returned by {@linkcode serve}.
 *
 * @example
 * ```ts
 * import { serve } from "./server.ts";
 * const server = serve({ root: "memory:", transcript: true });
 * console.log(server.addr.port, server.sessionCount);
 * await server.shutdown();
 * await server.finished;
 * ```
 */
export class FtpServer implements AsyncDisposable, OpsHost {
  /** The address the server listens on (the real port when 0 was asked for). */
  readonly addr: Deno.NetAddr;
  /** The implicit-TLS listener's address, when `implicitTlsPort` was given. */
  readonly implicitTlsAddr: Deno.NetAddr | undefined;
  /** `ftp://` URL of the server, with the first user's credentials when one is configured. */
  readonly url: string;
  /** Resolves once the server has shut down and every session has ended. */
  readonly finished: Promise<void>;
  /** The server's root storage (users without a root of their own see it). */
  readonly storage: Storage;
  /** What happens in the server, as typed events: subscribe with `events.on(listener)`. */
  readonly events: EventHub = new EventHub();
  /** Resolves once the first client has been greeted (its 220 written). */
  readonly firstSession: Promise<void>;
  #greeted!: () => void;

  readonly #listeners: TcpListener[];
  #options: ResolvedOptions;
  readonly #tls: TlsContext | null;
  readonly #sessions = new Set<Session>();
  /** Connections accepted but not yet sessions (TLS sniffing or handshaking). */
  readonly #pending = new Set<Deno.Conn>();
  readonly #perIp = new Map<string, number>();
  readonly #failures = new Map<string, { count: number; since: number; bannedUntil: number }>();
  readonly #services: SessionServices;
  #identity: IdentityProvider;
  #faultyIdentity: IdentityProvider;
  /** The options as given to serve(), for reconfigure(). */
  #given: ServeOptions;
  readonly #openRoot: RootOpener;
  /** Releases what serve() opened for the server (the listing caches of local roots). */
  readonly #releaseStorage: (() => void) | undefined;
  /** In a worker: the limits, bans and busy guard every worker shares. */
  readonly #shared: SharedState | undefined;
  /** Replaced identity providers finishing their logins, and when they stop. */
  readonly #retiring = new Map<IdentityProvider, ReturnType<typeof setTimeout>>();
  /** Per-user conditions and state: sessions at once, quotas, bandwidth. */
  readonly #admissions = new Admissions(
    (user) => {
      let count = 0;
      for (const session of this.#sessions) if (session.state.identity?.name === user) count++;
      return count;
    },
    // Every storage call of a session, for ftpgate_storage_operation_duration_seconds.
    (event) => this.events.emit(event),
  );
  #sweeper: ReturnType<typeof setInterval> | undefined;
  #shuttingDown: Promise<void> | null = null;
  #resolveFinished!: () => void;
  #allSessionsEnded: (() => void) | null = null;
  /** Ends the grace period early (a second shutdown with `graceMs: 0`). */
  #hurry: (() => void) | null = null;
  readonly #acceptLoops: Promise<void>[] = [];
  readonly #transcript: Transcript | null;
  #deadListener: TcpListener | null = null;
  #sessionIds = 0;
  #sessionIdStep = 1;

  /** @internal Use {@linkcode serve}. */
  constructor(
    listener: TcpListener,
    implicitListener: TcpListener | null,
    options: ResolvedOptions,
    storage: Storage,
    identity: IdentityProvider,
    tls: TlsContext | null,
    parts: {
      given: ServeOptions;
      openRoot: RootOpener;
      release?: () => void;
      shared?: SharedState;
      sessionIds?: { first: number; step: number };
    },
  ) {
    const ids = parts.sessionIds ?? { first: 1, step: 1 };
    this.#sessionIds = ids.first - ids.step;
    this.#sessionIdStep = ids.step;
    this.#shared = parts.shared;
    this.#releaseStorage = parts.release;
    this.#given = parts.given;
    this.#openRoot = parts.openRoot;
    this.#listeners = implicitListener ? [listener, implicitListener] : [listener];
    this.#options = options;
    this.#tls = tls;
    this.storage = storage;
    this.addr = listener.addr;
    this.implicitTlsAddr = implicitListener?.addr;
    this.url = serverUrl(listener.addr, options);
    this.finished = new Promise((resolve) => (this.#resolveFinished = resolve));
    this.firstSession = new Promise((resolve) => (this.#greeted = resolve));
    this.#transcript = options.transcript === false
      ? null
      : new Transcript(typeof options.transcript === "string" ? options.transcript : null);
    this.#identity = identity;
    logEvents(this.events);
    const faulty = this.#withFaults(identity);
    // The options and the identity provider are read through getters: reconfigure() (SIGHUP)
    // swaps them for new logins while running sessions keep what they logged in with.
    this.#faultyIdentity = faulty.identity;
    const current = () => ({ options: this.#options, identity: this.#faultyIdentity });
    this.#services = {
      get options() {
        return current().options;
      },
      get identity() {
        return current().identity;
      },
      commands: faulty.commands,
      createReplyChannel: faulty.createReplyChannel,
      createDataSetup: faulty.createDataSetup,
      tls,
      transcript: this.#transcript,
      events: this.events,
      defaultCapabilities: storage.capabilities,
      nextSessionId: () => (this.#sessionIds += this.#sessionIdStep),
      sessionStarted: () => this.#startSweeper(),
      sessionEnded: (session) => this.#sessionEnded(session),
      loginFailed: (remote, user, session) => this.#loginFailed(remote, user, session),
      isBanned: (ip) =>
        this.#shared?.isBanned(ip) ?? (this.#failures.get(ip)?.bannedUntil ?? 0) > Date.now(),
      admitLogin: (identity, session) => this.#admissions.admit(identity, session),
      throttleFor: (identity) => this.#admissions.throttleFor(identity),
    };
    this.#acceptLoops.push(this.#acceptLoop(listener, false));
    if (implicitListener) this.#acceptLoops.push(this.#acceptLoop(implicitListener, true));
  }

  /**
   * Applies new settings to new logins and connections without dropping a session (SIGHUP with
   * a changed config file): users, anonymous access or an identity provider, limits, passive
   * addresses, banner. Sessions already logged in keep their identity. What needs the sockets
   * or the root again (host, port, root, TLS on or off) cannot change: TypeError. Validates
   * everything before changing anything; a bad value throws and the old settings stay.
   */
  reconfigure(changes: Reconfiguration): void {
    for (const fixed of FIXED_OPTIONS) {
      if (fixed in changes) throw new TypeError(`${fixed}: cannot change without a restart`);
    }
    const given = { ...this.#given, ...changes };
    const next = resolveOptions({ ...given, root: this.storage });
    const identityChanged = "users" in changes || "anonymous" in changes || "identity" in changes;
    let identity = this.#identity;
    if (identityChanged) {
      identity = next.identity ?? new StaticIdentityProvider({
        users: next.users,
        anonymous: next.anonymous,
        storage: this.storage,
        openRoot: this.#openRoot,
      });
    }
    // Nothing has failed: apply.
    const old = this.#identity;
    const ownedOld = this.#given.identity === undefined; // one passed in is the caller's
    this.#given = given;
    this.#options = next;
    if (identityChanged) {
      this.#identity = identity;
      this.#faultyIdentity = this.#withFaults(identity).identity;
      // The old provider's logins in flight finish; its workers stop a little later.
      if (ownedOld && old !== identity) {
        const timer = setTimeout(() => {
          this.#retiring.delete(old);
          void old.close?.();
        }, RETIRE_PROVIDER_MS);
        Deno.unrefTimer(timer);
        this.#retiring.set(old, timer);
      }
    }
    log.server.info("Configuration reloaded");
  }

  /** The seams with the configured faults applied (none: as they are). */
  #withFaults(identity: IdentityProvider): FaultableSeams {
    const seams: FaultableSeams = {
      identity,
      commands: COMMANDS,
      createReplyChannel: (writer) => new WriterChannel(writer),
      createDataSetup: (context) => new DataSetup(context),
    };
    const faults = this.#options.faults;
    return faults ? applyFaults(seams, faults, () => this.#deadPassivePort()) : seams;
  }

  /** Sessions currently connected. */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** When the server started listening (milliseconds since the epoch). */
  readonly startedAt: number = Date.now();

  /**
   * The state right now: sessions, transfers in progress, counts, and a configuration summary
   * without secrets (for the status page, `/healthz` and metrics).
   */
  status(): StatusSnapshot {
    const sessions = [];
    const transfers = [];
    let passiveListeners = 0;
    for (const session of this.#sessions) {
      const user = session.state.identity?.name;
      sessions.push({
        id: session.id,
        remote: session.remoteHost,
        ...(user === undefined ? {} : { user }),
        since: session.openedAt,
        ...(session.lastCommand === undefined ? {} : { command: session.lastCommand }),
        secure: session.state.secure,
      });
      if (session.passiveListening) passiveListeners++;
      const transfer = session.transfer;
      if (transfer !== null) {
        const { spec } = transfer;
        transfers.push({
          session: session.id,
          user: session.state.userName,
          command: spec.command,
          direction: spec.direction,
          path: spec.path,
          bytes: transfer.bytes,
          ...(transfer.expectedBytes === undefined ? {} : { size: transfer.expectedBytes }),
          started: transfer.startedAt,
        });
      }
    }
    const now = Date.now();
    let bannedAddresses = 0;
    for (const record of this.#failures.values()) if (record.bannedUntil > now) bannedAddresses++;
    return {
      version: VERSION,
      startedAt: this.startedAt,
      draining: this.#shuttingDown !== null,
      sessions,
      transfers,
      counts: { passiveListeners, bannedAddresses },
      config: this.#configSummary(),
    };
  }

  /** Listening, and the root storage answers a `stat("/")` (an object store is probed). */
  async ready(signal: AbortSignal): Promise<ReadyResult> {
    if (this.#shuttingDown !== null) return { ok: false, detail: "shutting down" };
    try {
      await this.storage.stat("/", { signal });
      return { ok: true };
    } catch (error) {
      const kind = error instanceof Error && "kind" in error ? String(error.kind) : "error";
      return { ok: false, detail: `storage not reachable (${kind})` };
    }
  }

  #configSummary(): Record<string, ConfigValue> {
    const options = this.#options;
    const root = options.root;
    return {
      listen: `${this.addr.hostname}:${this.addr.port}`,
      implicitTlsPort: this.implicitTlsAddr?.port ?? null,
      tls: this.#tls !== null,
      requireTls: options.requireTls,
      storage: typeof root === "string" ? (root === MEMORY_ROOT ? "memory" : "local") : "custom",
      users: options.users.length,
      anonymous: typeof options.anonymous === "object" ? "custom" : String(options.anonymous),
      passivePorts: options.passivePorts
        ? `${options.passivePorts.from}-${options.passivePorts.to}`
        : "any",
      passiveAddress: options.passiveAddress ?? null,
      activeMode: options.allowActive,
      maxSessions: options.maxSessions,
      maxSessionsPerIp: options.maxSessionsPerIp,
      idleTimeoutSeconds: options.idleTimeoutMs / 1000,
      atomicUploads: options.atomicUploads,
    };
  }

  /**
   * Every command and reply so far, when the server was started with `transcript`; otherwise
   * empty. Entries carry the session number, so interleaved sessions can be told apart.
   */
  transcript(): TranscriptEntry[] {
    return this.#transcript?.entries() ?? [];
  }

  /** SHA-256 fingerprint of the TLS certificate, when TLS is configured. */
  get tlsFingerprint(): string | undefined {
    return this.#tls?.fingerprint;
  }

  /**
   * Re-reads the TLS certificate and key files (on SIGHUP). New handshakes use them; running
   * sessions keep theirs. Throws, keeping the old credentials, when the new ones are unusable.
   */
  reloadTls(): void {
    this.#tls?.reload();
  }

  /**
   * Stops accepting, lets running transfers finish within the grace period, then closes every
   * session with 421. Resolves when everything is closed. Safe to call more than once.
   */
  shutdown(options: ShutdownOptions = {}): Promise<void> {
    if (this.#shuttingDown) {
      // A second call with no grace (the second SIGTERM) cuts the first one's grace short.
      if (options.graceMs === 0) this.#hurry?.();
      return this.#shuttingDown;
    }
    this.#shuttingDown = this.#shutdown(options.graceMs ?? this.#options.shutdownGraceMs);
    return this.#shuttingDown;
  }

  /** Shuts the server down; for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  async #shutdown(graceMs: number): Promise<void> {
    for (const listener of this.#listeners) {
      try {
        listener.close();
      } catch { /* already closed */ }
    }
    clearInterval(this.#sweeper);
    if (this.#deadListener) closeQuietly(this.#deadListener);
    for (const conn of this.#pending) closeQuietly(conn);
    let deadline = Date.now() + graceMs;
    const hurried = new Promise<void>((resolve) => {
      this.#hurry = () => {
        deadline = 0;
        resolve();
      };
    });
    const closeIdle = () => {
      for (const session of this.#sessions) {
        if (!session.transfer) {
          session.close(Code.SERVICE_UNAVAILABLE, "Server shutting down.", SHUTDOWN_LINGER_MS);
        }
      }
    };
    closeIdle();
    while (this.#sessions.size > 0 && Date.now() < deadline) {
      const transfers = [...this.#sessions].flatMap((s) => {
        const transfer = s.transfer;
        return transfer ? [transfer.done] : [];
      });
      if (transfers.length === 0) break;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.all(transfers),
        hurried,
        new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now())))),
      ]);
      clearTimeout(timer);
      closeIdle();
    }
    this.#hurry = null;
    for (const session of this.#sessions) {
      session.close(Code.SERVICE_UNAVAILABLE, "Server shutting down.", SHUTDOWN_LINGER_MS);
    }
    if (this.#sessions.size > 0) {
      await new Promise<void>((resolve) => (this.#allSessionsEnded = resolve));
    }
    this.#transcript?.close();
    // Only a provider the server made is the server's to close (one passed in is the caller's).
    if (this.#given.identity === undefined) await this.#identity.close?.();
    for (const [provider, timer] of this.#retiring) {
      clearTimeout(timer);
      await provider.close?.();
    }
    this.#retiring.clear();
    // The port is free only once the accept loops have seen their listener close.
    await Promise.all(this.#acceptLoops);
    this.#releaseStorage?.();
    log.server.info("Server on {host} port {port} stopped", {
      host: this.addr.hostname,
      port: this.addr.port,
    });
    this.#resolveFinished();
  }

  #acceptLoop(listener: TcpListener, implicitTls: boolean): Promise<void> {
    return acceptLoop(listener, (conn) => this.#admit(conn, implicitTls), {
      closing: () => this.#shuttingDown !== null,
      // Out of file descriptors or a connection reset before accept: wait, then go on.
      onError: (error, ms) =>
        log.server.warning("Accept failed ({error}); retrying in {ms} ms", { error, ms }),
    });
  }

  /** Starts a session, or refuses the connection with 421 when a limit is reached. */
  #admit(conn: Deno.TcpConn, implicitTls: boolean): void {
    const ip = normalizeHost(conn.remoteAddr.hostname);
    // A worker of a multi-worker server counts every worker's sessions (shared memory).
    const refusal = this.#shared ? this.#shared.admit(ip) : this.#refusal(ip);
    this.#admitted(conn, ip, refusal, implicitTls);
  }

  #admitted(conn: Deno.TcpConn, ip: string, refusal: string | null, implicitTls: boolean): void {
    if (refusal !== null) {
      log.security.warning("Refused connection from {remote}: {reason}", {
        remote: ip,
        reason: refusal,
      });
      if (implicitTls) closeQuietly(conn); // a 421 in clear text would only confuse a TLS client
      else refuse(conn, refusal);
      return;
    }
    this.#perIp.set(ip, (this.#perIp.get(ip) ?? 0) + 1);
    const tls = this.#tls;
    if (tls === null || (!implicitTls && this.#options.tlsSniffMs === 0)) {
      this.#start(conn, conn, false);
      return;
    }
    this.#pending.add(conn);
    this.#secure(conn, tls, implicitTls).then(
      (result) => {
        this.#pending.delete(conn);
        if (result === null || this.#shuttingDown) {
          if (result) closeQuietly(result.channel);
          this.#release(ip);
          return;
        }
        this.#start(conn, result.channel, result.secure);
      },
      (error) => {
        this.#pending.delete(conn);
        this.#release(ip);
        log.security.warning("TLS handshake with {remote} failed: {error}", {
          remote: ip,
          error: error instanceof Error ? error.message : String(error),
        });
      },
    );
  }

  /**
   * Implicit TLS (second port, or a ClientHello sniffed on the main port) or plain. Resolves to
   * null when the client went away first.
   */
  async #secure(
    conn: Deno.TcpConn,
    tls: TlsContext,
    implicitTls: boolean,
  ): Promise<{ channel: ControlChannel; secure: boolean } | null> {
    let initial: Uint8Array | undefined;
    if (!implicitTls) {
      const sniffed = await tlsSupport().sniff(conn, this.#options.tlsSniffMs);
      if (sniffed.kind === "closed") {
        closeQuietly(conn);
        return null;
      }
      if (sniffed.kind === "plain") return { channel: sniffed.channel, secure: false };
      initial = sniffed.initial;
    }
    const channel = await tlsSupport().accept(conn, tls.secureContext, {
      initial,
      timeoutMs: HANDSHAKE_TIMEOUT_MS,
      requireCloseNotify: false,
    });
    return { channel, secure: true };
  }

  #start(conn: Deno.TcpConn, channel: ControlChannel, secure: boolean): void {
    const session = new Session(conn, this.#services, channel, secure);
    this.#sessions.add(session);
    session.run();
  }

  /** A listener that never accepts: connections to it wait in the backlog until they give up. */
  #deadPassivePort(): number {
    this.#deadListener ??= Deno.listen({
      hostname: this.addr.hostname === "::" ? "::" : this.addr.hostname,
      port: 0,
    });
    return this.#deadListener.addr.port;
  }

  #refusal(ip: string): string | null {
    const options = this.#options;
    if (this.#sessions.size + this.#pending.size >= options.maxSessions) {
      return "Too many users, try again later.";
    }
    if ((this.#perIp.get(ip) ?? 0) >= options.maxSessionsPerIp) {
      return "Too many connections from your address.";
    }
    const failures = this.#failures.get(ip);
    if (failures && failures.bannedUntil > Date.now()) {
      return "Too many failed logins from your address; try again later.";
    }
    return null;
  }

  #release(ip: string): void {
    this.#shared?.release(ip);
    const count = (this.#perIp.get(ip) ?? 1) - 1;
    if (count <= 0) this.#perIp.delete(ip);
    else this.#perIp.set(ip, count);
  }

  #sessionEnded(ended: { remoteHost: string }): void {
    const session = ended as Session;
    if (!this.#sessions.delete(session)) return;
    this.#release(session.remoteHost);
    if (this.#sessions.size === 0) this.#allSessionsEnded?.();
  }

  /** Counts a failed login against the client's IP; bans it after too many. */
  #loginFailed(ip: string, user: string, session: number): number {
    const options = this.#options;
    // One line per failure, with the address, in a fixed form for fail2ban (the session number
    // is appended after it, src/log.ts).
    log.security.warning("Login failed from {remote}: user {user}", { user, remote: ip, session });
    // In a worker, the count is every worker's (shared memory), and so is the ban.
    const { count, banned } = this.#shared?.loginFailed(ip) ?? this.#countFailure(ip);
    if (banned) {
      this.events.emit({
        type: "ban",
        remote: ip,
        failures: count,
        durationMs: options.banDurationMs,
      });
      log.security.warning("Banned {remote} for {seconds} s after {count} failed logins", {
        remote: ip,
        seconds: Math.round(options.banDurationMs / 1000),
        count,
      });
    }
    return options.loginFailureDelayMs;
  }

  #countFailure(ip: string): { count: number; banned: boolean } {
    const options = this.#options;
    const now = Date.now();
    let record = this.#failures.get(ip);
    if (!record || now - record.since > options.banDurationMs) {
      record = { count: 0, since: now, bannedUntil: 0 };
      this.#failures.set(ip, record);
    }
    record.count++;
    if (record.count >= options.banAfterFailures && record.bannedUntil <= now) {
      record.bannedUntil = now + options.banDurationMs;
      return { count: record.count, banned: true };
    }
    return { count: record.count, banned: false };
  }

  /**
   * The sweeper starts with the first session, after its banner: the first timer of a process
   * costs ~6 ms (the runtime loads its timer module), which the first client should not wait for.
   */
  #startSweeper(): void {
    this.#greeted();
    if (this.#sweeper !== undefined || this.#shuttingDown) return;
    const options = this.#options;
    const interval = Math.max(
      50,
      Math.min(
        SWEEP_INTERVAL_MS,
        (options.idleTimeoutMs || SWEEP_INTERVAL_MS) / 4,
        options.dataTimeoutMs / 4,
        options.stallTimeoutMs / 4,
      ),
    );
    this.#sweeper = setInterval(() => this.#sweep(), interval);
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
export function serve(options: ServeOptions = {}, internals: ServeInternals = {}): FtpServer {
  const resolved = resolveOptions(options);
  const tls = resolved.tls
    ? tlsSupport().createContext(resolved.tls, resolved.requireTlsSessionReuse)
    : null;
  // Local roots the server opened (its own, and users' own) are the server's to close.
  const opened: LocalStorage[] = [];
  const openRoot = (root: string): Storage => {
    if (root === MEMORY_ROOT) return new MemoryStorage();
    const local = new LocalStorage(root, {
      onNotCapable: warnNotCapable(root),
      atomicUploads: resolved.atomicUploads,
      listCache: resolved.listCache,
      ...(internals.shared ? { writeGuard: internals.shared.writes } : {}),
    });
    opened.push(local);
    return local;
  };
  const storage = typeof resolved.root === "string" ? openRoot(resolved.root) : resolved.root;
  const identity = resolved.identity ?? new StaticIdentityProvider({
    users: resolved.users,
    anonymous: resolved.anonymous,
    storage,
    openRoot,
  });
  const listener = Deno.listen({
    hostname: resolved.hostname,
    port: resolved.port,
    ...(internals.reusePort ? { reusePort: true } : {}),
  } as Deno.TcpListenOptions);
  let implicitListener: TcpListener | null = null;
  if (resolved.implicitTlsPort !== undefined) {
    try {
      implicitListener = Deno.listen({
        hostname: resolved.hostname,
        port: resolved.implicitTlsPort,
      });
    } catch (error) {
      listener.close();
      throw error;
    }
  }
  const server = new FtpServer(listener, implicitListener, resolved, storage, identity, tls, {
    given: options,
    openRoot,
    release: () => opened.forEach((local) => local.close()),
    ...(internals.shared ? { shared: internals.shared } : {}),
    ...(internals.sessionIds ? { sessionIds: internals.sessionIds } : {}),
  });
  // Temporary upload files exist only with atomic uploads (of this run or an earlier one): a
  // server that never used them need not walk its tree.
  if (storage instanceof LocalStorage && resolved.atomicUploads) {
    removeStaleUploads(storage, server);
  }
  log.server.info("Listening on {url}", { url: withoutCredentials(server.url) });
  if (server.implicitTlsAddr) {
    log.server.info("Implicit TLS on port {port}", { port: server.implicitTlsAddr.port });
  }
  options.onListen?.(server.addr);
  options.signal?.addEventListener("abort", () => server.shutdown(), { once: true });
  if (options.signal?.aborted) server.shutdown();
  return server;
}

/**
 * Atomic uploads of a process that was killed leave hidden temporary files behind; the next
 * start removes them, in the background (a large tree must not delay the first banner).
 */
function removeStaleUploads(storage: LocalStorage, server: FtpServer): void {
  const stop = new AbortController();
  server.finished.then(() => stop.abort());
  // After the first greeting, or a second after start: never in the way of the first banner.
  // (AbortSignal.timeout, not setTimeout: the first timer of a process costs ~6 ms to load.)
  const soon = new Promise((resolve) =>
    AbortSignal.timeout(1_000).addEventListener("abort", resolve, { once: true })
  );
  Promise.race([server.firstSession, soon]).then(() =>
    stop.signal.aborted ? 0 : storage.removeStaleUploads(new Date(server.startedAt), stop.signal)
  ).then((removed) => {
    if (removed > 0) {
      log.server.info("Removed {count} unfinished upload(s) left by an earlier run", {
        count: removed,
      });
    }
  }, () => {});
}

function refuse(conn: Deno.Conn, text: string): void {
  writeAll(conn, encodeReply(Code.SERVICE_UNAVAILABLE, text)).catch(() => {}).finally(() =>
    closeQuietly(conn)
  );
}

function closeQuietly(closable: { close(): void }): void {
  try {
    closable.close();
  } catch { /* already closed */ }
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

/** A host a client can connect to: wildcard listen addresses become loopback. */
export function connectableHost(hostname: string): string {
  if (hostname === "0.0.0.0") return "127.0.0.1";
  if (hostname === "::") return "[::1]";
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}

function serverUrl(addr: Deno.NetAddr, options: ResolvedOptions): string {
  const host = connectableHost(addr.hostname);
  // Only a clear password can go in the URL; a user configured by hash is named without one.
  const user = options.users[0];
  const credentials = user === undefined
    ? ""
    : user.password === undefined
    ? `${encodeURIComponent(user.name)}@`
    : `${encodeURIComponent(user.name)}:${encodeURIComponent(user.password)}@`;
  return `ftp://${credentials}${host}:${addr.port}/`;
}

/**
 * The URL without its credentials, for the log: neither the password nor the name of a user
 * (which a config file may hold) belongs in a log line anyone in group adm reads.
 */
export function withoutCredentials(url: string): string {
  return url.replace(/\/\/[^/@]*@/, "//");
}

/** The plain reply channel: a class, so a session holds one small object and no closure. */
class WriterChannel implements ReplyChannel {
  readonly #writer: ByteWriter;

  constructor(writer: ByteWriter) {
    this.#writer = writer;
  }

  write(bytes: Uint8Array): Promise<void> {
    return writeAll(this.#writer, bytes);
  }
}
