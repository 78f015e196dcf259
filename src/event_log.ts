/**
 * The log lines of the server's events: sessions, logins, transfers and changes to the tree,
 * one record each, with the session, the address and the user. A subscriber like any other
 * (metrics and webhooks are others); the core emits events and writes no such lines itself.
 *
 * @module
 */

import type { EventHub, FtpEvent } from "./events.ts";
import { log } from "./log.ts";

/** Passive-port exhaustion is logged at most this often, with how often it happened. */
const EXHAUSTION_LOG_INTERVAL_MS = 10_000;

/** Writes a log record for every event that an operator reads in the log. */
export function logEvents(events: EventHub): () => void {
  let exhaustedSince = 0;
  let exhaustedCount = 0;
  return events.on((event: FtpEvent) => {
    switch (event.type) {
      case "session-opened":
        return log.session.info("Session {session} opened from {remote} port {port}", {
          session: event.session,
          remote: event.remote,
          port: event.remotePort,
        });
      case "session-closed":
        return log.session.info(
          "Session {session} from {remote} closed (user {user}, {seconds} s)",
          {
            session: event.session,
            remote: event.remote,
            user: event.user ?? "-",
            seconds: Math.round(event.durationMs / 100) / 10,
          },
        );
      case "login":
        if (!event.ok) return; // the fail2ban line is written where failures are counted
        return log.session.info("Session {session}: {user} logged in from {remote}", {
          session: event.session,
          user: event.user,
          remote: event.remote,
        });
      case "transfer": {
        const properties = {
          session: event.session,
          user: event.user,
          remote: event.remote,
          command: event.command,
          path: event.path,
          bytes: event.bytes,
          offset: event.offset,
          ms: event.durationMs,
          result: event.result,
          code: event.code,
          error: event.error,
          substituted: event.substituted,
        };
        const message =
          "{command} {path} by {user} from {remote}: {bytes} bytes from offset {offset} in {ms} ms, {result} ({code})" +
          (event.substituted ? ", {substituted} characters without an EBCDIC code as SUB" : "");
        if (event.error !== undefined) return log.transfer.error(message + ": {error}", properties);
        return log.transfer.info(message, properties);
      }
      case "file-action":
        // Two messages rather than an empty placeholder: the escaper would print it as "".
        return log.session.info(
          event.detail === undefined
            ? "Session {session}: {action} {path} by {user} from {remote}: {result} ({code})"
            : "Session {session}: {action} {path} -> {detail} by {user} from {remote}: {result} ({code})",
          {
            session: event.session,
            action: event.action,
            path: event.path,
            ...(event.detail === undefined ? {} : { detail: event.detail }),
            user: event.user,
            remote: event.remote,
            result: event.ok ? "ok" : "failed",
            code: event.code,
          },
        );
      case "passive-exhausted": {
        exhaustedCount++;
        const now = Date.now();
        if (now - exhaustedSince < EXHAUSTION_LOG_INTERVAL_MS) return;
        exhaustedSince = now;
        log.server.warning(
          "No passive port free in {range} (session {session} from {remote}; {count} times since the last report)",
          {
            range: event.range,
            session: event.session,
            remote: event.remote,
            count: exhaustedCount,
          },
        );
        exhaustedCount = 0;
        return;
      }
    }
  });
}
