/**
 * The HTTP side port: health, readiness, metrics and the status page, on `Deno.serve`.
 *
 * | route | answer |
 * |-------|--------|
 * | `GET /healthz` | 200 while accepting, 503 while draining; `{status, sessions, transfers, uptime_s, version}` |
 * | `GET /readyz` | 200 when listening and the storage answers, else 503; `{status, detail?}` |
 * | `GET /metrics` | Prometheus text format 0.0.4 |
 * | `GET /` | the status page (`/app.js`, `/app.css`) |
 * | `GET /events` | Server-Sent Events for the page |
 * | `GET /status.json` | the same state, for polling and scripts |
 *
 * Access: on a loopback address the port is open to local processes (and only to requests whose
 * `Host` is a loopback name, so that a web page cannot reach it through DNS rebinding). Anywhere
 * else it needs a token (`Authorization: Bearer TOKEN`, or HTTP Basic with the token as the
 * password so that a browser can ask for it), compared in constant time, unless `insecure` is
 * set explicitly. With a token, every route needs it, the probes included (Kubernetes probes can
 * send headers).
 *
 * @module
 */

import { constantTimeEqual } from "../identity/constant_time.ts";
import type { OpsHost } from "./host.ts";
import { type LiveFeed, MAX_VIEWERS } from "./live.ts";
import type { FtpMetrics } from "./metrics.ts";
import { CONTENT_TYPE as METRICS_TYPE } from "./prometheus.ts";
import { PAGE_CSS, PAGE_HTML, PAGE_JS } from "./status_page.ts";

/** Options of {@linkcode startHttp}. */
export interface HttpOptions {
  /** Port; 0 picks a free one. */
  port: number;
  /** Address to bind. Default `127.0.0.1`. */
  hostname?: string;
  /** Bearer token every request must carry; required off loopback unless `insecure`. */
  token?: string;
  /** Allow a non-loopback address without a token. */
  insecure?: boolean;
  /** How long a readiness probe may take. Default 3000 ms. */
  readyTimeoutMs?: number;
}

/** Thrown for an unsafe or invalid HTTP configuration. */
export class OpsConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OpsConfigError";
  }
}

/** A running HTTP side port. */
export interface HttpHandle {
  readonly addr: Deno.NetAddr;
  /** `http://host:port/` */
  readonly url: string;
  /** True when requests need the token. */
  readonly authenticated: boolean;
  close(): Promise<void>;
}

/**
 * True for an address that only this machine can reach.
 *
 * @example
 * ```ts
 * import { isLoopback } from "./http.ts";
 * isLoopback("127.0.0.1"); // true
 * isLoopback("0.0.0.0"); // false
 * ```
 */
export function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) ||
    /^::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** The host part of a `Host` header (`[::1]:9000` → `::1`). */
function hostOf(header: string): string {
  if (header.startsWith("[")) return header.slice(1, header.indexOf("]"));
  const colon = header.lastIndexOf(":");
  return colon < 0 ? header : header.slice(0, colon);
}

const encoder = new TextEncoder();
const NO_STORE = { "cache-control": "no-store" };
/** The page loads only its own script, style and data: no inline script can run. */
const PAGE_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
  "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const PAGE_HEADERS = {
  "content-security-policy": PAGE_POLICY,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

/** What the HTTP port serves, besides the host itself. */
export interface HttpParts {
  metrics?: FtpMetrics;
  live?: LiveFeed;
}

/**
 * Starts the side port. Throws {@linkcode OpsConfigError} for a non-loopback address without a
 * token or `insecure`, and what `Deno.serve` throws when the port is taken.
 *
 * @example
 * ```ts ignore
 * import { startHttp } from "./http.ts";
 * const http = startHttp(host, { metrics }, { port: 9100 }); // host: an OpsHost
 * console.log(http.url);
 * await http.close();
 * ```
 */
export function startHttp(host: OpsHost, parts: HttpParts, options: HttpOptions): HttpHandle {
  const hostname = options.hostname ?? "127.0.0.1";
  const loopback = isLoopback(hostname);
  if (options.token !== undefined && options.token === "") {
    throw new OpsConfigError("The HTTP token is empty");
  }
  if (!loopback && options.token === undefined && !options.insecure) {
    throw new OpsConfigError(
      `HTTP port on ${hostname} is reachable from other machines: give --http-token-file FILE, ` +
        "or --http-insecure to serve it without authentication",
    );
  }
  const token = options.token === undefined ? null : encoder.encode(options.token);
  const readyTimeoutMs = options.readyTimeoutMs ?? 3000;
  let probe: Promise<{ ok: boolean; detail?: string }> | null = null;

  const authorized = (request: Request): boolean => {
    if (token === null) {
      // Loopback without a token: only requests addressed to a loopback name (DNS rebinding).
      return !loopback || isLoopback(hostOf(request.headers.get("host") ?? ""));
    }
    const header = request.headers.get("authorization") ?? "";
    let given = "";
    if (/^bearer /i.test(header)) given = header.slice(7).trim();
    else if (/^basic /i.test(header)) {
      try {
        const decoded = atob(header.slice(6).trim());
        given = decoded.slice(decoded.indexOf(":") + 1);
      } catch { /* not base64: no token */ }
    }
    return constantTimeEqual(token, encoder.encode(given));
  };

  const ready = (): Promise<{ ok: boolean; detail?: string }> => {
    // One probe at a time: a flood of /readyz cannot become a flood of storage requests.
    probe ??= (async () => {
      const signal = AbortSignal.timeout(readyTimeoutMs);
      try {
        return await Promise.race([
          host.ready(signal),
          new Promise<{ ok: boolean; detail: string }>((resolve) =>
            signal.addEventListener(
              "abort",
              () => resolve({ ok: false, detail: `no answer within ${readyTimeoutMs} ms` }),
              { once: true },
            )
          ),
        ]);
      } catch {
        return { ok: false, detail: "readiness check failed" };
      }
    })().finally(() => (probe = null));
    return probe;
  };

  const handler = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("Method not allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
    }
    if (!authorized(request)) {
      return new Response("Unauthorized\n", {
        status: 401,
        headers: {
          "www-authenticate": token === null ? "Bearer" : 'Basic realm="ftpgate", charset="UTF-8"',
          ...NO_STORE,
        },
      });
    }
    switch (url.pathname) {
      case "/healthz": {
        const status = host.status();
        const body = {
          status: status.draining ? "draining" : "ok",
          sessions: status.sessions.length,
          transfers: status.transfers.length,
          uptime_s: Math.max(0, Math.floor((Date.now() - status.startedAt) / 1000)),
          version: status.version,
        };
        return json(body, status.draining ? 503 : 200);
      }
      case "/readyz": {
        if (host.status().draining) return json({ status: "draining" }, 503);
        const result = await ready();
        return json(
          result.ok ? { status: "ready" } : { status: "not ready", detail: result.detail ?? null },
          result.ok ? 200 : 503,
        );
      }
      case "/metrics":
        if (parts.metrics === undefined) break;
        return new Response(parts.metrics.render(), {
          headers: { "content-type": METRICS_TYPE, ...NO_STORE },
        });
      case "/":
        if (parts.live === undefined) break;
        return new Response(PAGE_HTML, {
          headers: { "content-type": "text/html; charset=utf-8", ...PAGE_HEADERS, ...NO_STORE },
        });
      case "/app.js":
        if (parts.live === undefined) break;
        return new Response(PAGE_JS, {
          headers: { "content-type": "text/javascript; charset=utf-8", ...PAGE_HEADERS },
        });
      case "/app.css":
        if (parts.live === undefined) break;
        return new Response(PAGE_CSS, {
          headers: { "content-type": "text/css; charset=utf-8", ...PAGE_HEADERS },
        });
      case "/status.json":
        if (parts.live === undefined) break;
        return json(parts.live.state(), 200);
      case "/events":
        if (parts.live === undefined) break;
        if (request.method === "HEAD") {
          return new Response(null, {
            headers: { "content-type": "text/event-stream; charset=utf-8" },
          });
        }
        if (parts.live.viewers >= MAX_VIEWERS) {
          return new Response("Too many viewers\n", {
            status: 503,
            headers: { "retry-after": "5" },
          });
        }
        return new Response(parts.live.stream(), {
          headers: {
            "content-type": "text/event-stream; charset=utf-8",
            "x-accel-buffering": "no", // nginx: pass events on at once
            ...NO_STORE,
          },
        });
    }
    return new Response("Not found\n", { status: 404 });
  };

  const server = Deno.serve({
    hostname,
    port: options.port,
    onListen: () => {}, // no "Listening on" line on stdout: stdout carries the ready line
    onError: () => new Response("Internal error\n", { status: 500 }),
  }, handler);
  const addr = server.addr;
  const shown = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  let closing: Promise<void> | null = null;
  return {
    addr,
    url: `http://${shown}:${addr.port}/`,
    authenticated: token !== null,
    close() {
      // The event streams end first (live.close()), or shutdown would wait for them for ever.
      closing ??= (async () => {
        parts.live?.close();
        await server.shutdown();
      })();
      return closing;
    },
  };
}

function json(body: unknown, status: number): Response {
  return new Response(JSON.stringify(body) + "\n", {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...NO_STORE },
  });
}
