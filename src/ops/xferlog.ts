/**
 * The transfer log: one line per ended file transfer, in the classic xferlog(5) format that
 * wu-ftpd, vsftpd (`xferlog_std_format`), pure-ftpd and proftpd write and log analysers read,
 * or as JSON lines.
 *
 * xferlog fields, space-separated, as those servers write them:
 *
 * | # | field | ftpgate writes |
 * |---|-------|----------------|
 * | 1–5 | current-time | `Www Mmm dd hh:mm:ss yyyy` (ctime, day padded with a space), local time like wu-ftpd and proftpd, or UTC (`utc: true`, vsftpd's default) |
 * | 6 | transfer-time | whole seconds, rounded, at least 1 (vsftpd writes at least 1, so analysers never divide by 0) |
 * | 7 | remote-host | the client's IP address (no reverse DNS) |
 * | 8 | file-size | bytes that crossed the data connection (what vsftpd and proftpd write; after REST it is less than the file) |
 * | 9 | filename | the **virtual** path; white space and control characters become `_`, as proftpd does (vsftpd replaces only spaces). Never a real path |
 * | 10 | transfer-type | `a` (TYPE A) or `b` (binary) |
 * | 11 | special-action-flag | `_` (ftpgate never compresses or tars on the fly) |
 * | 12 | direction | `i` upload, `o` download |
 * | 13 | access-mode | `a` anonymous, `r` real user |
 * | 14 | username | the login name, sanitised like the filename (`*` if empty) |
 * | 15 | service-name | `ftp` |
 * | 16 | authentication-method | `0` (none; no RFC 931 ident) |
 * | 17 | authenticated-user-id | `*` (not available) |
 * | 18 | completion-status | `c` complete, `i` incomplete (aborted or failed) |
 *
 * Directory listings are not logged (those servers do not log them either): the format has no
 * way to tell a listing from a file.
 *
 * @module
 */

import type { EventHub } from "../events.ts";
import type { RichTransferEvent } from "./host.ts";
import { LineFile } from "./line_file.ts";

/** Output format of the transfer log. */
export type TransferLogFormat = "xferlog" | "json";

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/**
 * A time as ctime(3) writes it, without the line feed: `Tue Dec  1 19:30:05 2026`.
 *
 * @example
 * ```ts
 * import { ctime } from "./xferlog.ts";
 * ctime(new Date(Date.UTC(2026, 11, 1, 9, 5, 3)), true); // "Tue Dec  1 09:05:03 2026"
 * ```
 */
export function ctime(date: Date, utc = false): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  const [day, month, mday, hours, minutes, seconds, year] = utc
    ? [
      date.getUTCDay(),
      date.getUTCMonth(),
      date.getUTCDate(),
      date.getUTCHours(),
      date.getUTCMinutes(),
      date.getUTCSeconds(),
      date.getUTCFullYear(),
    ]
    : [
      date.getDay(),
      date.getMonth(),
      date.getDate(),
      date.getHours(),
      date.getMinutes(),
      date.getSeconds(),
      date.getFullYear(),
    ];
  return `${DAYS[day]} ${MONTHS[month]} ${String(mday).padStart(2, " ")} ${pad(hours)}:${
    pad(minutes)
  }:${pad(seconds)} ${year}`;
}

/**
 * A field with no white space or control character left (each becomes `_`): one field stays
 * one field, and no line feed can forge a second record.
 *
 * @example
 * ```ts
 * import { xferlogField } from "./xferlog.ts";
 * xferlogField("/in/my report.pdf"); // "/in/my_report.pdf"
 * ```
 */
export function xferlogField(text: string): string {
  // \s covers Unicode spaces and U+2028/2029; the classes add C0, DEL and C1 controls.
  // deno-lint-ignore no-control-regex -- control characters are what this removes
  const cleaned = text.replace(/[\s\u0000-\u001f\u007f-\u009f]/g, "_");
  return cleaned === "" ? "*" : cleaned;
}

/** Options of {@linkcode formatXferlog}. */
export interface XferlogOptions {
  /** The time to write; default now. */
  now?: Date;
  /** Write UTC instead of local time. Default false. */
  utc?: boolean;
}

/**
 * One xferlog line (with its line feed), or null for a directory listing.
 *
 * @example
 * ```ts
 * import { formatXferlog } from "./xferlog.ts";
 * formatXferlog({
 *   type: "transfer", session: 1, remote: "203.0.113.9", user: "alice", anonymous: false,
 *   command: "STOR", direction: "in", path: "/in/a b.txt", bytes: 1234, offset: 0,
 *   durationMs: 2400, result: "ok", code: 226, representation: "binary", secure: false,
 * }, { now: new Date(Date.UTC(2026, 11, 1, 9, 5, 3)), utc: true });
 * // "Tue Dec  1 09:05:03 2026 2 203.0.113.9 1234 /in/a_b.txt b _ i r alice ftp 0 * c\n"
 * ```
 */
export function formatXferlog(
  event: RichTransferEvent,
  options: XferlogOptions = {},
): string | null {
  if (event.direction === "list") return null;
  const fields = [
    ctime(options.now ?? new Date(), options.utc),
    String(Math.max(1, Math.round(event.durationMs / 1000))),
    xferlogField(event.remote),
    String(event.bytes),
    xferlogField(event.path),
    event.representation === "ascii" ? "a" : "b",
    "_",
    event.direction === "in" ? "i" : "o",
    event.anonymous ? "a" : "r",
    xferlogField(event.user),
    "ftp",
    "0",
    "*",
    event.result === "ok" ? "c" : "i",
  ];
  return fields.join(" ") + "\n";
}

/**
 * One JSON line (with its line feed), or null for a directory listing. Keys are stable; the
 * real path is never written.
 *
 * @example
 * ```ts
 * import { formatTransferJson } from "./xferlog.ts";
 * const line = formatTransferJson({
 *   type: "transfer", session: 1, remote: "203.0.113.9", user: "alice", anonymous: false,
 *   command: "RETR", direction: "out", path: "/a.txt", bytes: 5, offset: 0,
 *   durationMs: 12, result: "ok", code: 226, representation: "binary", secure: true,
 * });
 * JSON.parse(line!).bytes; // 5
 * ```
 */
export function formatTransferJson(
  event: RichTransferEvent,
  options: { now?: Date } = {},
): string | null {
  if (event.direction === "list") return null;
  const record: Record<string, unknown> = {
    time: (options.now ?? new Date()).toISOString(),
    session: event.session,
    remote: event.remote,
    user: event.user,
    anonymous: event.anonymous,
    command: event.command,
    direction: event.direction,
    path: event.path,
    bytes: event.bytes,
    offset: event.offset,
    duration_ms: Math.round(event.durationMs),
    result: event.result,
    code: event.code,
    type: event.representation,
    secure: event.secure,
  };
  if (event.size !== undefined) record.size = event.size;
  if (event.sha256 !== undefined) record.sha256 = event.sha256;
  // JSON.stringify escapes control characters, and U+2028/2029 are valid inside JSON strings.
  return JSON.stringify(record) + "\n";
}

/** Options of {@linkcode TransferLog.open}. */
export interface TransferLogOptions {
  /** File to append to. */
  path: string;
  /** Default `xferlog`. */
  format?: TransferLogFormat;
  /** xferlog times in UTC instead of local time. Default false. */
  utc?: boolean;
}

/**
 * The transfer log as a subscriber: writes a line for every file transfer event.
 *
 * @example
 * ```ts
 * import { EventHub } from "../events.ts";
 * import { TransferLog } from "./xferlog.ts";
 * const events = new EventHub();
 * const path = Deno.makeTempFileSync();
 * const log = await TransferLog.open(events, { path, format: "json" });
 * await log.reopen(); // on SIGHUP, after logrotate moved the file
 * await log.close();
 * Deno.removeSync(path);
 * ```
 */
export class TransferLog {
  readonly #file: LineFile;
  readonly #off: () => void;

  private constructor(events: EventHub, file: LineFile, options: TransferLogOptions) {
    this.#file = file;
    const json = options.format === "json";
    this.#off = events.on((event) => {
      if (event.type !== "transfer") return;
      const line = json
        ? formatTransferJson(event)
        : formatXferlog(event, { utc: options.utc ?? false });
      if (line !== null) file.write(line);
    });
  }

  /** Opens the file (throws if it cannot be opened) and subscribes. */
  static async open(events: EventHub, options: TransferLogOptions): Promise<TransferLog> {
    return new TransferLog(events, await LineFile.open(options.path), options);
  }

  /** Lines lost: dropped while the disk was stuck, or failed writes. */
  get lost(): number {
    return this.#file.dropped + this.#file.errors;
  }

  /** Resolves once every line so far is written. */
  flushed(): Promise<void> {
    return this.#file.flushed();
  }

  /** Reopens the file at its path (SIGHUP, after logrotate). */
  reopen(): Promise<void> {
    return this.#file.reopen();
  }

  /** Unsubscribes, writes what is queued and closes. */
  close(): Promise<void> {
    this.#off();
    return this.#file.close();
  }
}
