/**
 * One data transfer (RETR, STOR, APPE, STOU, LIST, NLST, MLSD), from the 150 reply to the final
 * reply. It runs beside the command loop, which keeps reading the control connection so that ABOR
 * and STAT are answered while bytes flow (RFC 959 §4.1.3).
 *
 * @module
 */

import { FtpError, toReply } from "../errors.ts";
import type { TransferDirection } from "../events.ts";
import { Code } from "../protocol/codes.ts";
import { type DataConnection, KeptConnection } from "./connection.ts";
import { CountingConnection } from "./counting.ts";
import { type Throttle, ThrottledConnection } from "../limits/throttled.ts";
import {
  type PipelineIo,
  type PipelineOutcome,
  receive,
  send,
  type TransferParameters,
} from "./pipeline.ts";
import { pump, PumpError } from "./pump.ts";
import type { CodecError } from "./representation/errors.ts";
import { MarkSender } from "./mark_sender.ts";

/** What a transfer moves, and where. */
export type TransferPlan =
  | { direction: "send"; source: ReadableStream<Uint8Array> }
  | { direction: "receive"; sink: WritableStream<Uint8Array> };

/** A transfer to start. */
export interface TransferSpec extends TransferParameters {
  /** The command, for logs and STAT. */
  command: string;
  /** The virtual path, for logs and STAT. */
  path: string;
  /** Upload, download or listing, for logs and metrics. */
  direction: TransferDirection;
  /** The REST offset it starts from (0 without REST), for logs. */
  offset: number;
  /** What to move, already opened (a download checked before anything else happens)... */
  plan?: TransferPlan;
  /**
   * ...or how to open it once the data connection exists: an upload changes nothing on disk
   * until the client has connected (a STOR that gets 425 must not have emptied the file).
   */
  open?: (signal: AbortSignal) => Promise<TransferPlan>;
  /** The bytes a download will send, when known (before any TYPE A conversion). */
  expectedBytes?: number;
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
  /** Makes (passive: takes) the data connection; rejects with FtpError 425 on failure. */
  connect(signal: AbortSignal): Promise<DataConnection>;
  /** Wraps the connection as the session requires (TLS under PROT P); after the 150 reply. */
  protect(connection: DataConnection, signal: AbortSignal): Promise<DataConnection>;
  /** Takes back a connection that a mode keeps open for the next transfer (MODE B, C). */
  keep(connection: KeptConnection): void;
  /** Reports the outcome once, for logs, metrics and events. */
  finished(record: TransferRecord): void;
  /** The user's bandwidth limits, when there are any. */
  throttle?: Throttle;
  /**
   * Resolves when an upload whose data has ended may be committed; rejects when the client is
   * gone (a killed client closes its data connection as if the file had ended: its control
   * connection closes at the same moment, and a truncated file must not replace the old one).
   */
  confirmUpload(): Promise<void>;
}

/** What the transfer log records. */
export interface TransferRecord {
  command: string;
  path: string;
  direction: TransferDirection;
  offset: number;
  /** Bytes that crossed the data connection. */
  bytes: number;
  ms: number;
  result: "ok" | "aborted" | "failed";
  /** The final reply code. */
  code: number;
  /** The data connection was TLS. */
  secure: boolean;
  /** TYPE E characters that had no code (sent or stored as SUB). */
  substituted: number;
  /** A completed STOR or STOU: the stored file's size (stored REST offset + bytes stored). */
  size?: number;
  /** The underlying error, for unexpected failures. */
  error?: unknown;
}

/**
 * After sending a file, how long to wait for the client to close the data connection before the
 * 226 goes out anyway. Clients read to end of file and close; sending the 226 after their close
 * makes it arrive in a read of its own: aria2 1.36 reads the final reply only on a new read event
 * and stalls for a minute when the 150 and the 226 arrive together. A client that waits for the
 * 226 before closing loses at most this long.
 */
export const CLIENT_CLOSE_WAIT_MS = 1_000;

/**
 * A running transfer. The order follows vsftpd: the data connection first, then the storage
 * side, then 150 (so a data connection that never comes is a plain 425, which every client
 * reads), then TLS on the data connection (clients start it after the 150), then the bytes.
 */
export class Transfer {
  readonly spec: TransferSpec;
  readonly startedAt = Date.now();
  /** Bytes moved so far, on the data connection. */
  bytes = 0;
  /** When the last byte moved (or the data connection was made). */
  lastProgress = this.startedAt;
  /** The data connection is up and bytes may flow: from here the stall timeout applies. */
  flowing = false;
  /** When it was aborted (0: it was not). */
  abortedAt = 0;
  /** The final reply code, once the transfer has ended (0 before). */
  finalCode = 0;
  /** How many bytes the transfer will move when that is known (a download: size − offset). */
  readonly expectedBytes: number | undefined;
  /** Resolves after the final reply has been written. Never rejects. */
  readonly done: Promise<void>;
  #abortReason: AbortReason | null = null;
  readonly #controller = new AbortController();
  #connection: DataConnection | null = null;
  /** 110 replies of a receiving MODE B/C transfer, one on its way at a time. */
  readonly #marks = new MarkSender((text) => this.#host.reply(Code.RESTART_MARKER, text));
  #secure = false;
  #plan: TransferPlan | null;
  readonly #host: TransferHost;

  constructor(spec: TransferSpec, host: TransferHost) {
    this.spec = spec;
    this.#host = host;
    this.#plan = spec.plan ?? null;
    this.expectedBytes = spec.expectedBytes;
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
    let code: number = Code.TRANSFER_COMPLETE;
    let result: TransferRecord["result"] = "ok";
    let failure: unknown;
    let substituted = 0;
    let size: number | undefined;
    try {
      let raw: DataConnection;
      try {
        raw = await this.#host.connect(signal);
      } catch (error) {
        throw this.#abortReason
          ? error
          : toFtpError(error, Code.CANT_OPEN_DATA, "Can't open data connection.");
      }
      this.#connection = raw;
      this.#checkAborted();
      const plan = this.#plan ?? await spec.open!(signal);
      this.#plan = plan;
      this.#checkAborted();
      const opening = spec.openingText;
      await this.#host.reply(
        Code.OPENING_DATA,
        typeof opening === "string" ? opening : opening(),
      );
      // A kept connection (MODE B, C) is protected already, and may hold the next file's start.
      const kept = raw instanceof KeptConnection ? raw : null;
      const initial = kept?.takeLeftover();
      const connection = kept ? kept.inner : await this.#host.protect(raw, signal);
      this.#secure = kept ? kept.secure : connection !== raw;
      this.#connection = connection;
      this.#checkAborted();
      this.flowing = true;
      this.lastProgress = Date.now();
      const throttle = this.#host.throttle;
      const limited = throttle ? new ThrottledConnection(connection, throttle, signal) : connection;
      const counted = new CountingConnection(limited, (bytes) => {
        this.bytes += bytes;
        this.lastProgress = Date.now();
      });
      const outcome = await this.#move(counted, plan, initial);
      substituted = outcome.substituted;
      if (outcome.stored !== undefined && spec.command !== "APPE") {
        size = (spec.storedOffset ?? 0) + outcome.stored;
      }
      if (outcome.keepsConnection) {
        this.#connection = null;
        this.#host.keep(new KeptConnection(connection, outcome.leftover, this.#secure));
      } else {
        await this.#end(connection, plan.direction);
      }
      await this.#marks.settled(); // a 110 after the final reply would answer the next command
      const complete = spec.completeText ?? "Transfer complete.";
      // RFC 959 §4.2: 226 closes the data connection; 250 when it stays open (MODE B, C).
      await this.#host.reply(
        outcome.keepsConnection ? Code.FILE_ACTION_OK : Code.TRANSFER_COMPLETE,
        typeof complete === "string" ? complete : complete(),
      );
      if (outcome.keepsConnection) code = Code.FILE_ACTION_OK;
    } catch (error) {
      this.#discard(error);
      await this.#endFailed();
      this.#closeConnection();
      const reply = this.#failureReply(error);
      code = reply.code;
      result = this.#abortReason ? "aborted" : "failed";
      if (reply.unexpected) failure = error;
      await this.#marks.settled();
      await this.#host.reply(reply.code, reply.text).catch(() => {});
    } finally {
      this.finalCode = code;
      this.#host.finished({
        command: spec.command,
        path: spec.path,
        direction: spec.direction,
        offset: spec.offset,
        bytes: this.bytes,
        ms: Date.now() - this.startedAt,
        result,
        code,
        secure: this.#secure,
        substituted,
        ...(size === undefined || result !== "ok" ? {} : { size }),
        ...(failure === undefined ? {} : { error: failure }),
      });
    }
  }

  #checkAborted(): void {
    if (this.#abortReason) throw new FtpError(Code.TRANSFER_ABORTED, "Transfer aborted.");
  }

  /** Moves the bytes through the representation and mode stages (raw when both are identity). */
  #move(
    connection: CountingConnection,
    plan: TransferPlan,
    initial: Uint8Array | undefined,
  ): Promise<PipelineOutcome> {
    const signal = this.#controller.signal;
    const io: PipelineIo = {
      connection,
      ...(initial ? { initial } : {}),
      pump: (source, sink, onChunk, framer) =>
        pump(
          source,
          sink,
          onChunk,
          signal,
          plan.direction === "receive" ? () => this.#host.confirmUpload() : undefined,
          framer,
        ),
      mark: (text) => this.#marks.mark(text),
    };
    return plan.direction === "send"
      ? send(this.spec, plan.source, io)
      : receive(this.spec, plan.sink, io);
  }

  /**
   * Ends a stream-mode data connection: TLS close_notify (Python's ftplib waits for it after an
   * upload), our FIN, and after a download the client's close, within a bound (see
   * {@linkcode CLIENT_CLOSE_WAIT_MS}).
   */
  async #end(connection: DataConnection, direction: TransferPlan["direction"]): Promise<void> {
    await connection.finish?.();
    if (direction === "send") {
      await connection.closeWrite().catch(() => {});
      await waitForClose(connection, CLIENT_CLOSE_WAIT_MS, this.#controller.signal);
    }
    this.#closeConnection();
  }

  /**
   * Ends a protected upload's connection after a refusal or a failure (552 quota, a storage
   * error) as on success: close_notify, then the client's rest read and dropped, each within a
   * bound. Python's ftplib ends every protected upload with `unwrap()`, which fails with
   * SSLEOFError on a close without close_notify: the client then reported a TLS error instead
   * of our 552, and the unread 552 became the answer to its next command. Not after ABOR or a
   * stall (the client asked for the close, or is not there), and not for a failed download:
   * there the close without close_notify tells a TLS client that the file is not whole.
   */
  async #endFailed(): Promise<void> {
    const connection = this.#connection;
    if (
      connection?.finish === undefined || !this.#secure || this.#abortReason !== null ||
      this.#plan?.direction !== "receive"
    ) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      connection.finish().catch(() => {}),
      new Promise((resolve) => timer = setTimeout(resolve, CLIENT_CLOSE_WAIT_MS)),
    ]);
    clearTimeout(timer);
    await waitForClose(connection, CLIENT_CLOSE_WAIT_MS, this.#controller.signal);
  }

  /** The final reply for a failed or aborted transfer. */
  #failureReply(error: unknown): { code: number; text: string; unexpected: boolean } {
    if (this.#abortReason === "stall") {
      return {
        code: Code.TRANSFER_ABORTED,
        text: "Transfer timed out; transfer aborted.",
        unexpected: false,
      };
    }
    if (this.#abortReason) {
      return { code: Code.TRANSFER_ABORTED, text: "Transfer aborted.", unexpected: false };
    }
    if (error instanceof PumpError) {
      // A codec's own failure (framing RFC 959 does not define: 451; a stream cut short before
      // its EOF: 426) names what was wrong; "connection closed" would blame the peer's close
      // for a connection this server closes because it cannot follow the framing.
      if (isCodecError(error.cause)) return replyFor(error.cause);
      const networkSide = this.#plan?.direction === "send" ? "sink" : "source";
      if (error.side === networkSide) {
        return {
          code: Code.TRANSFER_ABORTED,
          text: "Connection closed; transfer aborted.",
          unexpected: false,
        };
      }
      return replyFor(error.cause);
    }
    return replyFor(error);
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
    this.#connection = null;
  }
}

/**
 * By name: the codecs are loaded only when a transfer needs them (see pipeline.ts), and a
 * CodecError is an FtpError whose reply is already right.
 */
function isCodecError(error: unknown): error is CodecError {
  return error instanceof FtpError && error.name === "CodecError";
}

function replyFor(error: unknown): { code: number; text: string; unexpected: boolean } {
  const reply = toReply(error);
  return { code: reply.code, text: reply.text, unexpected: reply.unexpected };
}

function toFtpError(error: unknown, code: number, text: string): FtpError {
  return error instanceof FtpError ? error : new FtpError(code, text);
}

/** Where a client's stray bytes after a download go: read and dropped, so one buffer serves all. */
const DISCARD = new Uint8Array(512);

/** Reads and discards until the peer closes, an error, the deadline or the signal. */
async function waitForClose(
  connection: DataConnection,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
    onAbort = resolve;
    signal.addEventListener("abort", onAbort, { once: true });
  });
  const closed = (async () => {
    try {
      while ((await connection.read(DISCARD)) !== null) { /* a client has nothing to say here */ }
    } catch { /* a reset is a close too */ }
  })();
  try {
    await Promise.race([closed, deadline]);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", onAbort!);
  }
}
