/**
 * The log lines of the server's events: sessions, logins, transfers and changes to the tree,
 * one record each, with the session, the address and the user. A subscriber like any other
 * (metrics and webhooks are others); the core emits events and writes no such lines itself.
 *
 * From the same events it keeps who each open session is (address, logged-in user), so that
 * every other record of a session gets the three as well (log.ts adds what a record lacks).
 *
 * @module
 */

import type { EventHub, FtpEvent } from "./events.ts";
import { addLogContext, log, type LogContext } from "./log.ts";

/** An open session, as the log knows it; `hub` tells apart servers in one process. */
interface OpenSession extends LogContext {
  hub: EventHub;
}

/** Open sessions by id (ids are per server, so an id may name one session of each server). */
const open = new Map<number, OpenSession[]>();
let removeResolver: (() => void) | undefined;
let hubs = 0;

function sessionsOf(id: number): OpenSession[] {
  let list = open.get(id);
  if (list === undefined) open.set(id, list = []);
  return list;
}

function forget(hub: EventHub, id: number): void {
  const list = open.get(id)?.filter((entry) => entry.hub !== hub) ?? [];
  if (list.length === 0) open.delete(id);
  else open.set(id, list);
}

/** Keeps the registry of one hub's sessions up to date; runs before the event's own line. */
function track(hub: EventHub, event: FtpEvent): void {
  switch (event.type) {
    case "session-opened":
      sessionsOf(event.session).push({
        hub,
        session: event.session,
        remote: event.remote,
        user: null,
      });
      return;
    case "session-closed":
      return forget(hub, event.session);
    case "login": {
      const entry = open.get(event.session)?.find((entry) => entry.hub === hub);
      // USER logs the session out before PASS is checked: after a failure nobody is logged in.
      if (entry !== undefined) entry.user = event.ok ? event.user : null;
      return;
    }
  }
}

/**
 * The context of a record, by its session id (checked against its address when it has one; the
 * failed-login and refused-login lines carry the id too). Records without one (a refused
 * connection, before any session) get none.
 */
function resolve(properties: Readonly<Record<string, unknown>>): LogContext | undefined {
  const { session, remote } = properties;
  if (typeof session !== "number") return undefined;
  const matching = (open.get(session) ?? []).filter((entry) =>
    remote === undefined || entry.remote === remote
  );
  return matching.length === 1 ? matching[0] : undefined;
}

/** Passive-port exhaustion is logged at most this often, with how often it happened. */
const EXHAUSTION_LOG_INTERVAL_MS = 10_000;

/** Writes a log record for every event that an operator reads in the log. */
export function logEvents(events: EventHub): () => void {
  let exhaustedSince = 0;
  let exhaustedCount = 0;
  removeResolver ??= addLogContext(resolve);
  hubs++;
  const off = events.on((event: FtpEvent) => {
    track(events, event);
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
          "Session {session}: {command} {path} by {user} from {remote}: {bytes} bytes from offset {offset} in {ms} ms, {result} ({code})" +
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
  return () => {
    off();
    for (const [id, list] of open) {
      if (list.some((entry) => entry.hub === events)) forget(events, id);
    }
    if (--hubs === 0) {
      removeResolver?.();
      removeResolver = undefined;
    }
  };
}
