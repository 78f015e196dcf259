/**
 * Webhooks: each activity (upload completed, login failed, ...) POSTed as JSON to a URL, in
 * order, with retries, signed with HMAC-SHA256 when a secret is set.
 *
 * A slow or dead receiver never delays the server: the listener only pushes onto a bounded
 * queue (no await, no I/O on the emit path); one background worker delivers. When the queue is
 * full the oldest waiting event is dropped and counted. Order is kept by delivering one event at
 * a time and retrying it before the next (a receiver sees `upload.completed` of a file before its
 * `rename`).
 *
 * Request: `POST`, `Content-Type: application/json`, body `{id, type, time, session, user,
 * remote_address, path, size, ...}` (see {@linkcode Activity}); headers `X-Ftpgate-Event` (the
 * type), `X-Ftpgate-Delivery` (the id, the same on every retry, for deduplication) and, with a
 * secret, `X-Ftpgate-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`. A receiver checks the
 * signature over the bytes it received, before parsing them.
 *
 * A 2xx answer is success. 408, 425, 429 and 5xx answers, network errors and time-outs are
 * retried with exponential back-off (honouring `Retry-After` up to the cap); other answers,
 * redirects included, are final failures.
 *
 * @module
 */

import type { EventHub } from "../events.ts";
import { log } from "../log.ts";
import { type Activity, ACTIVITY_TYPES, type ActivityType, toActivity } from "./activity.ts";

/** Options of {@linkcode Webhook}. */
export interface WebhookOptions {
  /** `http:` or `https:` URL to POST to. */
  url: string;
  /** HMAC key; requests are signed when set. */
  secret?: string;
  /** Activity types to send. Default: all. */
  types?: readonly ActivityType[];
  /** Events waiting at most; beyond, the oldest is dropped. Default 1000. */
  maxQueue?: number;
  /** Time-out of one request. Default 5000 ms. */
  timeoutMs?: number;
  /** Attempts per event, the first included. Default 6. */
  maxAttempts?: number;
  /** First retry delay, doubled each time. Default 500 ms. */
  backoffMs?: number;
  /** Longest retry delay. Default 30,000 ms. */
  maxBackoffMs?: number;
  /** Sent as `User-Agent`. Default `ftpgate`. */
  userAgent?: string;
}

/** Delivery counts since start. */
export interface WebhookStats {
  /** Delivered (2xx). */
  ok: number;
  /** Given up: a final failure or too many attempts. */
  failed: number;
  /** Dropped unsent because the queue was full (or at close). */
  dropped: number;
  /** Attempts after the first. */
  retries: number;
}

/** One event on its way. */
interface Delivery {
  id: string;
  activity: Activity;
}

const encoder = new TextEncoder();
/** Statuses worth retrying besides 5xx. */
const RETRY_STATUSES = new Set([408, 425, 429]);

/**
 * A webhook sender subscribed to a server's events.
 *
 * @example
 * ```ts ignore
 * import { EventHub } from "../events.ts";
 * import { Webhook } from "./webhook.ts";
 * const events = new EventHub();
 * const hook = new Webhook(events, { url: "http://127.0.0.1:9000/ftp", secret: "s3cret" });
 * // ... the server emits events ...
 * await hook.close();
 * ```
 */
export class Webhook {
  readonly stats: WebhookStats = { ok: 0, failed: 0, dropped: 0, retries: 0 };
  readonly #options: Required<Omit<WebhookOptions, "secret" | "types">>;
  readonly #types: ReadonlySet<string>;
  readonly #key: Promise<CryptoKey> | null;
  readonly #queue: Delivery[] = [];
  readonly #client: Deno.HttpClient;
  readonly #off: () => void;
  /** Aborts the request or back-off in progress (close). */
  readonly #stop = new AbortController();
  #worker: Promise<void> | null = null;
  #closing = false;
  #lastDropWarning = 0;

  constructor(events: EventHub, options: WebhookOptions) {
    const url = new URL(options.url);
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new TypeError("webhook: the URL must be http: or https:");
    }
    for (const type of options.types ?? []) {
      if (!ACTIVITY_TYPES.includes(type)) throw new TypeError(`webhook: unknown event ${type}`);
    }
    this.#options = {
      url: url.href,
      maxQueue: options.maxQueue ?? 1000,
      timeoutMs: options.timeoutMs ?? 5000,
      maxAttempts: options.maxAttempts ?? 6,
      backoffMs: options.backoffMs ?? 500,
      maxBackoffMs: options.maxBackoffMs ?? 30_000,
      userAgent: options.userAgent ?? "ftpgate",
    };
    this.#types = new Set(options.types ?? ACTIVITY_TYPES);
    this.#key = options.secret === undefined ? null : crypto.subtle.importKey(
      "raw",
      encoder.encode(options.secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    this.#client = Deno.createHttpClient({});
    this.#off = events.on((event) => {
      const activity = toActivity(event);
      if (activity !== null) this.send(activity);
    });
  }

  /** Events waiting (not counting one being delivered). */
  get queueLength(): number {
    return this.#queue.length;
  }

  /**
   * Queues an activity; returns its delivery id, or null when its type is not sent. Never
   * waits, never throws.
   */
  send(activity: Activity): string | null {
    if (this.#closing || !this.#types.has(activity.type)) return null;
    if (this.#queue.length >= this.#options.maxQueue) {
      this.#queue.shift();
      this.stats.dropped++;
      this.#warnDropped();
    }
    const id = crypto.randomUUID();
    this.#queue.push({ id, activity });
    this.#worker ??= this.#work();
    return id;
  }

  /**
   * Stops taking events, tries to deliver what is queued for up to `flushMs`, then gives up on
   * the rest (counted as dropped) and closes.
   */
  async close(flushMs = 2000): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    this.#off();
    if (this.#worker) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.#worker,
        new Promise((resolve) => (timer = setTimeout(resolve, flushMs))),
      ]);
      clearTimeout(timer);
    }
    this.#stop.abort();
    await this.#worker;
    this.stats.dropped += this.#queue.splice(0).length;
    this.#client.close();
  }

  async #work(): Promise<void> {
    try {
      while (this.#queue.length > 0 && !this.#stop.signal.aborted) {
        const delivery = this.#queue.shift()!;
        await this.#deliver(delivery);
      }
    } finally {
      // Cleared in the same turn as the last empty-queue check: an event queued right after
      // starts a new worker instead of waiting behind a finished one.
      this.#worker = null;
    }
  }

  /** Delivers one event, retrying; resolves when it is delivered or given up. */
  async #deliver(delivery: Delivery): Promise<void> {
    const body = JSON.stringify({ id: delivery.id, ...delivery.activity });
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "user-agent": this.#options.userAgent,
      "x-ftpgate-event": delivery.activity.type,
      "x-ftpgate-delivery": delivery.id,
    };
    const bytes = encoder.encode(body);
    if (this.#key !== null) {
      const mac = await crypto.subtle.sign("HMAC", await this.#key, bytes);
      headers["x-ftpgate-signature"] = `sha256=${hex(new Uint8Array(mac))}`;
    }
    for (let attempt = 1;; attempt++) {
      if (this.#stop.signal.aborted) {
        this.stats.dropped++;
        return;
      }
      if (attempt > 1) this.stats.retries++;
      const outcome = await this.#attempt(bytes, headers);
      if (outcome.kind === "ok") {
        this.stats.ok++;
        return;
      }
      if (this.#stop.signal.aborted) {
        this.stats.dropped++;
        return;
      }
      if (outcome.kind === "final" || attempt >= this.#options.maxAttempts) {
        this.stats.failed++;
        log.server.warning("Webhook gave up on {type} event {id} to {origin}: {reason}", {
          type: delivery.activity.type,
          id: delivery.id,
          origin: new URL(this.#options.url).origin,
          reason: outcome.reason,
        });
        return;
      }
      const backoff = Math.min(
        this.#options.maxBackoffMs,
        Math.max(outcome.retryAfterMs ?? 0, this.#options.backoffMs * 2 ** (attempt - 1)),
      );
      // ±20 % jitter, so that many servers restarted together do not retry in step.
      await sleep(backoff * (0.8 + Math.random() * 0.4), this.#stop.signal);
    }
  }

  async #attempt(
    body: Uint8Array,
    headers: Record<string, string>,
  ): Promise<{ kind: "ok" | "retry" | "final"; reason?: string; retryAfterMs?: number }> {
    const signal = AbortSignal.any([
      this.#stop.signal,
      AbortSignal.timeout(this.#options.timeoutMs),
    ]);
    try {
      const response = await fetch(this.#options.url, {
        method: "POST",
        body: body.slice(),
        headers,
        redirect: "manual",
        signal,
        client: this.#client,
      });
      await response.body?.cancel().catch(() => {});
      if (response.status >= 200 && response.status < 300) return { kind: "ok" };
      const reason = `HTTP ${response.status}`;
      if (response.status >= 500 || RETRY_STATUSES.has(response.status)) {
        return { kind: "retry", reason, retryAfterMs: retryAfter(response.headers) };
      }
      return { kind: "final", reason };
    } catch (error) {
      const reason = error instanceof DOMException && error.name === "TimeoutError"
        ? `no answer within ${this.#options.timeoutMs} ms`
        : error instanceof Error
        ? error.name
        : "request failed";
      return { kind: "retry", reason };
    }
  }

  #warnDropped(): void {
    const now = Date.now();
    if (now - this.#lastDropWarning < 10_000) return;
    this.#lastDropWarning = now;
    log.server.warning("Webhook queue full: dropped {dropped} events so far (oldest first)", {
      dropped: this.stats.dropped,
    });
  }
}

function hex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += byte.toString(16).padStart(2, "0");
  return out;
}

/** `Retry-After` in seconds (the date form is ignored). */
function retryAfter(headers: Headers): number | undefined {
  const value = headers.get("retry-after");
  if (value === null || !/^\d{1,6}$/.test(value)) return undefined;
  return Number(value) * 1000;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * Hex HMAC-SHA256 of a body, as a receiver computes it to check `X-Ftpgate-Signature`.
 *
 * @example
 * ```ts
 * import { signBody } from "./webhook.ts";
 * const signature = await signBody("secret", new TextEncoder().encode("{}"));
 * signature.length; // 64
 * ```
 */
export async function signBody(secret: string, body: Uint8Array): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return hex(new Uint8Array(await crypto.subtle.sign("HMAC", key, body.slice())));
}
