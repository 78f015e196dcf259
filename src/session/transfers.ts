/**
 * A session's transfers: starting one beside the command loop, aborting it, TLS on its data
 * connection (PROT P), and reporting how it ended.
 *
 * @module
 */

import type { DataConnection } from "../data/connection.ts";
import type { SessionDataSetup } from "../data/setup.ts";
import {
  type AbortReason,
  Transfer,
  type TransferRecord,
  type TransferSpec,
} from "../data/transfer.ts";
import { FtpError } from "../errors.ts";
import { yieldToIo } from "../io.ts";
import type { Identity } from "../identity/identity.ts";
import { combineThrottles, type Throttle, throttleAt } from "../limits/throttled.ts";
import { log } from "../log.ts";
import { Code } from "../protocol/codes.ts";
import { tlsSupport } from "../tls/support.ts";
import type { ReplyWriter } from "./replies.ts";
import type { SessionServices } from "./services.ts";
import type { SessionState } from "./state.ts";

/** What the runner needs from its session. */
export interface TransferRunnerContext {
  readonly sessionId: number;
  readonly remoteHost: string;
  readonly state: SessionState;
  readonly services: SessionServices;
  readonly replies: ReplyWriter;
  readonly data: SessionDataSetup;
  /** Before the first transfer: Nagle off on the control connection (see `Session`). */
  beforeFirstTransfer(): void;
  /** A transfer ended (the session is active again). */
  ended(now: number): void;
  /** The session has begun to close (the client went away, or the server shuts it down). */
  closed(): boolean;
}

/** Starts, aborts and reports one session's transfers, one at a time. */
export class TransferRunner {
  readonly #context: TransferRunnerContext;
  /** The running transfer, or null. */
  current: Transfer | null = null;
  #session: { identity: Identity; throttle: Throttle | undefined } | undefined;

  constructor(context: TransferRunnerContext) {
    this.#context = context;
  }

  /** This session's own buckets for the logged-in user's per-session rates (kept per login). */
  #sessionThrottle(identity: Identity): Throttle | undefined {
    if (this.#session?.identity !== identity) {
      const limits = identity.limits;
      this.#session = {
        identity,
        throttle: throttleAt(
          limits?.sessionUploadBytesPerSecond,
          limits?.sessionDownloadBytesPerSecond,
        ),
      };
    }
    return this.#session.throttle;
  }

  /** Starts a transfer; it answers 150 and then the final reply itself. */
  start(spec: TransferSpec): void {
    const context = this.#context;
    context.beforeFirstTransfer();
    const identity = context.state.identity;
    const throttle = identity === null
      ? undefined
      : combineThrottles(context.services.throttleFor(identity), this.#sessionThrottle(identity));
    const transfer = new Transfer(spec, {
      reply: (code, text) => context.replies.reply(code, text),
      connect: (signal) => context.data.connect(signal),
      protect: (connection, signal) => this.#protect(connection, signal),
      keep: (connection) => context.data.keep(connection),
      finished: (record) => this.#finished(record),
      ...(throttle === undefined ? {} : { throttle }),
      confirmUpload: async () => {
        await yieldToIo(); // a control connection's end that arrived with the data's
        if (context.closed()) {
          throw new FtpError(Code.TRANSFER_ABORTED, "Control connection closed; upload discarded.");
        }
      },
    });
    this.current = transfer;
    transfer.done.then(() => {
      if (this.current === transfer) this.current = null;
      const now = Date.now();
      context.data.transferEnded(now);
      context.ended(now);
    });
  }

  /** Aborts the running transfer and waits for its 426; or cancels a passive arm. */
  async abort(reason: AbortReason = "abort"): Promise<boolean> {
    const transfer = this.current;
    if (transfer === null) {
      this.#context.data.cancel();
      return false;
    }
    transfer.abort(reason);
    await transfer.done;
    return true;
  }

  /** TLS on the data connection under PROT P, after the 150 reply (clients start it then). */
  async #protect(connection: DataConnection, signal: AbortSignal): Promise<DataConnection> {
    const { state, services, sessionId, remoteHost } = this.#context;
    const tls = services.tls;
    if (!state.protectData || tls === null) return connection;
    let channel;
    try {
      channel = await tlsSupport().accept(connection, tls.dataContext, {
        timeoutMs: services.options.dataTimeoutMs,
        signal,
        // A protected upload must end with close_notify: a bare FIN may be a cut (426).
        requireCloseNotify: !services.options.tlsAllowTruncatedUploads,
      });
    } catch (error) {
      services.events.emit({
        type: "tls-handshake",
        channel: "data",
        ok: false,
        session: sessionId,
        remote: remoteHost,
      });
      log.security.info("TLS handshake on a data connection of session {session} failed: {error}", {
        session: sessionId,
        error: error instanceof Error ? error.message : String(error),
      });
      throw new FtpError(Code.CANT_OPEN_DATA, "TLS handshake on the data connection failed.");
    }
    services.events.emit({
      type: "tls-handshake",
      channel: "data",
      ok: true,
      session: sessionId,
      remote: remoteHost,
    });
    // vsftpd and proftpd ask for this by default: it proves the data connection comes from the
    // client that holds the control session, not from someone racing to the passive port.
    if (services.options.requireTlsSessionReuse && !channel.sessionReused) {
      // Deno's TLS server resumes TLS 1.2 sessions by ticket only: a client that offers just a
      // session ID (curl with OpenSSL sets SSL_OP_NO_TICKET) can never resume here.
      log.security.info("Session {session}: data connection did not resume TLS ({why})", {
        session: sessionId,
        why: channel.clientHello?.ticketExtension === false
          ? "the client resumes by session ID only, which this server cannot do"
          : "the client started a new TLS session",
      });
      // close_notify first: it flushes our last handshake flight, so the client completes the
      // handshake and then sees a clean close (not a reset in the middle of it).
      await channel.finish().catch(() => {});
      channel.close();
      throw new FtpError(
        Code.PROTOCOL_NOT_SUPPORTED,
        "TLS session reuse required on the data connection.",
      );
    }
    return channel;
  }

  #finished(record: TransferRecord): void {
    const { state, services, sessionId, remoteHost } = this.#context;
    // Off the status first: whoever counts progress from the status and totals from the event
    // must not count these bytes twice. (The final reply has been written already.)
    this.current = null;
    services.events.emit({
      type: "transfer",
      session: sessionId,
      remote: remoteHost,
      user: state.userName,
      anonymous: state.identity?.anonymous ?? false,
      command: record.command,
      direction: record.direction,
      path: record.path,
      bytes: record.bytes,
      offset: record.offset,
      ...(record.size === undefined ? {} : { size: record.size }),
      durationMs: record.ms,
      result: record.result,
      code: record.code,
      representation: state.representation.type === "A" || state.representation.type === "E"
        ? "ascii"
        : "binary",
      secure: record.secure,
      ...(record.substituted > 0 ? { substituted: record.substituted } : {}),
      ...(record.error === undefined ? {} : { error: record.error }),
    });
  }
}
