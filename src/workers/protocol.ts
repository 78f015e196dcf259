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
  /** Forward every event to the main isolate (someone listens there: metrics, webhooks). */
  forwardEvents: boolean;
  /** The connection limits, shared (`admission_table.ts`). */
  admissions: SharedArrayBuffer;
  workers: number;
}

/** Main isolate → worker. */
export type ToWorker =
  | WorkerStart
  | { type: "answer"; id: number; value: string | null | boolean }
  | { type: "forward" }
  | { type: "shutdown"; graceMs?: number }
  | { type: "status"; id: number }
  | { type: "reloadTls" }
  | { type: "logging"; format: LogFormat; level: LogLevelName }
  | { type: "reconfigure"; changes: Reconfiguration };

/** Worker → main isolate. */
export type FromWorker =
  | { type: "ready"; port: number; implicitTlsPort?: number; url: string; fingerprint?: string }
  | { type: "failed"; message: string; name: string }
  | { type: "greeted" }
  | { type: "acquire"; id: number; key: string }
  | { type: "unlock"; key: string }
  | { type: "events"; events: FtpEvent[] }
  | { type: "status"; id: number; snapshot: StatusSnapshot }
  | { type: "finished" };
