/**
 * A server on every core: N isolates (Deno Workers), each running {@linkcode serve} on the same
 * port with SO_REUSEPORT, so the kernel spreads new connections over them. A session lives in
 * one worker from its first byte to its last; what must hold across sessions is held here, in
 * the main isolate, and reached by messages:
 *
 * - the connection limits (`maxSessions`, `maxSessionsPerIp`): in shared memory, which every
 *   worker updates itself, under a lock, when it accepts and when a connection ends
 *   (`admission_table.ts`; no message per connection);
 * - failed logins and bans: in the same shared memory, so the failure that reaches the limit
 *   bans the address in every worker before its 530 goes out;
 * - the "file busy" guard of local storage: an upload takes its real path here first;
 * - events (for metrics, webhooks): forwarded in batches and re-emitted on
 *   {@linkcode WorkerPool.events}, from the moment something subscribes there (each worker logs
 *   its own events itself);
 * - status: each worker's snapshot, merged.
 *
 * A worker that dies gives back everything it held (its connections, its locks). A memory root
 * cannot be shared between isolates, so it keeps one server, in this isolate (as does a count of
 * 1). SO_REUSEPORT needs Linux and `--unstable-net`; without them {@linkcode runWorkers} throws.
 *
 * @module
 */

import { EventHub } from "../events.ts";
import { log, type LogFormat, type LogLevelName } from "../log.ts";
import { resolveOptions, type ServeOptions } from "../options.ts";
import type { OpsHost, ReadyResult, StatusSnapshot } from "../ops/host.ts";
import {
  connectableHost,
  type FtpServer,
  MEMORY_ROOT,
  type Reconfiguration,
  serve,
  type ShutdownOptions,
} from "../server.ts";
import type { FromWorker, ToWorker } from "./protocol.ts";
import { AdmissionTable } from "./admission_table.ts";

/** Options for {@linkcode runWorkers} beyond the serve options. */
export interface WorkerPoolOptions {
  /** Configure logging in each worker as in the main isolate (default: workers log nothing). */
  log?: { format: LogFormat; level: LogLevelName };
  /**
   * Forward every worker's events to {@linkcode WorkerPool.events} from the start (default:
   * from the first subscription there).
   */
  forwardEvents?: boolean;
}

/** How many workers `--workers auto` means: the cores this process may use. */
export function autoWorkerCount(): number {
  return Math.max(1, navigator.hardwareConcurrency || 1);
}

/**
 * A running multi-worker server, returned by {@linkcode runWorkers}: the same shape as
 * {@linkcode FtpServer} where main.ts needs it (address, shutdown, finished, status, events).
 */
export interface WorkerPool extends AsyncDisposable, OpsHost {
  /** The address every worker listens on. */
  readonly addr: Deno.NetAddr;
  readonly implicitTlsAddr: Deno.NetAddr | undefined;
  /** `ftp://` URL, as {@linkcode FtpServer.url}. */
  readonly url: string;
  readonly tlsFingerprint: string | undefined;
  /** Workers running (1 for a memory root). */
  readonly workers: number;
  /** Every worker's events, re-emitted here. */
  readonly events: EventHub;
  /** Resolves once every worker has shut down. */
  readonly finished: Promise<void>;
  /** Resolves once the first client has been greeted by any worker. */
  readonly firstSession: Promise<void>;
  /** Sessions connected, over all workers. */
  readonly sessionCount: number;
  /** Stops accepting in every worker, lets transfers finish within the grace, closes sessions. */
  shutdown(options?: ShutdownOptions): Promise<void>;
  /** Every worker's sessions and transfers (each worker's last snapshot, at most 1 s old). */
  status(): StatusSnapshot;
  /** Fresh status from every worker. */
  refreshStatus(): Promise<StatusSnapshot>;
  /** Sessions in each worker right now. */
  sessionsPerWorker(): Promise<number[]>;
  ready(signal: AbortSignal): Promise<ReadyResult>;
  /** Re-reads the TLS certificate in every worker. */
  reloadTls(): void;
  /** The log format and level of every worker (SIGHUP; this isolate's is the caller's). */
  configureLogging(format: LogFormat, level: LogLevelName): void;
  /** As {@linkcode FtpServer.reconfigure}, in every worker (and for the limits kept here). */
  reconfigure(changes: Reconfiguration): void;
}

/** How often a worker's status is refreshed for {@linkcode WorkerPool.status}. */
const STATUS_INTERVAL_MS = 1_000;

/**
 * Starts `count` workers serving `options` on one port. `options` must be structured-cloneable
 * (plain data, as the command line makes them: no identity provider object, no storage object,
 * no callbacks); `port: 0` picks a free port for all of them. Resolves once every worker
 * listens. With a memory root, or `count` 1, one server runs in this isolate.
 *
 * @example
 * ```ts ignore
 * const pool = await runWorkers({ root: "/srv/ftp", port: 2121, users }, autoWorkerCount());
 * Deno.addSignalListener("SIGTERM", () => pool.shutdown());
 * await pool.finished;
 * ```
 */
export async function runWorkers(
  options: ServeOptions,
  count: number,
  poolOptions: WorkerPoolOptions = {},
): Promise<WorkerPool> {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`workers: ${count}`);
  if (count === 1 || options.root === MEMORY_ROOT || options.root === undefined) {
    return new SinglePool(serve(options));
  }
  if (typeof options.root !== "string") {
    throw new TypeError("workers: the root must be a directory path, not a storage object");
  }
  if (Deno.build.os !== "linux") throw new TypeError("workers: SO_REUSEPORT needs Linux");
  const resolved = resolveOptions(options); // validates before any worker starts
  // Port 0: take a free port with SO_REUSEPORT, let the workers join it, then let it go. (Until
  // it is closed the kernel may hand it a connection; nothing connects before the ready line.)
  let probe: Deno.Listener | null = null;
  let port = resolved.port;
  if (port === 0) {
    probe = Deno.listen({
      hostname: resolved.hostname,
      port: 0,
      reusePort: true,
    } as Deno.TcpListenOptions);
    port = (probe.addr as Deno.NetAddr).port;
  }
  try {
    const pool = new MultiPool(options, count, resolved.maxSessions, resolved.maxSessionsPerIp, {
      after: resolved.banAfterFailures,
      durationMs: resolved.banDurationMs,
    });
    await pool.start({ ...options, port }, count, poolOptions);
    return pool;
  } finally {
    probe?.close();
  }
}

/** One server in this isolate, behind the pool's interface. */
class SinglePool implements WorkerPool {
  readonly #server: FtpServer;
  readonly workers = 1;
  constructor(server: FtpServer) {
    this.#server = server;
  }
  get addr() {
    return this.#server.addr;
  }
  get implicitTlsAddr() {
    return this.#server.implicitTlsAddr;
  }
  get url() {
    return this.#server.url;
  }
  get tlsFingerprint() {
    return this.#server.tlsFingerprint;
  }
  get events() {
    return this.#server.events;
  }
  get finished() {
    return this.#server.finished;
  }
  get firstSession() {
    return this.#server.firstSession;
  }
  get sessionCount() {
    return this.#server.sessionCount;
  }
  shutdown(options?: ShutdownOptions): Promise<void> {
    return this.#server.shutdown(options);
  }
  status(): StatusSnapshot {
    return this.#server.status();
  }
  refreshStatus(): Promise<StatusSnapshot> {
    return Promise.resolve(this.#server.status());
  }
  sessionsPerWorker(): Promise<number[]> {
    return Promise.resolve([this.#server.sessionCount]);
  }
  ready(signal: AbortSignal): Promise<ReadyResult> {
    return this.#server.ready(signal);
  }
  reloadTls(): void {
    this.#server.reloadTls();
  }
  configureLogging(): void {} // one server, in this isolate: the caller configured it
  reconfigure(changes: Reconfiguration): void {
    this.#server.reconfigure(changes);
  }
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }
}

/** One worker, as the main isolate sees it. */
interface Member {
  index: number;
  worker: Worker;
  /** Its upload locks. */
  locks: Set<string>;
  snapshot: StatusSnapshot | null;
  ended: boolean;
  exited: Promise<void>;
  exit(): void;
}

/** An event hub that asks the workers for their events once someone subscribes. */
class PoolEvents extends EventHub {
  #subscribed: (() => void) | null;
  constructor(subscribed: () => void) {
    super();
    this.#subscribed = subscribed;
  }
  override on(listener: Parameters<EventHub["on"]>[0]): () => void {
    const first = this.#subscribed;
    this.#subscribed = null;
    first?.();
    return super.on(listener);
  }
}

class MultiPool implements WorkerPool {
  readonly events: EventHub = new PoolEvents(() => {
    for (const member of this.#members) this.#post(member, { type: "forward" });
  });
  addr!: Deno.NetAddr;
  implicitTlsAddr: Deno.NetAddr | undefined;
  url = "";
  tlsFingerprint: string | undefined;
  readonly finished: Promise<void>;
  readonly firstSession: Promise<void>;
  #greeted!: () => void;
  #resolveFinished!: () => void;
  readonly #members: Member[] = [];
  readonly #buffer: SharedArrayBuffer;
  readonly #admissions: AdmissionTable;
  #workerCount = 0;
  readonly #locks = new Set<string>();
  #shutdown: Promise<void> | null = null;
  #statusTimer: ReturnType<typeof setInterval> | undefined;
  #statusRequests = 0;
  readonly #statusWaiters = new Map<number, (snapshot: StatusSnapshot) => void>();
  #startedAt = Date.now();

  #given: ServeOptions;

  constructor(
    given: ServeOptions,
    count: number,
    maxSessions: number,
    maxPerIp: number,
    ban: { after: number; durationMs: number },
  ) {
    this.#given = given;
    this.#workerCount = count;
    this.#buffer = AdmissionTable.allocate(count, maxSessions);
    this.#admissions = new AdmissionTable(this.#buffer, count, -1);
    this.#admissions.setLimits(maxSessions, maxPerIp, ban);
    this.finished = new Promise((resolve) => (this.#resolveFinished = resolve));
    this.firstSession = new Promise((resolve) => (this.#greeted = resolve));
  }

  get workers(): number {
    return this.#members.length;
  }

  get sessionCount(): number {
    return this.#admissions.total();
  }

  async start(options: ServeOptions, count: number, poolOptions: WorkerPoolOptions): Promise<void> {
    const ready: Promise<FromWorker & { type: "ready" }>[] = [];
    for (let index = 0; index < count; index++) {
      ready.push(this.#spawn(index, options, poolOptions));
    }
    let first: FromWorker & { type: "ready" };
    try {
      [first] = await Promise.all(ready);
    } catch (error) {
      for (const member of this.#members) member.worker.terminate();
      throw error;
    }
    this.addr = { transport: "tcp", hostname: options.hostname ?? "127.0.0.1", port: first.port };
    if (first.implicitTlsPort !== undefined) {
      this.implicitTlsAddr = { ...this.addr, port: first.implicitTlsPort };
    }
    this.url = first.url;
    this.tlsFingerprint = first.fingerprint;
    this.#startedAt = Date.now();
    this.#statusTimer = setInterval(() => this.#requestStatus(), STATUS_INTERVAL_MS);
    Deno.unrefTimer(this.#statusTimer);
    log.server.info("{count} workers listening on {host} port {port}", {
      count,
      host: connectableHost(this.addr.hostname),
      port: this.addr.port,
    });
  }

  #spawn(
    index: number,
    options: ServeOptions,
    poolOptions: WorkerPoolOptions,
  ): Promise<FromWorker & { type: "ready" }> {
    const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
    let exit!: () => void;
    const member: Member = {
      index,
      worker,
      locks: new Set(),
      snapshot: null,
      ended: false,
      exited: new Promise((resolve) => (exit = resolve)),
      exit: () => exit(),
    };
    this.#members.push(member);
    return new Promise((resolve, reject) => {
      let started = false;
      worker.onmessage = (event: MessageEvent<FromWorker>) => {
        const message = event.data;
        if (message.type === "ready") {
          started = true;
          resolve(message);
        } else if (message.type === "failed") {
          const error = new Error(message.message);
          error.name = message.name;
          reject(error);
        } else {
          this.#handle(member, message);
        }
      };
      worker.onerror = (event) => {
        event.preventDefault();
        log.server.error("Worker {index} failed: {error}", { index, error: event.message });
        if (!started) reject(new Error(event.message));
        this.#ended(member);
      };
      const start: ToWorker = {
        type: "start",
        index,
        options,
        log: poolOptions.log ?? null,
        forwardEvents: (poolOptions.forwardEvents ?? false) || this.events.active,
        admissions: this.#buffer,
        workers: this.#workerCount,
      };
      worker.postMessage(start);
    });
  }

  #post(member: Member, message: ToWorker): void {
    if (!member.ended) member.worker.postMessage(message);
  }

  #handle(member: Member, message: FromWorker): void {
    switch (message.type) {
      case "greeted":
        this.#greeted();
        return;
      case "acquire": {
        const free = !this.#locks.has(message.key);
        if (free) {
          this.#locks.add(message.key);
          member.locks.add(message.key);
        }
        this.#post(member, { type: "answer", id: message.id, value: free });
        return;
      }
      case "unlock":
        if (member.locks.delete(message.key)) this.#locks.delete(message.key);
        return;
      case "events":
        for (const event of message.events) {
          this.events.emit(event);
        }
        return;
      case "status": {
        member.snapshot = message.snapshot;
        this.#statusWaiters.get(message.id)?.(message.snapshot);
        return;
      }
      case "finished":
        this.#ended(member);
        return;
    }
  }

  /** A worker has stopped (shut down, or died): everything it held is free again. */
  #ended(member: Member): void {
    if (member.ended) return;
    member.ended = true;
    this.#admissions.releaseWorker(member.index);
    for (const key of member.locks) this.#locks.delete(key);
    member.locks.clear();
    member.worker.terminate();
    member.exit();
    if (this.#members.every((m) => m.ended)) {
      clearInterval(this.#statusTimer);
      if (this.#shutdown === null) log.server.error("Every worker has stopped");
      this.#resolveFinished();
    }
  }

  shutdown(options: ShutdownOptions = {}): Promise<void> {
    const first = this.#shutdown === null;
    for (const member of this.#members) {
      // A second call with no grace cuts the first one's grace short, in every worker.
      if (first || options.graceMs === 0) {
        this.#post(member, { type: "shutdown", ...options });
      }
    }
    this.#shutdown ??= Promise.all(this.#members.map((m) => m.exited)).then(() => this.finished);
    return this.#shutdown;
  }

  #requestStatus(): Promise<void> {
    const id = ++this.#statusRequests;
    const live = this.#members.filter((m) => !m.ended);
    let left = live.length;
    return new Promise<void>((resolve) => {
      if (left === 0) return resolve();
      const timer = setTimeout(done, 500);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#statusWaiters.set(id, () => {
        if (--left === 0) {
          this.#statusWaiters.delete(id);
          done();
        }
      });
      for (const member of live) this.#post(member, { type: "status", id });
    }).finally(() => this.#statusWaiters.delete(id));
  }

  status(): StatusSnapshot {
    const snapshots = this.#members.flatMap((m) => (m.snapshot ? [m.snapshot] : []));
    const now = Date.now();
    const banned = this.#admissions.bannedCount(now);
    const base = snapshots[0];
    return {
      version: base?.version ?? "",
      startedAt: this.#startedAt,
      draining: this.#shutdown !== null,
      sessions: snapshots.flatMap((s) => s.sessions),
      transfers: snapshots.flatMap((s) => s.transfers),
      counts: {
        passiveListeners: snapshots.reduce((sum, s) => sum + s.counts.passiveListeners, 0),
        bannedAddresses: banned,
      },
      config: { ...(base?.config ?? {}), workers: this.#members.length },
    };
  }

  /** Sessions in each worker, fresh (for tests and operators: how the kernel spread them). */
  async sessionsPerWorker(): Promise<number[]> {
    await this.#requestStatus();
    return this.#members.map((m) => (m.ended ? 0 : m.snapshot?.sessions.length ?? 0));
  }

  async refreshStatus(): Promise<StatusSnapshot> {
    await this.#requestStatus();
    return this.status();
  }

  ready(_signal: AbortSignal): Promise<ReadyResult> {
    if (this.#shutdown !== null) return Promise.resolve({ ok: false, detail: "shutting down" });
    const live = this.#members.filter((m) => !m.ended).length;
    return Promise.resolve(
      live === this.#members.length
        ? { ok: true }
        : { ok: false, detail: `${this.#members.length - live} worker(s) stopped` },
    );
  }

  reloadTls(): void {
    for (const member of this.#members) this.#post(member, { type: "reloadTls" });
  }

  configureLogging(format: LogFormat, level: LogLevelName): void {
    for (const member of this.#members) this.#post(member, { type: "logging", format, level });
  }

  reconfigure(changes: Reconfiguration): void {
    const next = resolveOptions({ ...this.#given, ...changes }); // throws: nothing changes
    this.#given = { ...this.#given, ...changes };
    this.#admissions.setLimits(next.maxSessions, next.maxSessionsPerIp, {
      after: next.banAfterFailures,
      durationMs: next.banDurationMs,
    });
    for (const member of this.#members) this.#post(member, { type: "reconfigure", changes });
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }
}
