/**
 * Server events as the outside world sees them: the records a webhook posts and the status page
 * lists under "recent events". One mapping, so both say the same thing.
 *
 * Only events an operator acts on become activities: sessions, logins, file transfers and
 * changes to the tree. Commands, storage calls and listings do not (they are metrics).
 *
 * @module
 */

import type { FtpEvent } from "../events.ts";
import type { RichTransferEvent } from "./host.ts";

/** Activity types, as in a webhook's `type` field. */
export type ActivityType =
  | "session.start"
  | "session.end"
  | "login"
  | "login.failed"
  | "upload.completed"
  | "upload.failed"
  | "download.completed"
  | "download.failed"
  | "delete"
  | "rename"
  | "mkdir"
  | "rmdir"
  | "chmod"
  | "mtime"
  | "ban";

/**
 * Every activity type, for option validation.
 *
 * @example
 * ```ts
 * import { ACTIVITY_TYPES } from "./activity.ts";
 * ACTIVITY_TYPES.includes("upload.completed"); // true
 * ```
 */
export const ACTIVITY_TYPES: readonly ActivityType[] = [
  "session.start",
  "session.end",
  "login",
  "login.failed",
  "upload.completed",
  "upload.failed",
  "download.completed",
  "download.failed",
  "delete",
  "rename",
  "mkdir",
  "rmdir",
  "chmod",
  "mtime",
  "ban",
];

/** The event types that can become activities. */
const ACTIVITY_EVENTS: ReadonlySet<FtpEvent["type"]> = new Set<FtpEvent["type"]>([
  "session-opened",
  "session-closed",
  "login",
  "transfer",
  "file-action",
  "ban",
]);

/**
 * One activity. Field names are snake_case, as receivers in any language expect; absent facts
 * are `null`, never missing, so that receivers need no existence checks.
 */
export interface Activity {
  type: ActivityType;
  /** ISO 8601, UTC, milliseconds. */
  time: string;
  /** Session number, or null (a ban). */
  session: number | null;
  user: string | null;
  remote_address: string;
  /** Virtual path, or null. */
  path: string | null;
  /** Bytes transferred (transfers), or null. */
  size: number | null;
  /** Further facts of the type (`to` of a rename, `result` of a failed transfer, ...). */
  [fact: string]: unknown;
}

/**
 * The activity for an event, or null when the event is not one.
 *
 * @example
 * ```ts
 * import { toActivity } from "./activity.ts";
 * toActivity({ type: "login", session: 3, remote: "192.0.2.1", user: "bob", ok: false,
 *   anonymous: false, secure: false })?.type; // "login.failed"
 * ```
 */
export function toActivity(event: FtpEvent, now?: Date): Activity | null {
  // Most events (commands, storage calls) are not activities: no clock read for them.
  if (!ACTIVITY_EVENTS.has(event.type)) return null;
  const time = (now ?? new Date()).toISOString();
  switch (event.type) {
    case "session-opened":
      return {
        type: "session.start",
        time,
        session: event.session,
        user: null,
        remote_address: event.remote,
        path: null,
        size: null,
        secure: event.secure,
      };
    case "session-closed":
      return {
        type: "session.end",
        time,
        session: event.session,
        user: event.user ?? null,
        remote_address: event.remote,
        path: null,
        size: null,
        duration_ms: Math.round(event.durationMs),
      };
    case "login":
      return {
        type: event.ok ? "login" : "login.failed",
        time,
        session: event.session,
        user: event.user,
        remote_address: event.remote,
        path: null,
        size: null,
        anonymous: event.anonymous,
        secure: event.secure,
      };
    case "transfer":
      return transferActivity(event, time);
    case "file-action": {
      if (!event.ok) return null;
      const activity: Activity = {
        type: event.action,
        time,
        session: event.session,
        user: event.user,
        remote_address: event.remote,
        path: event.path,
        size: null,
      };
      if (event.action === "rename") activity.to = event.detail ?? null;
      else if (event.action === "chmod") activity.mode = event.detail ?? null;
      else if (event.action === "mtime") activity.mtime = event.detail ?? null;
      return activity;
    }
    case "ban":
      return {
        type: "ban",
        time,
        session: null,
        user: null,
        remote_address: event.remote,
        path: null,
        size: null,
        failures: event.failures,
        duration_ms: event.durationMs,
      };
    default:
      return null;
  }
}

function transferActivity(event: RichTransferEvent, time: string): Activity | null {
  if (event.direction === "list") return null;
  const ok = event.result === "ok";
  const type: ActivityType = event.direction === "in"
    ? (ok ? "upload.completed" : "upload.failed")
    : (ok ? "download.completed" : "download.failed");
  const activity: Activity = {
    type,
    time,
    session: event.session,
    user: event.user,
    remote_address: event.remote,
    path: event.path,
    size: event.bytes,
    command: event.command,
    offset: event.offset,
    duration_ms: Math.round(event.durationMs),
    secure: event.secure,
  };
  if (!ok) activity.result = event.result;
  if (event.size !== undefined) activity.file_size = event.size;
  if (event.sha256 !== undefined) activity.sha256 = event.sha256;
  return activity;
}
