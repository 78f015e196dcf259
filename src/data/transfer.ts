/**
 * One data transfer (RETR, STOR, APPE, STOU, LIST, NLST, MLSD), from the 150 reply to the final
 * reply. It runs beside the command loop, which keeps reading the control connection so that ABOR
 * and STAT are answered while bytes flow (RFC 959 §4.1.3).
 *
 * @module
 */

import { FtpError, toReply } from "../errors.ts";
import { fromNetworkAscii, toNetworkAscii } from "./ascii.ts";
import type { DataConnection } from "./connection.ts";
import { pump, PumpError } from "./pump.ts";

/** What a transfer moves, and where. */
export type TransferPlan =
  | { direction: "send"; source: ReadableStream<Uint8Array> }
  | { direction: "receive"; sink: WritableStream<Uint8Array> };

/** A transfer to start. */
export interface TransferSpec {
  /** The command, for logs and STAT. */
  command: string;
  /** The virtual path, for logs and STAT. */
  path: string;
  /** What to move, already opened (a download checked before anything else happens)... */
  plan?: TransferPlan;
  /**
   * ...or how to open it once the data connection exists: an upload changes nothing on disk
   * until the client has connected (a STOR that gets 425 must not have emptied the file).
   */
  open?: () => Promise<TransferPlan>;
  /** Convert line ends (TYPE A). Listings are built with CRLF and never need it. */
  ascii: boolean;
  /** Text of the 150 reply (a function when it depends on what `open` found). */
  openingText: string | (() => string);
  /** Text of the 226 reply. */
  completeText?: string | (() => string);
}

/** Why a transfer ended early. */
export type AbortReason = "abort" | "stall" | "shutdown";

/** What the transfer needs from its session. */
export interface TransferHost {
  reply(code: number, text: string): Promise<void>;
  /** Makes (passive: takes) the TCP data connection; rejects with FtpError 425 on failure. */
  connect(signal: AbortSignal): Promise<DataConnection>;
  /** Wraps the connection as the session requires (TLS under PROT P); after the 150 reply. */
  protect(connection: DataConnection, signal: AbortSignal): Promise<DataConnection>;
  /** Changes the plan before use (fault injection). */
  decorate?(plan: TransferPlan, spec: TransferSpec): TransferPlan;
  /** Reports the outcome once, for the transfer log. */
  finished(record: TransferRecord): void;
}

/** What the transfer log records. */
export interface TransferRecord {
  command: string;
  path: string;
  bytes: number;
  ms: number;
  result: "ok" | "aborted" | "failed";
  /** The final reply code. */
  code: number;
  /** The underlying error, for unexpected failures. */
  error?: unknown;
}

/**
 * A running transfer. The order follows vsftpd: the data connection first, then the storage
 * side, then 150 (so a data connection that never comes is a plain 425, which every client
 * reads), then TLS on the data connection (clients start it after the 150), then the bytes.
 */
export class Transfer {
  readonly spec: TransferSpec;
  readonly startedAt = Date.now();
  /** Bytes moved so far. */
  bytes = 0;
  /** When the last byte moved (or the data connection was made). */
  lastProgress = this.startedAt;
  /** The data connection is up and bytes may flow: from here the stall timeout applies. */
  flowing = false;
  /** When it was aborted (0: it was not). */
  abortedAt = 0;
  /** Resolves after the final reply has been written. Never rejects. */
  readonly done: Promise<void>;
  #abortReason: AbortReason | null = null;
  readonly #controller = new AbortController();
  #connection: DataConnection | null = null;
  #plan: TransferPlan | null;
  readonly #host: TransferHost;

  constructor(spec: TransferSpec, host: TransferHost) {
    this.spec = spec;
    this.#host = host;
    this.#plan = spec.plan ?? null;
    this.done = this.#run();
  }

  /** Ends the transfer early: its final reply will be 426. */
  abort(reason: AbortReason): void {
    if (this.#abortReason !== null) return;
    this.#abortReason = reason;
    this.abortedAt = Date.now();
    this.#controller.abort();
    this.#closeConnection();
  }

  async #run(): Promise<void> {
    const { spec } = this;
    const signal = this.#controller.signal;
    let code = 226;
    let result: TransferRecord["result"] = "ok";
    let failure: unknown;
    try {
      try {
        this.#connection = await this.#host.connect(signal);
      } catch (error) {
        throw this.#abortReason ? error : toFtpError(error, 425, "Can't open data connection.");
      }
      this.#checkAborted();
      let plan = this.#plan ?? await spec.open!();
      if (this.#host.decorate) plan = this.#host.decorate(plan, spec);
      this.#plan = plan;
      this.#checkAborted();
      const opening = spec.openingText;
      await this.#host.reply(150, typeof opening === "string" ? opening : opening());
      this.#connection = await this.#host.protect(this.#connection, signal);
      this.#checkAborted();
      this.flowing = true;
      this.lastProgress = Date.now();
      await this.#pump(this.#connection, plan);
      await this.#connection.finish?.();
      this.#closeConnection();
      const complete = spec.completeText ?? "Transfer complete.";
      await this.#host.reply(226, typeof complete === "string" ? complete : complete());
    } catch (error) {
      this.#discard(error);
      this.#closeConnection();
      const reply = this.#failureReply(error);
      code = reply.code;
      result = this.#abortReason ? "aborted" : "failed";
      if (reply.unexpected) failure = error;
      await this.#host.reply(reply.code, reply.text).catch(() => {});
    } finally {
      this.#host.finished({
        command: spec.command,
        path: spec.path,
        bytes: this.bytes,
        ms: Date.now() - this.startedAt,
        result,
        code,
        ...(failure === undefined ? {} : { error: failure }),
      });
    }
  }

  #checkAborted(): void {
    if (this.#abortReason) throw new FtpError(426, "Transfer aborted.");
  }

  #pump(connection: DataConnection, plan: TransferPlan): Promise<number> {
    const { ascii } = this.spec;
    const signal = this.#controller.signal;
    const onChunk = (bytes: number) => {
      this.bytes += bytes;
      this.lastProgress = Date.now();
    };
    if (plan.direction === "send") {
      const source = ascii ? plan.source.pipeThrough(toNetworkAscii()) : plan.source;
      return pump(source, connection, onChunk, signal);
    }
    const source = ascii ? connection.readable.pipeThrough(fromNetworkAscii()) : connection;
    return pump(source, plan.sink, onChunk, signal);
  }

  /** The final reply for a failed or aborted transfer. */
  #failureReply(error: unknown): { code: number; text: string; unexpected: boolean } {
    if (this.#abortReason === "stall") {
      return { code: 426, text: "Transfer timed out; transfer aborted.", unexpected: false };
    }
    if (this.#abortReason) return { code: 426, text: "Transfer aborted.", unexpected: false };
    if (error instanceof PumpError) {
      const networkSide = this.#plan?.direction === "send" ? "sink" : "source";
      if (error.side === networkSide) {
        return { code: 426, text: "Connection closed; transfer aborted.", unexpected: false };
      }
      return toReply(error.cause);
    }
    return toReply(error);
  }

  /** Releases the storage side when the bytes never flowed (pump releases it otherwise). */
  #discard(reason: unknown): void {
    const plan = this.#plan;
    if (plan === null) return;
    if (plan.direction === "send") {
      if (!plan.source.locked) plan.source.cancel(reason).catch(() => {});
    } else if (!plan.sink.locked) {
      plan.sink.abort(reason).catch(() => {});
    }
  }

  #closeConnection(): void {
    try {
      this.#connection?.close();
    } catch { /* already closed */ }
  }
}

function toFtpError(error: unknown, code: number, text: string): FtpError {
  return error instanceof FtpError ? error : new FtpError(code, text);
}
