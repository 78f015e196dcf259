/**
 * ftpgate's metrics: counters and histograms fed from the server's events, gauges read from its
 * status snapshot at scrape time, rendered for Prometheus.
 *
 * Label values come from bounded sets only, so that a client cannot grow the series without
 * limit: verbs outside the known list count as `other`, reply classes are `1xx`..`5xx`, storage
 * back ends beyond the first few seen and unknown operations count as `other`.
 *
 * @module
 */

import type { FtpEvent } from "../events.ts";
import type { OpsHost } from "./host.ts";
import { type Counter, type Gauge, type Histogram, Registry } from "./prometheus.ts";
import { ByteTracker } from "./throughput.ts";

/**
 * Verbs counted under their own name (RFC 959, 775, 2228, 2389, 2428, 2640, 3659, 4217, 7151 and
 * common extensions); anything else is `other`.
 */
const KNOWN_VERBS: ReadonlySet<string> = new Set(
  (
    "ABOR ACCT ADAT ALLO APPE AUTH AVBL CCC CDUP CONF CSID CWD DELE DSIZ ENC EPRT EPSV FEAT HELP " +
    "HOST LANG LIST LPRT LPSV MDTM MFCT MFF MFMT MIC MKD MLSD MLST MODE NLST NOOP OPTS PASS PASV " +
    "PBSZ PORT PROT PWD QUIT REIN REST RETR RMD RMDA RNFR RNTO SITE SIZE SMNT SPSV STAT STOR STOU " +
    "STRU SYST THMB TYPE USER XCUP XCWD XMKD XPWD XRMD"
  ).split(" "),
);

/** Storage operations counted under their own name. */
const KNOWN_OPERATIONS: ReadonlySet<string> = new Set([
  "stat",
  "list",
  "read",
  "write",
  "mkdir",
  "remove",
  "rmdir",
  "rename",
  "setMtime",
  "chmod",
  "probe",
]);

/** Distinct storage back-end labels kept; later ones count as `other`. */
const MAX_BACKENDS = 8;

/** Transfer durations: from a small file on loopback to an hour-long upload. */
const TRANSFER_BUCKETS = [
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
  60,
  300,
  900,
  3600,
];
/** Storage calls: from a cached local stat to a slow object-store request. */
const STORAGE_BUCKETS = [
  0.0001,
  0.00025,
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
];

/**
 * The label a verb is counted under.
 *
 * @example
 * ```ts
 * import { verbLabel } from "./metrics.ts";
 * verbLabel("RETR"); // "RETR"
 * verbLabel("HACKME"); // "other"
 * ```
 */
export function verbLabel(verb: string): string {
  return KNOWN_VERBS.has(verb) ? verb : "other";
}

/**
 * The reply-class label of a code: `2xx` and so on, `other` for anything outside 100–599.
 *
 * @example
 * ```ts
 * import { classLabel } from "./metrics.ts";
 * classLabel(226); // "2xx"
 * ```
 */
export function classLabel(code: number): string {
  return code >= 100 && code < 600 ? `${Math.floor(code / 100)}xx` : "other";
}

/**
 * The server's metrics. Subscribes to the host's events on construction; {@linkcode render}
 * refreshes the gauges from a snapshot and returns the exposition text.
 *
 * @example
 * ```ts
 * import { EventHub } from "../events.ts";
 * import { FtpMetrics } from "./metrics.ts";
 * const events = new EventHub();
 * const metrics = new FtpMetrics({
 *   events,
 *   status: () => ({ version: "0.1.0", startedAt: 0, draining: false, sessions: [], transfers: [],
 *     counts: { passiveListeners: 0, bannedAddresses: 0 }, config: {} }),
 *   ready: () => Promise.resolve({ ok: true }),
 * });
 * events.emit({ type: "login", session: 1, remote: "127.0.0.1", user: "u", ok: true, anonymous: false, secure: false });
 * metrics.render().includes('ftpgate_logins_total{result="ok"} 1'); // true
 * metrics.close();
 * ```
 */
export class FtpMetrics {
  readonly registry: Registry = new Registry();
  readonly #host: OpsHost;
  readonly #tracker: ByteTracker;
  readonly #ownTracker: boolean;
  readonly #off: () => void;
  readonly #backends = new Set<string>();

  readonly #sessionsTotal: Counter;
  readonly #logins: Counter;
  readonly #commands: Counter;
  readonly #bytes: Counter;
  readonly #listingBytes: Counter;
  readonly #transfers: Counter;
  readonly #duration: Histogram;
  readonly #fileActions: Counter;
  readonly #bans: Counter;
  readonly #tls: Counter;
  readonly #storage: Histogram;
  readonly #storageFailures: Counter;
  readonly #passiveExhausted: Counter;

  /** `tracker`: share the status page's byte tracker; by default the metrics keep their own. */
  constructor(host: OpsHost, tracker?: ByteTracker) {
    this.#host = host;
    this.#ownTracker = tracker === undefined;
    this.#tracker = tracker ?? new ByteTracker(host.events);
    const r = this.registry;

    const buildInfo = r.gauge({
      name: "ftpgate_build_info",
      help: "Always 1; the version as a label.",
      labels: ["version"],
    });
    const startTime = r.gauge({
      name: "ftpgate_start_time_seconds",
      help: "When the server started, in seconds since the epoch.",
    });
    const draining = r.gauge({
      name: "ftpgate_draining",
      help: "1 while the server shuts down (no new sessions), else 0.",
    });
    const sessionsOpen = r.gauge({
      name: "ftpgate_sessions_open",
      help: "Control sessions connected now.",
    });
    this.#sessionsTotal = r.counter({
      name: "ftpgate_sessions_total",
      help: "Control sessions accepted.",
    });
    this.#logins = r.counter({
      name: "ftpgate_logins_total",
      help: "Login attempts by result.",
      labels: ["result"],
    });
    this.#commands = r.counter({
      name: "ftpgate_commands_total",
      help: "Commands answered, by verb (unknown verbs as other) and reply class.",
      labels: ["verb", "class"],
    });
    const inProgress = r.gauge({
      name: "ftpgate_transfers_in_progress",
      help: "Data transfers running now, by direction.",
      labels: ["direction"],
    });
    this.#bytes = r.counter({
      name: "ftpgate_transfer_bytes_total",
      help: "File bytes over data connections (in: uploads, out: downloads), counted as they flow.",
      labels: ["direction"],
    });
    this.#listingBytes = r.counter({
      name: "ftpgate_listing_bytes_total",
      help: "Directory listing bytes sent over data connections.",
    });
    this.#transfers = r.counter({
      name: "ftpgate_transfers_total",
      help: "Data transfers ended, by direction (in, out, list) and result (ok, aborted, failed).",
      labels: ["direction", "result"],
    });
    this.#duration = r.histogram({
      name: "ftpgate_transfer_duration_seconds",
      help: "Duration of ended data transfers, by direction.",
      labels: ["direction"],
      buckets: TRANSFER_BUCKETS,
    });
    this.#fileActions = r.counter({
      name: "ftpgate_file_actions_total",
      help: "Changes to the tree other than transfers, by action and result.",
      labels: ["action", "result"],
    });
    const passiveOpen = r.gauge({
      name: "ftpgate_passive_listeners_open",
      help: "Passive-mode data listeners open now.",
    });
    this.#passiveExhausted = r.counter({
      name: "ftpgate_passive_ports_exhausted_total",
      help: "Times no passive port could be bound (the range was in use).",
    });
    this.#bans = r.counter({
      name: "ftpgate_bans_total",
      help: "Addresses banned for failed logins.",
    });
    const banned = r.gauge({
      name: "ftpgate_banned_addresses",
      help: "Addresses banned now.",
    });
    this.#tls = r.counter({
      name: "ftpgate_tls_handshakes_total",
      help: "TLS handshakes by channel (control, data) and result (ok, failed).",
      labels: ["channel", "result"],
    });
    this.#storage = r.histogram({
      name: "ftpgate_storage_operation_duration_seconds",
      help: "Latency of storage calls by back end and operation.",
      labels: ["backend", "operation"],
      buckets: STORAGE_BUCKETS,
    });
    this.#storageFailures = r.counter({
      name: "ftpgate_storage_operation_failures_total",
      help: "Storage calls that failed, by back end and operation.",
      labels: ["backend", "operation"],
    });

    // Series a dashboard expects from the first scrape, at 0.
    for (const result of ["ok", "failed"]) this.#logins.labels(result);
    for (const direction of ["in", "out"]) this.#bytes.labels(direction);
    for (const direction of ["in", "out", "list"]) {
      for (const result of ["ok", "aborted", "failed"]) this.#transfers.labels(direction, result);
    }

    r.beforeRender(() => {
      const status = this.#host.status();
      this.#tracker.sample(status.transfers);
      buildInfo.reset();
      buildInfo.labels(status.version).set(1);
      startTime.set(status.startedAt / 1000);
      draining.set(status.draining ? 1 : 0);
      sessionsOpen.set(status.sessions.length);
      const running = { in: 0, out: 0, list: 0 };
      for (const transfer of status.transfers) running[transfer.direction]++;
      for (const [direction, count] of Object.entries(running)) {
        inProgress.labels(direction).set(count);
      }
      passiveOpen.set(status.counts.passiveListeners);
      banned.set(status.counts.bannedAddresses);
      syncCounter(this.#bytes.labels("in"), this.#tracker.totals.in);
      syncCounter(this.#bytes.labels("out"), this.#tracker.totals.out);
      syncCounter(this.#listingBytes.labels(), this.#tracker.totals.list);
    });
    this.#off = host.events.on((event) => this.#onEvent(event));
  }

  /** Registers a gauge read at scrape time (queue lengths of the webhook and the upload hook). */
  gaugeFrom(name: string, help: string, read: () => number): void {
    const gauge: Gauge = this.registry.gauge({ name, help });
    this.registry.beforeRender(() => gauge.set(read()));
  }

  /** Registers a counter without labels whose running total another module keeps. */
  counterTotalFrom(name: string, help: string, read: () => number): void {
    const counter = this.registry.counter({ name, help });
    this.registry.beforeRender(() => syncCounter(counter.labels(), read()));
  }

  /** Registers a counter whose running totals, per label value, another module keeps. */
  counterFrom(
    name: string,
    help: string,
    label: string,
    read: () => Readonly<Record<string, number>>,
  ): void {
    const counter = this.registry.counter({ name, help, labels: [label] });
    this.registry.beforeRender(() => {
      for (const [value, total] of Object.entries(read())) {
        syncCounter(counter.labels(value), total);
      }
    });
  }

  #onEvent(event: FtpEvent): void {
    switch (event.type) {
      case "session-opened":
        this.#sessionsTotal.inc();
        break;
      case "login":
        this.#logins.labels(event.ok ? "ok" : "failed").inc();
        break;
      case "command":
        this.#commands.labels(verbLabel(event.verb), classLabel(event.code)).inc();
        break;
      case "transfer":
        this.#transfers.labels(event.direction, event.result).inc();
        this.#duration.labels(event.direction).observe(event.durationMs / 1000);
        break;
      case "file-action":
        this.#fileActions.labels(event.action, event.ok ? "ok" : "failed").inc();
        break;
      case "ban":
        this.#bans.inc();
        break;
      case "tls-handshake":
        this.#tls.labels(event.channel, event.ok ? "ok" : "failed").inc();
        break;
      case "storage-operation": {
        const backend = this.#backendLabel(event.backend);
        const operation = KNOWN_OPERATIONS.has(event.operation) ? event.operation : "other";
        this.#storage.labels(backend, operation).observe(event.durationMs / 1000);
        if (!event.ok) this.#storageFailures.labels(backend, operation).inc();
        break;
      }
      case "passive-exhausted":
        this.#passiveExhausted.inc();
        break;
      case "session-closed":
        break;
    }
  }

  #backendLabel(backend: string): string {
    if (this.#backends.has(backend)) return backend;
    if (this.#backends.size >= MAX_BACKENDS || !/^[a-z0-9_-]{1,32}$/i.test(backend)) return "other";
    this.#backends.add(backend);
    return backend;
  }

  /** The exposition text (refreshes the gauges first). */
  render(): string {
    return this.registry.render();
  }

  /** Stops listening to events. */
  close(): void {
    this.#off();
    if (this.#ownTracker) this.#tracker.close();
  }
}

/** Moves a counter up to a total kept elsewhere. */
function syncCounter(child: { value: number; inc(amount: number): void }, total: number): void {
  if (total > child.value) child.inc(total - child.value);
}
