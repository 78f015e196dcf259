/**
 * What a command handler works with: the session's state and the ports through which it acts
 * (replies, the data connection, transfers, TLS, login). Handlers import this interface, never the
 * session, so they have no cycle with the control loop and run in unit tests against an
 * in-memory context (no sockets).
 *
 * @module
 */

import type { Endpoint } from "../data/address.ts";
import type { TransferSpec } from "../data/transfer.ts";
import type { FileActionEvent } from "../events.ts";
import type { Identity } from "../identity/identity.ts";
import type { ResolvedOptions } from "../options.ts";
import type { SessionState } from "../session/state.ts";
import type { StorageCapabilities } from "../storage/storage.ts";

/** A reply: a code and one line, or several lines (a multi-line reply, RFC 959 §4.2). */
export interface Reply {
  code: number;
  text: string | readonly string[];
}

/** The data-connection setup a session prepares with PASV/EPSV or PORT/EPRT. */
export interface DataChannel {
  /** True when the next transfer has a way to connect. */
  readonly ready: boolean;
  /** `passive`, `active` or `none`, for STAT. */
  readonly mode: "passive" | "active" | "none";
  /** PASV/EPSV: listens (or re-arms the listener) for one connection; returns its port. */
  armPassive(): number;
  /** PORT/EPRT: the next transfer connects to `target`. */
  setActive(target: Endpoint): void;
  /** ABOR with no transfer: forgets what was prepared, closes a kept connection. */
  cancel(): void;
  /** REIN: closes the passive listener and any kept connection. */
  close(): void;
  /**
   * USER, AUTH, PROT, MODE: closes a connection kept open by MODE B or C. It was made for the
   * old terms: under PROT C it is clear text, and a new user must not inherit the old one's.
   */
  dropKept(): void;
}

/** What STAT shows of a running transfer. */
export interface RunningTransfer {
  readonly spec: TransferSpec;
  /** Bytes moved so far. */
  readonly bytes: number;
}

/** Login services: identity provider, failure accounting, bans. */
export interface LoginPort {
  /** True when `user` logs in anonymously (the 331 text asks for an e-mail address). */
  isAnonymous(user: string): boolean;
  /**
   * The identity for the credentials, or null. Rejects when the provider cannot decide (the
   * session then answers 421 and closes).
   */
  authenticate(user: string, password: string): Promise<Identity | null>;
  /** True while the client's address is banned for failed logins. */
  isBanned(): boolean;
  /** Records a failed login; returns how long to wait before answering. */
  failed(user: string): number;
  /**
   * Checks the user's own conditions once the password is right (TLS, networks, sessions at
   * once) and gives the identity the session works with (its storage under the user's quota):
   * or a refusal to answer with.
   */
  admit(identity: Identity): Admission;
}

/** The outcome of {@linkcode LoginPort.admit}. */
export type Admission =
  | { identity: Identity }
  | {
    refusal: {
      code: number;
      text: string;
      close: boolean;
      /**
       * Handle it exactly as wrong credentials (the delay, the session's attempts, the
       * address's failures): a refusal decided after the password was found right must not
       * tell that it was.
       */
      failedLogin?: boolean;
    };
  };

/** The command table as HELP sees it. */
export interface CommandLookup {
  /** The syntax line of a verb, or undefined for an unknown one. */
  help(verb: string): string | undefined;
  /** Every verb, sorted. */
  verbs(): string[];
}

/** Everything a handler may use. */
export interface CommandContext {
  /** The session's protocol state. */
  readonly state: SessionState;
  /** The server's options. */
  readonly options: ResolvedOptions;
  /** Session number, as in the logs. */
  readonly sessionId: number;
  /** The client's address (IPv4-mapped IPv6 shown as IPv4). */
  readonly remoteHost: string;
  /** Our address as the client reached it. */
  readonly localHost: string;
  /** The command table, for HELP. */
  readonly commands: CommandLookup;
  /** What the server's default storage can do: FEAT before login. */
  readonly defaultCapabilities: StorageCapabilities;
  /** TLS credentials are configured (AUTH TLS possible). */
  readonly tlsAvailable: boolean;
  /** The data-connection setup. */
  readonly data: DataChannel;
  /** The running transfer, if any. */
  readonly transfer: RunningTransfer | null;
  /** The session has begun to close: nothing more should be started. */
  readonly closed: boolean;
  /** Aborted when the session closes: pass it to storage calls. */
  readonly signal: AbortSignal;
  /** Login services. */
  readonly login: LoginPort;
  /** Writes a reply now, for handlers that answer in steps (AUTH, a delayed 530). */
  reply(code: number, text: string | readonly string[]): Promise<void>;
  /**
   * Writes a multi-line reply whose middle lines are made as it goes (STAT of a large
   * directory): memory stays bounded.
   */
  replyStream(
    code: number,
    first: string,
    lines: AsyncIterable<string>,
    last: string,
  ): Promise<void>;
  /** Starts a transfer beside the command loop; the transfer writes 150 and the final reply. */
  startTransfer(spec: TransferSpec): void;
  /** Aborts the running transfer (its 426 is written first); false when none ran. */
  abortTransfer(): Promise<boolean>;
  /** Upgrades the control connection to TLS (after the 234 reply). */
  startTls(): Promise<void>;
  /** Ends the session, with a last reply when given. */
  close(code?: number, text?: string): void;
  /** QUIT: ends the session after the 221. */
  quit(): void;
  /** Waits, cut short when the session closes. */
  delay(ms: number): Promise<void>;
  /** Reports a change to the tree (for logs, metrics, webhooks). */
  fileAction(event: Omit<FileActionEvent, "type" | "session" | "remote" | "user">): void;
}
