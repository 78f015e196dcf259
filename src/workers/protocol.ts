/**
 * The messages between the main isolate (`pool.ts`) and its workers (`worker.ts`).
 *
 * @module
 */

import type { FtpEvent } from "../events.ts";
import type { LogFormat, LogLevelName } from "../log.ts";
import type { ServeOptions } from "../options.ts";
import type { StatusSnapshot } from "../ops/host.ts";
import type { Reconfiguration } from "../server.ts";

/** What a worker starts with. */
export interface WorkerStart {
  type: "start";
  index: number;
  /** Structured-cloneable serve options, with the port every worker shares. */
  options: ServeOptions;
  log: { format: LogFormat; level: LogLevelName } | null;
  /** Forward every event to the main isolate (metrics, webhooks, the transfer log). */
  forwardEvents: boolean;
}

/** Main isolate → worker. */
export type ToWorker =
  | WorkerStart
  | { type: "answer"; id: number; value: string | null | boolean }
  | { type: "bans"; bans: [string, number][] }
  | { type: "shutdown"; graceMs?: number }
  | { type: "status"; id: number }
  | { type: "reloadTls" }
  | { type: "reconfigure"; changes: Reconfiguration };

/** Worker → main isolate. */
export type FromWorker =
  | { type: "ready"; port: number; implicitTlsPort?: number; url: string; fingerprint?: string }
  | { type: "failed"; message: string; name: string }
  | { type: "admit"; id: number; ip: string }
  | { type: "release"; ip: string }
  | { type: "loginFailed"; ip: string; user: string }
  | { type: "acquire"; id: number; key: string }
  | { type: "unlock"; key: string }
  | { type: "events"; events: FtpEvent[] }
  | { type: "status"; id: number; snapshot: StatusSnapshot }
  | { type: "finished" };
