/**
 * What the server reports as it runs: one typed event per thing an operator may want to count,
 * log or act on. The core emits them and knows nothing of their consumers; logs, the transfer
 * log, metrics and upload webhooks are subscribers.
 *
 * Every string in an event that a client chose (user names, paths) is raw: a subscriber that
 * writes text escapes it for its own format.
 *
 * @module
 */

/** Who and where, for every event about one session. */
export interface SessionRef {
  /** Session number, as in the logs (per server, from 1). */
  session: number;
  /** Client address (IPv4-mapped IPv6 shown as IPv4). */
  remote: string;
}

/** A control connection was accepted and greeted. */
export interface SessionOpenedEvent extends SessionRef {
  /** Discriminant. */
  type: "session-opened";
  /** The client's port. */
  remotePort: number;
  /** The control connection is TLS from the start (implicit TLS). */
  secure: boolean;
}

/** A session ended. */
export interface SessionClosedEvent extends SessionRef {
  /** Discriminant. */
  type: "session-closed";
  /** The logged-in user, or undefined. */
  user: string | undefined;
  /** How long the session lasted. */
  durationMs: number;
}

/** A login attempt, successful or not. */
export interface LoginEvent extends SessionRef {
  /** Discriminant. */
  type: "login";
  /** The name from USER, as sent. */
  user: string;
  /** The credentials were accepted. */
  ok: boolean;
  /** An anonymous login. */
  anonymous: boolean;
  /** The control connection was TLS. */
  secure: boolean;
}

/** A command was answered (its final reply; transfers report `transfer` as well). */
export interface CommandEvent extends SessionRef {
  /** Discriminant. */
  type: "command";
  /** Upper-cased verb, or `""` for a line without one. */
  verb: string;
  /** The reply code that answered it. */
  code: number;
}

/** Direction of a transfer: `in` uploads, `out` downloads, `list` directory listings. */
export type TransferDirection = "in" | "out" | "list";

/** A data transfer ended, in any way. */
export interface TransferEvent extends SessionRef {
  /** Discriminant. */
  type: "transfer";
  /** The logged-in user. */
  user: string;
  /** The user logged in anonymously. */
  anonymous: boolean;
  /** RETR, STOR, APPE, STOU, LIST, NLST, MLSD. */
  command: string;
  /** Upload, download or listing. */
  direction: TransferDirection;
  /** Virtual path. */
  path: string;
  /** Bytes that crossed the data connection (exact, in every outcome). */
  bytes: number;
  /** REST offset the transfer started from (0 without REST). */
  offset: number;
  /**
   * The stored file's size after a completed STOR or STOU: the stored REST offset plus the bytes
   * written to storage (after TYPE A conversion, without MODE B, C or Z framing). Absent for
   * APPE (the old size is not known), downloads, listings and uploads that did not complete.
   */
  size?: number;
  /** From the command to the final reply. */
  durationMs: number;
  /** How it ended. */
  result: "ok" | "aborted" | "failed";
  /** The final reply code. */
  code: number;
  /** TYPE A (`ascii`) or binary. */
  representation: "ascii" | "binary";
  /** The data connection was TLS. */
  secure: boolean;
  /** TYPE E: characters without an EBCDIC code, sent or stored as SUB (absent when none). */
  substituted?: number;
  /** The underlying error of an unexpected failure (for the error log). */
  error?: unknown;
}

/** A change to the tree that is not a transfer. */
export interface FileActionEvent extends SessionRef {
  /** Discriminant. */
  type: "file-action";
  /** The logged-in user. */
  user: string;
  /** What was done. */
  action: "delete" | "mkdir" | "rmdir" | "rename" | "chmod" | "mtime";
  /** The virtual path acted on (the source of a rename). */
  path: string;
  /** The new path of a rename, the mode of a chmod (octal text), the time of an mtime. */
  detail?: string;
  /** It worked. */
  ok: boolean;
  /** The reply code. */
  code: number;
}

/** An address was banned for failed logins. */
export interface BanEvent {
  /** Discriminant. */
  type: "ban";
  /** The banned address. */
  remote: string;
  /** Failed logins that led to it. */
  failures: number;
  /** How long it lasts. */
  durationMs: number;
}

/** A TLS handshake finished, on the control or a data connection. */
export interface TlsHandshakeEvent {
  /** Discriminant. */
  type: "tls-handshake";
  /** Which connection. */
  channel: "control" | "data";
  /** The handshake succeeded. */
  ok: boolean;
  /** The session, when known (implicit TLS handshakes come before the session exists). */
  session?: number;
  /** The client's address. */
  remote: string;
}

/** A storage call finished. */
export interface StorageOperationEvent {
  /** Discriminant. */
  type: "storage-operation";
  /** The back end's kind: `local`, `memory`, `s3`, ... */
  backend: string;
  /** The call: stat, list, read, write, mkdir, remove, rmdir, rename, setMtime, chmod. */
  operation: string;
  /** How long the call took. */
  durationMs: number;
  /** It did not throw. */
  ok: boolean;
}

/** No passive port could be bound (the range is exhausted). */
export interface PassiveExhaustedEvent extends SessionRef {
  /** Discriminant. */
  type: "passive-exhausted";
  /** The configured range, `from-to`. */
  range: string;
}

/** Every event. */
export type FtpEvent =
  | SessionOpenedEvent
  | SessionClosedEvent
  | LoginEvent
  | CommandEvent
  | TransferEvent
  | FileActionEvent
  | BanEvent
  | TlsHandshakeEvent
  | StorageOperationEvent
  | PassiveExhaustedEvent;

/** Receives events. It must not throw and should not block: it runs on the server's hot path. */
export type EventListener = (event: FtpEvent) => void;

/**
 * Fan-out of events to listeners. A listener that throws is removed from nothing and breaks
 * nothing: the error is swallowed, so that a faulty subscriber cannot take a session down.
 *
 * @example
 * ```ts
 * import { EventHub } from "./events.ts";
 * const hub = new EventHub();
 * const off = hub.on((event) => { if (event.type === "login") console.log(event.user, event.ok); });
 * off();
 * ```
 */
export class EventHub {
  readonly #listeners = new Set<EventListener>();

  /** Adds a listener; returns a function that removes it. */
  on(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** True when someone listens: callers may skip building an event nobody reads. */
  get active(): boolean {
    return this.#listeners.size > 0;
  }

  /** Delivers an event to every listener. */
  emit(event: FtpEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch { /* a subscriber's failure is its own */ }
    }
  }
}
