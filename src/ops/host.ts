/**
 * What the operations modules (metrics, health, status page, transfer log, upload hook,
 * webhooks) need from a running server: its events, a snapshot of its state, and a readiness
 * probe. {@linkcode FtpServer} implements it; a test can implement it with an {@linkcode EventHub}
 * and a few objects.
 *
 * Everything here is read-only for the ops side: it never changes the server.
 *
 * @module
 */

import type { EventHub, TransferDirection, TransferEvent } from "../events.ts";

/** One connected control session. */
export interface SessionStatus {
  /** Session number, as in the events and logs. */
  id: number;
  /** Client address (IPv4-mapped IPv6 shown as IPv4). */
  remote: string;
  /** The logged-in user, or undefined before login. */
  user?: string;
  /** When the connection was accepted (milliseconds since the epoch). */
  since: number;
  /**
   * The command being run, or the last one: verb and argument as the client sent them (raw;
   * never the argument of PASS). Undefined before the first command.
   */
  command?: string;
  /** The control connection is TLS. */
  secure: boolean;
}

/**
 * One data transfer in progress (at most one per session). A transfer is listed from its start
 * until its end, and leaves the list **before** its `transfer` event is emitted, so that bytes
 * are never counted twice (once as progress, once by the event).
 */
export interface TransferStatus {
  /** The session it belongs to. */
  session: number;
  /** The logged-in user. */
  user: string;
  /** RETR, STOR, APPE, STOU, LIST, NLST, MLSD. */
  command: string;
  /** Upload, download or listing. */
  direction: TransferDirection;
  /** Virtual path (raw, as the client named it after resolution). */
  path: string;
  /** Bytes that crossed the data connection so far. */
  bytes: number;
  /** The size the transfer will reach when known (RETR: file size minus the REST offset). */
  size?: number;
  /** When the transfer started (milliseconds since the epoch). */
  started: number;
}

/** A value of the configuration summary. */
export type ConfigValue = string | number | boolean | readonly string[] | null;

/**
 * The server's state at one moment. Cheap to build (the status page asks once a second per
 * viewer, the metrics once per scrape).
 *
 * @example
 * ```ts
 * import type { StatusSnapshot } from "./host.ts";
 * const idle: StatusSnapshot = {
 *   version: "0.1.0",
 *   startedAt: Date.now(),
 *   draining: false,
 *   sessions: [],
 *   transfers: [],
 *   counts: { passiveListeners: 0, bannedAddresses: 0 },
 *   config: { port: 2121, tls: false },
 * };
 * ```
 */
export interface StatusSnapshot {
  /** ftpgate's version. */
  version: string;
  /** When the server started listening (milliseconds since the epoch). */
  startedAt: number;
  /** Shutting down: no new sessions, running transfers finishing (SIGTERM grace). */
  draining: boolean;
  /** Every connected session. */
  sessions: readonly SessionStatus[];
  /** Every transfer in progress. */
  transfers: readonly TransferStatus[];
  /** Counts of things that are not listed one by one. */
  counts: {
    /** Passive data listeners open right now. */
    passiveListeners: number;
    /** Addresses banned right now for failed logins. */
    bannedAddresses: number;
  };
  /**
   * What an operator may see of the configuration: listen address, ports, TLS on/off, limits,
   * storage kind. **No secrets**: no passwords, no keys, no tokens (the ops side also masks any
   * key that looks like one, as a second line of defence).
   */
  config: Readonly<Record<string, ConfigValue>>;
}

/** Result of a readiness probe. */
export interface ReadyResult {
  /** Ready to serve. */
  ok: boolean;
  /** Why not, in words fit for an operator (no secrets, no real paths). */
  detail?: string;
}

/**
 * The server as the ops modules see it.
 *
 * @example A host for a test: events from a hub, a fixed snapshot
 * ```ts
 * import { EventHub } from "../events.ts";
 * import type { OpsHost } from "./host.ts";
 * const host: OpsHost = {
 *   events: new EventHub(),
 *   status: () => ({
 *     version: "test",
 *     startedAt: Date.now(),
 *     draining: false,
 *     sessions: [],
 *     transfers: [],
 *     counts: { passiveListeners: 0, bannedAddresses: 0 },
 *     config: {},
 *   }),
 *   ready: () => Promise.resolve({ ok: true }),
 * };
 * ```
 */
export interface OpsHost {
  /** The server's events; the ops modules subscribe and never emit. */
  readonly events: EventHub;
  /** The state right now. */
  status(): StatusSnapshot;
  /**
   * Ready to serve: listening, and the storage reachable (an object store is probed). Should
   * give up when `signal` aborts (the ops side aborts after a few seconds).
   */
  ready(signal: AbortSignal): Promise<ReadyResult>;
}

/**
 * Facts a transfer event may carry beyond {@linkcode TransferEvent} (read when present): what an
 * upload hook and a webhook pass on. Proposed as optional fields of `TransferEvent`.
 */
export interface TransferExtras {
  /** The file's path on the local disk, when the back end has one. */
  realPath?: string;
  /** Hex SHA-256 of the bytes transferred, when the server computed it. */
  sha256?: string;
  /** Size of the file after an upload, when known (differs from `bytes` after REST or APPE). */
  size?: number;
}

/** A transfer event with the optional extras. */
export type RichTransferEvent = TransferEvent & TransferExtras;
