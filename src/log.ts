/**
 * Logging through LogTape. The library only asks for loggers; the application (main.ts)
 * decides where records go, so a test suite that embeds ftpgate gets no output unless it asks.
 *
 * Categories: `ftpgate.server`, `ftpgate.session`, `ftpgate.transfer`, `ftpgate.security`.
 *
 * LogTape is loaded on first use, not at start: resolving an npm package costs about 15 ms, and
 * the first banner should not wait for it. Records made before it has loaded are kept (up to a
 * limit) and passed on in order.
 *
 * @module
 */

import type { Logger, LogRecord } from "npm:@logtape/logtape@2.4.2";

type Category = "server" | "session" | "transfer" | "security";
type Level = "debug" | "info" | "warning" | "error";
type Properties = Record<string, unknown>;

/** The logging calls ftpgate makes. */
export interface FtpgateLogger {
  debug(message: string, properties?: Properties): void;
  info(message: string, properties?: Properties): void;
  warning(message: string, properties?: Properties): void;
  error(message: string, properties?: Properties): void;
}

/** Records kept while LogTape loads; beyond this, the oldest are dropped. */
const QUEUE_LIMIT = 1000;

let loggers: Record<Category, Logger> | undefined;
let loading: Promise<void> | undefined;
/** While main.ts configures LogTape, records wait, so that none go to an unconfigured sink. */
let holding = false;
const queue: [Category, Level, string, Properties | undefined][] = [];

function load(): Promise<void> {
  return loading ??= import("npm:@logtape/logtape@2.4.2").then(({ getLogger }) => {
    loggers = {
      server: getLogger(["ftpgate", "server"]),
      session: getLogger(["ftpgate", "session"]),
      transfer: getLogger(["ftpgate", "transfer"]),
      security: getLogger(["ftpgate", "security"]),
    };
    if (!holding) flush();
  }, () => {
    // LogTape cannot be loaded (an embedding without it): records are dropped, never fatal.
    queue.length = 0;
  });
}

function flush(): void {
  for (const [category, level, message, properties] of queue.splice(0)) {
    loggers![category][level](message, properties);
  }
}

/**
 * Who a record is about: the session, the client's address and the logged-in user (null before
 * a login). Every record of a session carries all three (issue 13), even those written by code
 * that knows only one of them (the fail2ban line knows the address and the user name).
 */
export interface LogContext {
  session: number;
  remote: string;
  user: string | null;
}

/** Finds the context of a record from its properties, or undefined when it has none. */
export type LogContextResolver = (properties: Readonly<Properties>) => LogContext | undefined;

const resolvers = new Set<LogContextResolver>();

/**
 * Adds a source of {@linkcode LogContext} (event_log.ts keeps one from the server's events);
 * returns the function that removes it.
 *
 * @example
 * ```ts
 * import { addLogContext } from "./log.ts";
 * const remove = addLogContext((p) =>
 *   p.session === 1 ? { session: 1, remote: "192.0.2.1", user: "bob" } : undefined
 * );
 * remove();
 * ```
 */
export function addLogContext(resolver: LogContextResolver): () => void {
  resolvers.add(resolver);
  return () => void resolvers.delete(resolver);
}

const CONTEXT_KEYS = ["session", "remote", "user"] as const;

/**
 * The record with its context: the three keys in the properties (for JSON lines), and the ones
 * its message does not show appended to it as `[session=3 remote=192.0.2.1 user=bob]` (for text
 * lines, rendered and escaped like every value). Appended, never prefixed: the fail2ban filter
 * reads the address at a fixed place near the start of the failed-login line.
 */
function withContext(message: string, properties?: Properties): [string, Properties | undefined] {
  if (resolvers.size === 0) return [message, properties];
  const given = properties ?? {};
  let context: LogContext | undefined;
  for (const resolve of resolvers) {
    context = resolve(given);
    if (context !== undefined) break;
  }
  if (context === undefined) return [message, properties];
  const out: Properties = { ...given };
  const shown: string[] = [];
  for (const key of CONTEXT_KEYS) {
    if (out[key] === undefined) out[key] = context[key];
    if (out[key] !== null && !message.includes(`{${key}}`)) shown.push(`${key}={${key}}`);
  }
  return [shown.length === 0 ? message : `${message} [${shown.join(" ")}]`, out];
}

function emit(category: Category, level: Level, text: string, given?: Properties) {
  const [message, properties] = withContext(text, given);
  if (loggers !== undefined && !holding) return loggers[category][level](message, properties);
  if (queue.length >= QUEUE_LIMIT) queue.shift();
  queue.push([category, level, message, properties]);
  if (!holding && loading === undefined) queueMicrotask(() => void load());
}

function logger(category: Category): FtpgateLogger {
  return {
    debug: (message, properties) => emit(category, "debug", message, properties),
    info: (message, properties) => emit(category, "info", message, properties),
    warning: (message, properties) => emit(category, "warning", message, properties),
    error: (message, properties) => emit(category, "error", message, properties),
  };
}

/** Loggers used across the server. */
export const log: Record<Category, FtpgateLogger> = {
  server: logger("server"),
  session: logger("session"),
  transfer: logger("transfer"),
  security: logger("security"),
};

/**
 * Keeps records back until {@linkcode configureLogging} has run: an application that will
 * configure logging calls this first, so that nothing logged meanwhile is lost.
 */
export function holdLogs(): void {
  holding = true;
}

/** The lowest level {@linkcode configureLogging} writes. */
export type LogLevelName = "debug" | "info" | "warning" | "error";

/** Output format of {@linkcode configureLogging}. */
export type LogFormat = "text" | "json";

/**
 * Characters never written raw into a log line: C0 controls (CR and LF would start a forged
 * record, ESC starts the ANSI sequences that clear or rewrite an operator's terminal), DEL, C1
 * controls (U+009B is a one-byte CSI for some terminals), the Unicode line and paragraph
 * separators, the bidirectional controls that reorder what a reader sees ("Trojan Source"), and
 * lone surrogates (not encodable as UTF-8).
 */
const UNSAFE =
  // deno-lint-ignore no-control-regex -- matching control characters is the point
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** A value that can stand bare in a line: printable ASCII without space, quote or backslash. */
const BARE = /^[!#-\[\]-~]+$/;

const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

function escapeChar(char: string): string {
  const code = char.charCodeAt(0);
  return NAMED[char] ??
    (code <= 0xff
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : `\\u${code.toString(16).padStart(4, "0")}`);
}

/**
 * Renders one value of a log message, as logfmt does: a plain token (an address, a number, a
 * path without spaces) stays bare; anything else is quoted, with `"` and `\` escaped and every
 * unsafe character written as an escape (`\x1b`, `\r`, `\n`, `\u202e`). Client-supplied text
 * (user names, paths, verbs) can therefore never start a new line, move the cursor or pass for a
 * fixed part of the message: `user "x from 10.9.9.9"` is visibly one value.
 *
 * @example
 * ```ts
 * import { formatLogValue } from "./log.ts";
 * formatLogValue("203.0.113.9"); // 203.0.113.9
 * formatLogValue("x from 10.9.9.9"); // "x from 10.9.9.9"
 * formatLogValue("\x1b[2Jevil"); // "\x1b[2Jevil"
 * ```
 */
export function formatLogValue(
  value: unknown,
  inspect: (value: unknown) => string = (value) => Deno.inspect(value),
): string {
  if (typeof value === "string") {
    if (BARE.test(value)) return value;
    return `"${value.replace(/["\\]/g, "\\$&").replace(UNSAFE, escapeChar)}"`;
  }
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") {
    return String(value);
  }
  // Errors, objects: whatever inspect says, kept on one line (an error message may quote a client).
  return inspect(value).replace(UNSAFE, escapeChar);
}

/** Renders a LogTape message (text, value, text, ...) with {@linkcode formatLogValue}. */
function renderMessage(parts: readonly unknown[], inspect: (value: unknown) => string): string {
  let text = "";
  for (let i = 0; i < parts.length; i++) {
    text += i % 2 === 0 ? String(parts[i]) : formatLogValue(parts[i], inspect);
  }
  return text;
}

/** Unicode characters that are valid inside a JSON string but unwelcome on a terminal. */
const JSON_UNSAFE = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const encoder = new TextEncoder();

/**
 * Sends ftpgate's records to stderr, as readable lines or as JSON lines. stdout stays free for
 * the one ready line that scripts read. A library user who already configures LogTape can
 * instead add a logger for the `ftpgate` category to their own configuration.
 *
 * Both formats write one line per record, whatever the values hold (see
 * {@linkcode formatLogValue}); a JSON line is always valid JSON, with its message rendered the
 * same way as the text line's (`"message":"Login failed from 203.0.113.9: user bob"`) and the
 * raw values under `properties`.
 *
 * @example
 * ```ts ignore
 * import { configureLogging } from "./log.ts";
 * await configureLogging("json", "info");
 * ```
 */
export async function configureLogging(format: LogFormat, level: LogLevelName): Promise<void> {
  holding = true;
  try {
    await load();
    const { configure } = await import("npm:@logtape/logtape@2.4.2");
    const formatter = await createFormatter(format);
    await configure({
      reset: true,
      sinks: {
        stderr: (record: LogRecord) => {
          try {
            Deno.stderr.writeSync(encoder.encode(formatter(record)));
          } catch { /* stderr closed: nothing to report to */ }
        },
      },
      loggers: [
        { category: ["ftpgate"], lowestLevel: level, sinks: ["stderr"] },
        { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["stderr"] },
      ],
    });
  } finally {
    holding = false;
    if (loggers !== undefined) flush();
  }
}

/**
 * The formatter {@linkcode configureLogging} writes with: one line per record, ending in `\n`,
 * every value rendered by {@linkcode formatLogValue}. For a LogTape configuration of your own.
 *
 * @example
 * ```ts
 * import { createFormatter } from "./log.ts";
 * const format = await createFormatter("json");
 * const line = format({
 *   category: ["ftpgate", "security"],
 *   level: "warning",
 *   message: ["Login failed from ", "203.0.113.9", ": user ", "x from 10.9.9.9", ""],
 *   rawMessage: "Login failed from {remote}: user {user}",
 *   timestamp: 0,
 *   properties: { remote: "203.0.113.9", user: "x from 10.9.9.9" },
 * });
 * JSON.parse(line).message; // 'Login failed from 203.0.113.9: user "x from 10.9.9.9"'
 * ```
 */
export async function createFormatter(format: LogFormat): Promise<(record: LogRecord) => string> {
  const { getTextFormatter, jsonLinesFormatter } = await import("npm:@logtape/logtape@2.4.2");
  const inspect = (value: unknown) => Deno.inspect(value, { colors: false });
  if (format === "json") {
    // LogTape's JSON lines (field order, errors, bigints, cycles), with the message rendered by
    // formatLogValue instead of JSON-quoting every string inside it.
    return (record) =>
      jsonLinesFormatter({ ...record, message: [renderMessage(record.message, inspect)] })
        .replace(JSON_UNSAFE, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
  }
  // "ftpgate.security", as in the JSON lines' "logger" field: ASCII, so that a fail2ban filter
  // matches it whatever encoding fail2ban reads the log with.
  return getTextFormatter({
    timestamp: "rfc3339",
    category: ".",
    value: (value: unknown) => formatLogValue(value, inspect),
  });
}
