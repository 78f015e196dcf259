/**
 * Logging through LogTape. The library only asks for loggers; the application (main.ts)
 * decides where records go, so a test suite that embeds ftpgate gets no output unless it asks.
 *
 * Categories: `ftpgate.server`, `ftpgate.session`, `ftpgate.transfer`, `ftpgate.security`.
 *
 * @module
 */

import {
  configure,
  getLogger,
  getTextFormatter,
  jsonLinesFormatter,
  type Logger,
  type LogLevel,
  type LogRecord,
} from "@logtape/logtape";

/** Loggers used across the server. */
export const log: {
  server: Logger;
  session: Logger;
  transfer: Logger;
  security: Logger;
} = {
  server: getLogger(["ftpgate", "server"]),
  session: getLogger(["ftpgate", "session"]),
  transfer: getLogger(["ftpgate", "transfer"]),
  security: getLogger(["ftpgate", "security"]),
};

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
export async function configureLogging(format: LogFormat, level: LogLevel): Promise<void> {
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
}
