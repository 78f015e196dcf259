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

import type { Logger, LogRecord } from "@logtape/logtape";

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
  return loading ??= import("@logtape/logtape").then(({ getLogger }) => {
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

function emit(category: Category, level: Level, message: string, properties?: Properties) {
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

const encoder = new TextEncoder();

/**
 * Sends ftpgate's records to stderr, as readable lines or as JSON lines. stdout stays free for
 * the one ready line that scripts read. A library user who already configures LogTape can
 * instead add a logger for the `ftpgate` category to their own configuration.
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
    const { configure, getTextFormatter, jsonLinesFormatter } = await import("@logtape/logtape");
    // Strings unquoted, so that `from 203.0.113.9` is easy to match for fail2ban.
    const text = getTextFormatter({
      timestamp: "rfc3339",
      value: (value, inspect) => typeof value === "string" ? value : inspect(value),
    });
    const formatter = format === "json" ? jsonLinesFormatter : text;
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
