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
  plan: TransferPlan;
  /** Convert line ends (TYPE A). Listings are built with CRLF and never need it. */
  ascii: boolean;
  /** Text of the 150 reply. */
  openingText: string;
  /** Text of the 226 reply. */
  completeText?: string;
}

/** Why a transfer ended early. */
export type AbortReason = "abort" | "stall" | "shutdown";

/** What the transfer needs from its session. */
export interface TransferHost {
  reply(code: number, text: string): Promise<void>;
  /** Opens (passive: takes) the data connection; rejects with FtpError 425 on failure. */
  connect(signal: AbortSignal): Promise<DataConnection>;
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

/** A running transfer. */
export class Transfer {
  readonly spec: TransferSpec;
  readonly startedAt = Date.now();
  /** Bytes moved so far. */
  bytes = 0;
  /** When the last byte moved (or the transfer started). */
  lastProgress = this.startedAt;
  /** Resolves after the final reply has been written. Never rejects. */
  readonly done: Promise<void>;
  #abortReason: AbortReason | null = null;
  readonly #controller = new AbortController();
  #connection: DataConnection | null = null;
  readonly #host: TransferHost;

  constructor(spec: TransferSpec, host: TransferHost) {
    this.spec = spec;
    this.#host = host;
    this.done = this.#run();
  }

  /** Ends the transfer early: its final reply will be 426. */
  abort(reason: AbortReason): void {
    if (this.#abortReason !== null) return;
    this.#abortReason = reason;
    this.#controller.abort();
    this.#closeConnection();
  }

  async #run(): Promise<void> {
    const { spec } = this;
    let code = 226;
    let result: TransferRecord["result"] = "ok";
    let failure: unknown;
    try {
      await this.#host.reply(150, spec.openingText);
      try {
        this.#connection = await this.#host.connect(this.#controller.signal);
      } catch (error) {
        throw this.#abortReason ? error : toFtpError(error, 425, "Can't open data connection.");
      }
      if (this.#abortReason) throw new FtpError(426, "Transfer aborted.");
      await this.#pump(this.#connection);
      await this.#connection.finish?.();
      this.#closeConnection();
      await this.#host.reply(226, spec.completeText ?? "Transfer complete.");
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

  #pump(connection: DataConnection): Promise<number> {
    const { plan, ascii } = this.spec;
    const onChunk = (bytes: number) => {
      this.bytes += bytes;
      this.lastProgress = Date.now();
    };
    if (plan.direction === "send") {
      const source = ascii ? plan.source.pipeThrough(toNetworkAscii()) : plan.source;
      return pump(source, connection.writable, onChunk);
    }
    const source = ascii
      ? connection.readable.pipeThrough(fromNetworkAscii())
      : connection.readable;
    return pump(source, plan.sink, onChunk);
  }

  /** The final reply for a failed or aborted transfer. */
  #failureReply(error: unknown): { code: number; text: string; unexpected: boolean } {
    if (this.#abortReason === "stall") {
      return { code: 426, text: "Transfer timed out; transfer aborted.", unexpected: false };
    }
    if (this.#abortReason) return { code: 426, text: "Transfer aborted.", unexpected: false };
    if (error instanceof PumpError) {
      const networkSide = this.spec.plan.direction === "send" ? "sink" : "source";
      if (error.side === networkSide) {
        return { code: 426, text: "Connection closed; transfer aborted.", unexpected: false };
      }
      return toReply(error.cause);
    }
    return toReply(error);
  }

  /** Releases the storage side when the bytes never flowed (pump releases it otherwise). */
  #discard(reason: unknown): void {
    const { plan } = this.spec;
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
