/**
 * Operations: the HTTP side port (health, readiness, Prometheus metrics, live status page), the
 * transfer log, the upload hook and webhooks, attached to a running server through its events.
 *
 * Each part is loaded only when configured (dynamic `import()`), so that a server started
 * without any of them pays nothing at start.
 *
 * ```ts ignore
 * import { serve } from "../mod.ts";
 * import { attachOps } from "./mod.ts";
 *
 * const server = serve({ root: "/srv/ftp" });
 * await using ops = await attachOps(server, {
 *   http: { port: 9100 },
 *   transferLog: { path: "/var/log/ftpgate/xferlog" },
 *   webhook: { url: "https://example.org/ftp-events", secretFile: "/etc/ftpgate/webhook.key" },
 * });
 * Deno.addSignalListener("SIGHUP", () => void ops.reopen());
 * ```
 *
 * @module
 */

import { log } from "../log.ts";
import type { OpsHost } from "./host.ts";
import type { HttpHandle, HttpOptions } from "./http.ts";
import type { FtpMetrics } from "./metrics.ts";
import type { UploadHookOptions } from "./on_upload.ts";
import type { WebhookOptions } from "./webhook.ts";
import type { TransferLog, TransferLogOptions } from "./xferlog.ts";

export type {
  OpsHost,
  ReadyResult,
  SessionStatus,
  StatusSnapshot,
  TransferStatus,
} from "./host.ts";
export type { ActivityType } from "./activity.ts";
export type { TransferLogFormat } from "./xferlog.ts";

/** What to run; every part is off unless given. */
export interface OpsOptions {
  /** The HTTP side port (`--http-port`, `--http-host`, `--http-token-file`, `--http-insecure`). */
  http?: HttpOptions & {
    /** Read the token from this file (trailing white space removed). */
    tokenFile?: string;
    /** Serve `/metrics`. Default true. */
    metrics?: boolean;
    /** Serve the status page (`/`, `/events`, `/status.json`). Default true. */
    statusPage?: boolean;
  };
  /** `--transfer-log FILE`, `--transfer-log-format xferlog|json`. */
  transferLog?: TransferLogOptions;
  /** `--on-upload CMD`, `--on-upload-timeout`, `--on-upload-concurrency`. */
  onUpload?: UploadHookOptions;
  /** `--webhook URL`, `--webhook-secret-file FILE`, `--webhook-queue`. */
  webhook?: WebhookOptions & {
    /** Read the HMAC secret from this file (trailing white space removed). */
    secretFile?: string;
  };
}

/** The running parts. */
export interface OpsHandle extends AsyncDisposable {
  /** The HTTP side port, when configured. */
  readonly http: Pick<HttpHandle, "addr" | "url" | "authenticated"> | undefined;
  /** The metrics, when the HTTP port serves them (library users may render them elsewhere). */
  readonly metrics: FtpMetrics | undefined;
  /** Reopens the transfer log at its path (SIGHUP, after logrotate). */
  reopen(): Promise<void>;
  /**
   * Stops everything: the HTTP port first, then webhooks and hooks get a short grace to finish
   * (2 s and 5 s), then the transfer log is flushed and closed.
   */
  close(): Promise<void>;
}

/**
 * Reads a secret from a file: the whole file, trailing white space (the line feed an editor
 * adds) removed. The error says which file and why, never its content.
 *
 * @example
 * ```ts
 * import { readSecretFile } from "./mod.ts";
 * const path = Deno.makeTempFileSync();
 * Deno.writeTextFileSync(path, "s3cret\n");
 * await readSecretFile(path, "--http-token-file"); // "s3cret"
 * Deno.removeSync(path);
 * ```
 */
export async function readSecretFile(path: string, what: string): Promise<string> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    const { OpsConfigError } = await import("./http.ts");
    const reason = error instanceof Error ? error.name : "error";
    throw new OpsConfigError(`${what} ${path}: cannot read it (${reason})`);
  }
  const secret = text.replace(/\s+$/, "");
  if (secret === "") {
    const { OpsConfigError } = await import("./http.ts");
    throw new OpsConfigError(`${what} ${path} is empty`);
  }
  return secret;
}

/**
 * Starts the configured parts against a server. Throws (having stopped what it started) when a
 * part cannot start: an unsafe HTTP binding, a port in use, an unreadable secret or log file.
 *
 * @example
 * ```ts ignore
 * import { attachOps } from "./mod.ts";
 * const ops = await attachOps(server, { http: { port: 0 } }); // server: an OpsHost
 * console.log(ops.http?.url);
 * await ops.close();
 * ```
 */
export async function attachOps(host: OpsHost, options: OpsOptions): Promise<OpsHandle> {
  const closers: (() => Promise<void> | void)[] = [];
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse()) {
      try {
        await close();
      } catch { /* closing the rest matters more */ }
    }
  };
  let http: HttpHandle | undefined;
  let metrics: FtpMetrics | undefined;
  let transferLog: TransferLog | undefined;
  let reopen: () => Promise<void> = () => Promise.resolve();
  try {
    // Order of closing is the reverse: the log last, so that it records what the others did.
    if (options.transferLog) {
      const { TransferLog } = await import("./xferlog.ts");
      const xfer = await TransferLog.open(host.events, options.transferLog);
      transferLog = xfer;
      closers.push(() => xfer.close());
      reopen = () => xfer.reopen();
    }
    if (options.http && options.http.metrics !== false) {
      const { FtpMetrics } = await import("./metrics.ts");
      metrics = new FtpMetrics(host);
      const m = metrics;
      closers.push(() => m.close());
      if (transferLog) {
        const t = transferLog;
        metrics.counterTotalFrom(
          "ftpgate_transfer_log_lost_lines_total",
          "Transfer log lines lost (disk stuck or failing).",
          () => t.lost,
        );
      }
    }
    if (options.onUpload) {
      const { UploadHook } = await import("./on_upload.ts");
      const hook = new UploadHook(host.events, options.onUpload);
      closers.push(() => hook.close());
      metrics?.counterFrom(
        "ftpgate_upload_hook_runs_total",
        "Upload hook runs by result (ok, failed, timeout, dropped).",
        "result",
        () => ({ ...hook.stats }),
      );
      metrics?.gaugeFrom(
        "ftpgate_upload_hook_queue_length",
        "Uploads waiting for a free upload hook slot.",
        () => hook.queueLength,
      );
    }
    if (options.webhook) {
      const { Webhook } = await import("./webhook.ts");
      const { secretFile, ...webhookOptions } = options.webhook;
      const secret = secretFile === undefined
        ? webhookOptions.secret
        : await readSecretFile(secretFile, "--webhook-secret-file");
      const webhook = new Webhook(host.events, { ...webhookOptions, secret });
      closers.push(() => webhook.close());
      metrics?.counterFrom(
        "ftpgate_webhook_deliveries_total",
        "Webhook events by outcome (ok, failed: given up, dropped: queue full).",
        "result",
        () => ({
          ok: webhook.stats.ok,
          failed: webhook.stats.failed,
          dropped: webhook.stats.dropped,
        }),
      );
      metrics?.counterTotalFrom(
        "ftpgate_webhook_retries_total",
        "Webhook delivery attempts after the first.",
        () => webhook.stats.retries,
      );
      metrics?.gaugeFrom(
        "ftpgate_webhook_queue_length",
        "Webhook events waiting to be sent.",
        () => webhook.queueLength,
      );
    }
    if (options.http) {
      const { tokenFile, statusPage, metrics: _metrics, ...httpOptions } = options.http;
      const token = tokenFile === undefined
        ? httpOptions.token
        : await readSecretFile(tokenFile, "--http-token-file");
      let live;
      if (statusPage !== false) {
        const { LiveFeed } = await import("./live.ts");
        live = new LiveFeed(host);
        const feed = live;
        closers.push(() => feed.close());
      }
      const { startHttp, isLoopback } = await import("./http.ts");
      http = startHttp(host, { metrics, live }, { ...httpOptions, token });
      const h = http;
      closers.push(() => h.close());
      if (!http.authenticated && !isLoopback(http.addr.hostname)) {
        log.server.warning(
          "HTTP port {url} is open to the network WITHOUT authentication (--http-insecure)",
          { url: http.url },
        );
      } else {
        log.server.info("HTTP port {url} ({access})", {
          url: http.url,
          access: http.authenticated ? "bearer token required" : "loopback only",
        });
      }
    }
  } catch (error) {
    await closeAll();
    throw error;
  }
  let closing: Promise<void> | null = null;
  const close = () => (closing ??= closeAll());
  return {
    http: http && { addr: http.addr, url: http.url, authenticated: http.authenticated },
    metrics,
    reopen: () => reopen(),
    close,
    [Symbol.asyncDispose]: close,
  };
}
