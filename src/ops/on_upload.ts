/**
 * The upload hook: runs a program once per completed upload (never for an aborted or failed
 * one), without a shell, with the upload's facts in environment variables.
 *
 * | variable | value |
 * |----------|-------|
 * | `FTPGATE_EVENT` | `upload.completed` |
 * | `FTPGATE_PATH` | virtual path, as clients see it |
 * | `FTPGATE_REAL_PATH` | path on the local disk, when the back end has one |
 * | `FTPGATE_USER` | login name |
 * | `FTPGATE_ANONYMOUS` | `1` for an anonymous login, else `0` |
 * | `FTPGATE_SIZE` | the stored file's size after the upload, when known (see {@linkcode uploadEnv}) |
 * | `FTPGATE_BYTES` | bytes received over the data connection |
 * | `FTPGATE_OFFSET` | REST offset the upload started at (0 without REST) |
 * | `FTPGATE_COMMAND` | STOR, APPE or STOU |
 * | `FTPGATE_REMOTE_ADDRESS` | client IP address |
 * | `FTPGATE_SESSION` | session number, as in the logs |
 * | `FTPGATE_SECURE` | `1` when the data connection was TLS |
 * | `FTPGATE_SHA256` | hex SHA-256 of the bytes, when the server computed it |
 * | `FTPGATE_TIME` | when the upload ended, ISO 8601 UTC |
 *
 * The program inherits the server's environment besides these, without the server's own
 * `FTPGATE_*` variables (see {@linkcode hookBaseEnv}), has no standard input, and its
 * standard output is discarded; the start of its standard error is logged when it fails. It runs
 * at most `timeoutMs` (then SIGTERM, and SIGKILL two seconds later); at most `concurrency` run
 * at once, further uploads wait in a bounded queue (the oldest dropped, counted and logged, when
 * it overflows). Waiting never delays an FTP reply.
 *
 * @module
 */

import type { EventHub } from "../events.ts";
import { log } from "../log.ts";
import { splitCommand } from "./argv.ts";
import type { RichTransferEvent } from "./host.ts";

/** Options of {@linkcode UploadHook}. */
export interface UploadHookOptions {
  /** Program and arguments: a command line (see `argv.ts`) or the words themselves. */
  command: string | readonly string[];
  /** Longest run. Default 60,000 ms. */
  timeoutMs?: number;
  /** Programs running at once, at most. Default 4. */
  concurrency?: number;
  /** Uploads waiting for a free slot, at most. Default 1000. */
  maxQueue?: number;
  /** Working directory. Default the server's. */
  cwd?: string;
}

/** Run counts since start. */
export interface UploadHookStats {
  /** Exited 0. */
  ok: number;
  /** Exited non-zero, died of a signal, or could not be started. */
  failed: number;
  /** Killed after the time-out. */
  timeout: number;
  /** Never run: the queue was full, or the server shut down first. */
  dropped: number;
}

/** How long a program may take to exit after SIGTERM before SIGKILL. */
const KILL_GRACE_MS = 2000;
/** Bytes of standard error kept for the log. */
const STDERR_KEPT = 2048;

/**
 * The environment for one upload.
 *
 * @example
 * ```ts
 * import { uploadEnv } from "./on_upload.ts";
 * uploadEnv({
 *   type: "transfer", session: 4, remote: "192.0.2.7", user: "carol", anonymous: false,
 *   command: "STOR", direction: "in", path: "/in/x.csv", bytes: 10, offset: 0,
 *   durationMs: 5, result: "ok", code: 226, representation: "binary", secure: false,
 * }).FTPGATE_SIZE; // "10"
 * ```
 */
export function uploadEnv(
  event: RichTransferEvent,
  now: Date = new Date(),
): Record<string, string> {
  const env: Record<string, string> = {
    FTPGATE_EVENT: "upload.completed",
    FTPGATE_PATH: event.path,
    FTPGATE_USER: event.user,
    FTPGATE_ANONYMOUS: event.anonymous ? "1" : "0",
    FTPGATE_BYTES: String(event.bytes),
    FTPGATE_OFFSET: String(event.offset),
    FTPGATE_COMMAND: event.command,
    FTPGATE_REMOTE_ADDRESS: event.remote,
    FTPGATE_SESSION: String(event.session),
    FTPGATE_SECURE: event.secure ? "1" : "0",
    FTPGATE_TIME: now.toISOString(),
  };
  const size = storedSize(event);
  if (size !== undefined) env.FTPGATE_SIZE = String(size);
  if (event.realPath !== undefined) env.FTPGATE_REAL_PATH = event.realPath;
  if (event.sha256 !== undefined) env.FTPGATE_SHA256 = event.sha256;
  // An environment string cannot hold NUL; no FTP path should, but a custom back end might.
  for (const [key, value] of Object.entries(env)) env[key] = value.replaceAll("\0", "\uFFFD");
  return env;
}

/**
 * Variables a program commonly needs (to find programs, its home, its locale, its clock, a
 * place for temporary files): all of the environment the hook gets when the server may not
 * read the whole of it (the launcher grants these names, see app/plan.ts).
 */
export const HOOK_BASE_ENV_NAMES: readonly string[] = [
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "SHELL",
  "LANG",
  "LANGUAGE",
  "LC_ALL",
  "LC_CTYPE",
  "LC_MESSAGES",
  "TZ",
  "TMPDIR",
];

/**
 * The environment a hook starts from, before the upload's facts. Never the server's `FTPGATE_*`
 * variables: they configure the server (FTPGATE_USERS holds every user's password in clear, the
 * Docker and Fly examples set it), and the namespace is the upload's facts to the hook. Deno can
 * only leave a variable out by clearing the environment, so the hook gets the rest of the
 * server's environment when the server may read all of it, else only {@linkcode HOOK_BASE_ENV_NAMES}
 * (those it may read).
 *
 * @example
 * ```ts
 * import { hookBaseEnv } from "./on_upload.ts";
 * "FTPGATE_USERS" in hookBaseEnv(); // false
 * ```
 */
export function hookBaseEnv(): Record<string, string> {
  const base: Record<string, string> = {};
  const all = Deno.permissions.querySync({ name: "env" }).state === "granted";
  const names = all ? Object.keys(Deno.env.toObject()) : HOOK_BASE_ENV_NAMES;
  for (const name of names) {
    if (name.startsWith("FTPGATE_")) continue;
    if (!all && Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") {
      continue;
    }
    const value = Deno.env.get(name);
    if (value !== undefined) base[name] = value;
  }
  return base;
}

/**
 * The stored file's size after an upload: the event's `size` when the server reports it.
 * Otherwise only a binary STOR or STOU tells it, as its REST offset plus the bytes received —
 * and only in stream mode, which the event does not say: in TYPE A the line ends change on the
 * way to the disk (CRLF → LF), in MODE B, C and Z the bytes on the wire include the framing or
 * the compression. After APPE the old size is not known. (A server that sets `size` is exact in
 * every case.)
 */
function storedSize(event: RichTransferEvent): number | undefined {
  if (event.size !== undefined) return event.size;
  if (event.command === "APPE" || event.representation !== "binary") return undefined;
  return event.offset + event.bytes;
}

/**
 * Runs a program for every completed upload.
 *
 * @example
 * ```ts ignore
 * import { EventHub } from "../events.ts";
 * import { UploadHook } from "./on_upload.ts";
 * const events = new EventHub();
 * const hook = new UploadHook(events, { command: "/usr/local/bin/ingest --from-ftp" });
 * // ... uploads happen ...
 * await hook.close();
 * ```
 */
export class UploadHook {
  readonly stats: UploadHookStats = { ok: 0, failed: 0, timeout: 0, dropped: 0 };
  readonly #argv: readonly string[];
  readonly #timeoutMs: number;
  readonly #concurrency: number;
  readonly #maxQueue: number;
  readonly #cwd: string | undefined;
  readonly #queue: RichTransferEvent[] = [];
  readonly #running = new Set<Promise<void>>();
  readonly #children = new Set<Deno.ChildProcess>();
  readonly #off: () => void;
  #idle: (() => void)[] = [];
  #closing = false;
  #lastDropWarning = 0;

  constructor(events: EventHub, options: UploadHookOptions) {
    this.#argv = typeof options.command === "string"
      ? splitCommand(options.command)
      : [...options.command];
    if (this.#argv.length === 0 || this.#argv[0] === "") throw new TypeError("empty command");
    this.#timeoutMs = options.timeoutMs ?? 60_000;
    this.#concurrency = Math.max(1, options.concurrency ?? 4);
    this.#maxQueue = options.maxQueue ?? 1000;
    this.#cwd = options.cwd;
    this.#off = events.on((event) => {
      if (event.type === "transfer" && event.direction === "in" && event.result === "ok") {
        this.#enqueue(event);
      }
    });
  }

  /** Uploads waiting for a slot. */
  get queueLength(): number {
    return this.#queue.length;
  }

  /** Programs running now. */
  get running(): number {
    return this.#running.size;
  }

  /** Resolves when nothing is queued or running (tests: "the hook has run"). */
  idle(): Promise<void> {
    if (this.#queue.length === 0 && this.#running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /**
   * Stops taking uploads; lets queued and running programs finish within `graceMs`, then kills
   * what still runs and drops what still waits.
   */
  async close(graceMs = 5000): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    this.#off();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.idle(),
      new Promise((resolve) => (timer = setTimeout(resolve, graceMs))),
    ]);
    clearTimeout(timer);
    this.stats.dropped += this.#queue.splice(0).length;
    for (const child of this.#children) killQuietly(child, "SIGKILL");
    await Promise.all(this.#running);
  }

  #enqueue(event: RichTransferEvent): void {
    if (this.#closing) return;
    if (this.#queue.length >= this.#maxQueue) {
      const dropped = this.#queue.shift()!;
      this.stats.dropped++;
      // One warning per 10 s at most: a flood of uploads must not become a flood of log lines.
      const now = Date.now();
      if (now - this.#lastDropWarning >= 10_000) {
        this.#lastDropWarning = now;
        log.server.warning(
          "Upload hook queue full: not run for {path} ({dropped} dropped so far)",
          {
            path: JSON.stringify(dropped.path),
            dropped: this.stats.dropped,
          },
        );
      }
    }
    this.#queue.push(event);
    this.#pump();
  }

  #pump(): void {
    while (this.#running.size < this.#concurrency && this.#queue.length > 0) {
      const event = this.#queue.shift()!;
      const run: Promise<void> = this.#run(event).finally(() => {
        this.#running.delete(run);
        this.#pump();
        if (this.#queue.length === 0 && this.#running.size === 0) {
          for (const resolve of this.#idle.splice(0)) resolve();
        }
      });
      this.#running.add(run);
    }
  }

  async #run(event: RichTransferEvent): Promise<void> {
    const path = JSON.stringify(event.path);
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(this.#argv[0], {
        args: this.#argv.slice(1),
        // The server's FTPGATE_* settings (passwords among them) must not reach the hook.
        clearEnv: true,
        env: { ...hookBaseEnv(), ...uploadEnv(event) },
        cwd: this.#cwd,
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
    } catch (error) {
      this.stats.failed++;
      log.server.error("Upload hook could not start {program} for {path}: {error}", {
        program: JSON.stringify(this.#argv[0]),
        path,
        error: error instanceof Error ? error.name : "error",
      });
      return;
    }
    this.#children.add(child);
    let timedOut = false;
    let killTimer: ReturnType<typeof setTimeout> | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      killQuietly(child, "SIGTERM");
      killTimer = setTimeout(() => killQuietly(child, "SIGKILL"), KILL_GRACE_MS);
    }, this.#timeoutMs);
    const [status, stderr] = await Promise.all([child.status, readStart(child.stderr)]);
    clearTimeout(timer);
    clearTimeout(killTimer);
    this.#children.delete(child);
    if (timedOut) {
      this.stats.timeout++;
      log.server.warning("Upload hook for {path} killed after {ms} ms", {
        path,
        ms: this.#timeoutMs,
      });
    } else if (status.success) {
      this.stats.ok++;
    } else {
      this.stats.failed++;
      log.server.warning("Upload hook for {path} failed ({how}): {stderr}", {
        path,
        how: status.signal ? `signal ${status.signal}` : `exit code ${status.code}`,
        stderr: JSON.stringify(stderr),
      });
    }
  }
}

function killQuietly(child: Deno.ChildProcess, signal: Deno.Signal): void {
  try {
    child.kill(signal);
  } catch { /* already exited */ }
}

/** The first bytes of a stream as text; the rest is read and discarded. */
async function readStart(stream: ReadableStream<Uint8Array>): Promise<string> {
  const kept: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stream) {
    if (size < STDERR_KEPT) {
      kept.push(chunk.subarray(0, STDERR_KEPT - size));
      size += Math.min(chunk.length, STDERR_KEPT - size);
    }
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of kept) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return new TextDecoder().decode(bytes).trim();
}
