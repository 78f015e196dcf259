/**
 * What the status page shows, kept up to date: a once-a-second view of the server (sessions,
 * transfers with their rates), the throughput of the last minutes, and the recent activities;
 * pushed to viewers as Server-Sent Events.
 *
 * Viewers that read too slowly are disconnected rather than buffered for: the page reconnects
 * and starts again from a fresh view.
 *
 * @module
 */

import { type Activity, toActivity } from "./activity.ts";
import type { ConfigValue, OpsHost, StatusSnapshot, TransferStatus } from "./host.ts";
import { ByteTracker } from "./throughput.ts";

/** Seconds of throughput kept (and charted). */
const HISTORY_SECONDS = 300;
/** Recent activities kept. */
const RECENT_ACTIVITIES = 100;
/** Chunks a viewer may have unread before it is disconnected. */
const VIEWER_BACKLOG = 64;
/** Viewers at once, at most. */
export const MAX_VIEWERS = 32;
/** Configuration keys whose values are never shown, whatever the host put there. */
const SECRET_KEY = /passw|^pass$|secret|token|credential|private.?key|api.?key/i;

/** One second of throughput, bytes per second. */
export interface ThroughputPoint {
  /** End of the second, milliseconds since the epoch. */
  t: number;
  in: number;
  out: number;
}

/** A transfer as the page shows it. */
export interface LiveTransfer extends TransferStatus {
  /** Bytes per second over the last sample. */
  rate: number;
}

/** The view pushed every second. */
export interface LiveView {
  now: number;
  version: string;
  uptime_s: number;
  draining: boolean;
  sessions: StatusSnapshot["sessions"];
  transfers: LiveTransfer[];
  counts: StatusSnapshot["counts"];
  config: Record<string, ConfigValue>;
  /** The latest throughput point. */
  throughput: ThroughputPoint | null;
}

/** Everything, for a viewer that (re)connects or polls. */
export interface LiveState extends LiveView {
  history: ThroughputPoint[];
  activities: (Activity & { seq: number })[];
}

const encoder = new TextEncoder();

/**
 * The live feed behind `GET /`, `GET /events` and `GET /status.json`.
 *
 * @example
 * ```ts ignore
 * import { LiveFeed } from "./live.ts";
 * const feed = new LiveFeed(host); // host: an OpsHost
 * const response = feed.stream(); // text/event-stream
 * feed.close();
 * ```
 */
export class LiveFeed {
  readonly #host: OpsHost;
  readonly #tracker: ByteTracker;
  readonly #history: ThroughputPoint[] = [];
  readonly #activities: (Activity & { seq: number })[] = [];
  readonly #viewers = new Set<ReadableStreamDefaultController<Uint8Array>>();
  #rates = new Map<number, { started: number; bytes: number; at: number; rate: number }>();
  readonly #timer: ReturnType<typeof setInterval>;
  readonly #off: () => void;
  #seq = 0;
  #last: { in: number; out: number };

  constructor(host: OpsHost, options: { intervalMs?: number; tracker?: ByteTracker } = {}) {
    this.#host = host;
    this.#tracker = options.tracker ?? new ByteTracker(host.events);
    this.#last = { in: this.#tracker.totals.in, out: this.#tracker.totals.out };
    this.#off = host.events.on((event) => {
      const activity = toActivity(event);
      if (activity !== null) this.#addActivity(activity);
    });
    this.#timer = setInterval(() => this.#tick(), options.intervalMs ?? 1000);
    // The feed never keeps the process alive on its own.
    this.#timer.unref();
  }

  /** The byte tracker (shared with the metrics). */
  get tracker(): ByteTracker {
    return this.#tracker;
  }

  /** Viewers connected. */
  get viewers(): number {
    return this.#viewers.size;
  }

  /** Everything now: for `/status.json` and a viewer's first message. */
  state(): LiveState {
    return {
      ...this.#sample(false),
      history: [...this.#history],
      activities: [...this.#activities],
    };
  }

  /** A Server-Sent Events stream: `state` first, then `view` every second and each `activity`. */
  stream(): ReadableStream<Uint8Array> {
    let self: ReadableStreamDefaultController<Uint8Array>;
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        self = controller;
        this.#viewers.add(controller);
        controller.enqueue(encoder.encode(`retry: 2000\n${sse("state", this.state())}`));
      },
      cancel: () => {
        this.#viewers.delete(self);
      },
    }, new CountQueuingStrategy({ highWaterMark: VIEWER_BACKLOG }));
  }

  /** Stops the clock and ends every stream. */
  close(): void {
    clearInterval(this.#timer);
    this.#off();
    this.#tracker.close();
    for (const viewer of this.#viewers) {
      try {
        viewer.close();
      } catch { /* already closed */ }
    }
    this.#viewers.clear();
  }

  #tick(): void {
    this.#broadcast(sse("view", this.#sample(true)));
  }

  /** A view of the host now; `advance` records a throughput point and the rates. */
  #sample(advance: boolean): LiveView {
    const status = this.#host.status();
    const now = Date.now();
    this.#tracker.sample(status.transfers);
    let point: ThroughputPoint | null = this.#history.at(-1) ?? null;
    if (advance) {
      const { in: bytesIn, out: bytesOut } = this.#tracker.totals;
      point = { t: now, in: bytesIn - this.#last.in, out: bytesOut - this.#last.out };
      this.#last = { in: bytesIn, out: bytesOut };
      this.#history.push(point);
      if (this.#history.length > HISTORY_SECONDS) this.#history.shift();
    }
    const rates = new Map<number, { started: number; bytes: number; at: number; rate: number }>();
    const transfers = status.transfers.map((transfer): LiveTransfer => {
      const previous = this.#rates.get(transfer.session);
      let rate: number;
      if (previous !== undefined && previous.started === transfer.started && now > previous.at) {
        rate = advance
          ? (transfer.bytes - previous.bytes) * 1000 / (now - previous.at)
          : previous.rate;
      } else {
        // New since the last tick: its average so far.
        rate = now > transfer.started ? transfer.bytes * 1000 / (now - transfer.started) : 0;
      }
      rate = Math.round(Math.max(0, rate));
      rates.set(transfer.session, {
        started: transfer.started,
        bytes: transfer.bytes,
        at: now,
        rate,
      });
      return { ...transfer, rate };
    });
    if (advance) this.#rates = rates;
    return {
      now,
      version: status.version,
      uptime_s: Math.max(0, Math.floor((now - status.startedAt) / 1000)),
      draining: status.draining,
      sessions: status.sessions,
      transfers,
      counts: status.counts,
      config: maskSecrets(status.config),
      throughput: point,
    };
  }

  #addActivity(activity: Activity): void {
    const entry = { ...activity, seq: ++this.#seq };
    this.#activities.push(entry);
    if (this.#activities.length > RECENT_ACTIVITIES) this.#activities.shift();
    if (this.#viewers.size > 0) this.#broadcast(sse("activity", entry));
  }

  #broadcast(message: string): void {
    if (this.#viewers.size === 0) return;
    const bytes = encoder.encode(message);
    for (const viewer of this.#viewers) {
      try {
        if ((viewer.desiredSize ?? 0) <= 0) {
          // Too far behind: cut it off; the page reconnects and gets a fresh state.
          this.#viewers.delete(viewer);
          viewer.close();
        } else viewer.enqueue(bytes);
      } catch {
        this.#viewers.delete(viewer);
      }
    }
  }
}

/** One Server-Sent Events message; JSON never contains a raw line feed. */
function sse(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * The configuration summary with anything that looks like a secret masked.
 *
 * @example
 * ```ts
 * import { maskSecrets } from "./live.ts";
 * maskSecrets({ port: 21, webhookSecret: "x" }); // { port: 21, webhookSecret: "***" }
 * ```
 */
export function maskSecrets(
  config: Readonly<Record<string, ConfigValue>>,
): Record<string, ConfigValue> {
  const out: Record<string, ConfigValue> = {};
  for (const [key, value] of Object.entries(config)) {
    out[key] = SECRET_KEY.test(key) && value !== null && value !== false ? "***" : value;
  }
  return out;
}
