/**
 * One control connection: its state, and the loop that reads a command, checks it, runs its
 * handler and writes the reply.
 *
 * @module
 */

import type { Account, Authenticator } from "./auth.ts";
import { COMMANDS, UNIMPLEMENTED } from "./commands/registry.ts";
import { normalizeHost } from "./data/address.ts";
import type { ByteConnection } from "./io.ts";
import type { DataConnection } from "./data/connection.ts";
import { DataSetup } from "./data/setup.ts";
import {
  type AbortReason,
  Transfer,
  type TransferRecord,
  type TransferSpec,
} from "./data/transfer.ts";
import { FtpError, toReply } from "./errors.ts";
import { MLST_FACTS, type MlstFact } from "./listing/mlsx.ts";
import { log } from "./log.ts";
import type { ResolvedOptions } from "./options.ts";
import { parseCommand } from "./protocol/command.ts";
import { LineReader } from "./protocol/line_reader.ts";
import { encodeReply } from "./protocol/reply.ts";
import type { Storage } from "./storage/storage.ts";
import { resolvePath } from "./storage/vpath.ts";
import { type Faults, withFaults } from "./faults.ts";
import type { TlsContext } from "./tls/context.ts";
import type { Transcript } from "./transcript.ts";
import type { TlsChannel } from "./tls/socket.ts";
import { tlsSupport } from "./tls/support.ts";

/** What every session of one server shares. */
export interface SessionContext {
  readonly options: ResolvedOptions;
  readonly storage: Storage;
  readonly auth: Authenticator;
  /** TLS credentials, when FTPS is configured. */
  readonly tls: TlsContext | null;
  /** Records commands and replies, when asked for. */
  readonly transcript: Transcript | null;
  /** Port of a listener that never accepts (the `deadPassive` fault). */
  deadPassivePort(): number;
  /** Numbers login attempts server-wide, from 1 (the `rejectLogin` fault). */
  nextLoginAttempt(): number;
  /** Called once the banner of a session has been written. */
  sessionStarted(): void;
  /** Called once when a session has ended. */
  sessionEnded(session: Session): void;
  /** Records a failed login; returns how long to wait before answering. */
  loginFailed(session: Session, user: string): number;
  /** True while an address is banned for failed logins. */
  isBanned(ip: string): boolean;
}

/** The byte channel of the control connection (plain TCP, or TLS after AUTH TLS). */
export type ControlChannel = ByteConnection;

/** Default MLST facts: all of them (RFC 3659 §7.8 lets the server choose). */
const ALL_FACTS: ReadonlySet<MlstFact> = new Set(MLST_FACTS);
/** Over-long lines tolerated before the session is closed as abusive. */
const MAX_LONG_LINES = 3;
/** How long a TLS handshake (AUTH TLS, or on a protected data connection) may take. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
/** An aborted transfer that has not ended after this long is cut off with its session. */
const STUCK_ABORT_MS = 5_000;
/** Commands read ahead while a transfer runs, at most (each waits its turn). */
const MAX_WAITING_COMMANDS = 4;
/** How long a closing session waits for its last reply to be written. */
const CLOSE_WRITE_TIMEOUT_MS = 1_000;
/** How long a closing session keeps reading (and discarding) after its FIN, at most. */
export const LINGER_MS = 1_000;

let nextSessionId = 1;
const decoder = new TextDecoder();

/** One client's control connection. */
export class Session {
  readonly id: number = nextSessionId++;
  readonly ctx: SessionContext;
  /** Client address, IPv4-mapped IPv6 shown as IPv4. */
  readonly remoteHost: string;
  readonly remotePort: number;
  /** Our address as the client reached it, IPv4-mapped IPv6 shown as IPv4. */
  readonly localHost: string;
  readonly openedAt: number = Date.now();

  /** Logged-in identity, or null. */
  account: Account | null = null;
  /** Name from USER, waiting for PASS. */
  pendingUser: string | null = null;
  loginFailures = 0;
  /** Current directory, a virtual path. */
  cwd = "/";
  /** TYPE A (the RFC 959 default) or TYPE I. */
  ascii = true;
  /** Offset set by REST for the next RETR/STOR. */
  restOffset = 0;
  /** Path named by RNFR, for the RNTO that must follow. */
  renameFrom: string | null = null;
  /** What PASV/EPSV or PORT/EPRT prepared for the next transfer. */
  readonly data: DataSetup;
  /** After EPSV ALL, only EPSV may set up data connections (RFC 2428 §4). */
  epsvAll = false;
  mlstFacts: ReadonlySet<MlstFact> = ALL_FACTS;
  transfer: Transfer | null = null;
  lastActivity: number = Date.now();
  closed = false;
  /** The control connection is TLS (after AUTH TLS, or implicit TLS). */
  secure: boolean;
  /** PBSZ was sent (RFC 4217 §8: PROT needs it first). */
  pbszDone = false;
  /** PROT P: data connections are TLS too. Implicit TLS starts protected, as clients expect. */
  protectData: boolean;

  #channel: ControlChannel;
  readonly #conn: Deno.TcpConn;
  readonly #reader: LineReader;
  #writeChain: Promise<unknown> = Promise.resolve();
  #longLines = 0;
  /** An interrupt was answered as ABOR: the ABOR line that follows it gets no second reply. */
  #swallowAbor = false;
  /** Commands waiting for a running transfer, and the chain that runs them in order. */
  #waiting = 0;
  /** When the reply being written was started (0: none is). */
  #writingSince = 0;
  #queue: Promise<void> = Promise.resolve();
  #lingerTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #sleepers = new Set<() => void>();
  /** The session has been cleaned up: nothing may start a timer any more. */
  #ended = false;
  #noDelay = false;
  #quitCleanly = false;

  /**
   * @param channel what replies and commands go through: `conn` itself, or a TLS layer on it.
   * @param secure the channel is TLS (implicit TLS).
   */
  constructor(
    conn: Deno.TcpConn,
    ctx: SessionContext,
    channel: ControlChannel = conn,
    secure = false,
  ) {
    this.ctx = ctx;
    this.#conn = conn;
    this.#channel = channel;
    this.secure = secure;
    this.protectData = secure;
    this.#reader = new LineReader(
      channel,
      ctx.options.maxLineLength,
      ctx.options.maxPipelinedBytes,
    );
    this.remoteHost = normalizeHost(conn.remoteAddr.hostname);
    this.remotePort = conn.remoteAddr.port;
    this.localHost = normalizeHost(conn.localAddr.hostname);
    this.data = new DataSetup({
      localHost: this.localHost,
      remoteHost: this.remoteHost,
      passivePorts: ctx.options.passivePorts,
      dataTimeoutMs: ctx.options.dataTimeoutMs,
      ...(ctx.options.faults?.deadPassive ? { deadPassivePort: ctx.deadPassivePort } : {}),
      refused: (stranger) =>
        log.security.warning(
          "Refused data connection from {stranger} to session {session} of {remote}",
          { stranger, session: this.id, remote: this.remoteHost },
        ),
    });
  }

  /** The user name for logs. */
  get userName(): string {
    return this.account?.name ?? this.pendingUser ?? "-";
  }

  /** Serves the connection until QUIT, close, or error. Never rejects. */
  async run(): Promise<void> {
    log.session.info("Session {session} opened from {remote} port {port}", {
      session: this.id,
      remote: this.remoteHost,
      port: this.remotePort,
    });
    try {
      await this.reply(220, this.ctx.options.banner);
      this.ctx.sessionStarted();
      for (;;) {
        const line = await this.#reader.readLine();
        if (line === null) break;
        // A closing session reads on and discards until the client closes (lingering close).
        if (this.closed) continue;
        this.lastActivity = Date.now();
        if (line.kind === "too-long") {
          await this.reply(500, "Command line too long.");
          if (++this.#longLines >= MAX_LONG_LINES) {
            log.security.warning(
              "Closing session {session} from {remote}: repeated over-long lines",
              { session: this.id, remote: this.remoteHost },
            );
            this.close(421, "Too many over-long command lines.");
          }
          continue;
        }
        if (line.kind === "bad-encoding") {
          await this.reply(501, "Command is not valid UTF-8.");
          continue;
        }
        if (line.kind === "interrupt") {
          // Answered now as the ABOR it announces; the ABOR line itself is dropped when it comes.
          this.#swallowAbor = true;
          const aborted = await this.abortTransfer();
          await this.reply(226, aborted ? "ABOR successful." : "No transfer to abort.");
          continue;
        }
        if (this.#swallowAbor) {
          this.#swallowAbor = false;
          if (/^abor\s*$/i.test(line.text)) continue;
        }
        await this.#handleLine(line.text);
      }
    } catch (error) {
      if (!this.closed) {
        log.session.debug("Session {session} connection error: {error}", {
          session: this.id,
          error,
        });
      }
    } finally {
      this.#cleanup();
    }
  }

  /** Writes a reply. Replies are written in order, one after another. */
  reply(code: number, text: string | readonly string[]): Promise<void> {
    const bytes = encodeReply(code, text);
    this.ctx.transcript?.record(this.id, "reply", decoder.decode(bytes.subarray(0, -2)));
    const faults = this.ctx.options.faults;
    const write = faults ? () => this.#writeWithFaults(bytes, faults) : () => this.#writeAll(bytes);
    const written = this.#writeChain.then(write);
    this.#writeChain = written.catch(() => {});
    return written;
  }

  /** Resolves a client path against the current directory (see `vpath.ts`). */
  resolve(arg: string): string {
    return resolvePath(this.cwd, arg);
  }

  /** Takes the REST offset for this transfer command; it applies once. */
  takeRestOffset(): number {
    const offset = this.restOffset;
    this.restOffset = 0;
    return offset;
  }

  /**
   * Throws 425 unless PASV/EPSV or PORT/EPRT prepared a data connection, and 521 when policy
   * wants data protected and PROT P was not given (RFC 4217 §9).
   */
  requireDataChannel(): void {
    const { requireTls, requireTlsData } = this.ctx.options;
    if ((requireTls || requireTlsData) && !this.protectData) {
      throw new FtpError(521, "Data connections must be protected: use PROT P.");
    }
    if (!this.data.ready) {
      throw new FtpError(425, "Use PORT, EPRT, PASV or EPSV first.");
    }
  }

  /**
   * Upgrades the control connection to TLS after the 234 reply (AUTH TLS). Bytes the client
   * sent after the AUTH line already belong to the handshake.
   */
  async startTls(): Promise<void> {
    const tls = this.ctx.tls;
    if (tls === null) throw new FtpError(502, "TLS is not configured.");
    const { rest, expectLF } = this.#reader.switchSource(this.#channel);
    let channel: TlsChannel;
    try {
      channel = await tlsSupport().accept(this.#channel, tls.secureContext, {
        initial: rest,
        skipLeadingLF: expectLF,
        timeoutMs: HANDSHAKE_TIMEOUT_MS,
      });
    } catch (error) {
      log.security.warning("TLS handshake with {remote} failed: {error}", {
        remote: this.remoteHost,
        error: error instanceof Error ? error.message : String(error),
      });
      this.close(); // the connection is in an unknown state: nothing more can be said
      return;
    }
    this.#channel = channel;
    this.#reader.switchSource(channel);
    this.secure = true;
  }

  /** Starts a transfer beside the command loop (see `data/transfer.ts`). */
  startTransfer(spec: TransferSpec): void {
    // A transfer writes 150 and then 226 with no client input between them: with Nagle the 226
    // would wait for the client's delayed ACK of the 150 (up to 40 ms per file). Set on the
    // first transfer only: a login-and-quit session never needs it, and setsockopt costs.
    this.#setNoDelay();
    const faults = this.ctx.options.faults;
    const transfer = new Transfer(spec, {
      reply: (code, text) => this.reply(code, text),
      connect: (signal) => this.data.connect(signal),
      protect: (connection, signal) => this.#protectData(connection as Deno.TcpConn, signal),
      ...(faults ? { decorate: (plan, spec) => withFaults(plan, spec, faults) } : {}),
      finished: (record) => this.#transferFinished(record),
    });
    this.transfer = transfer;
    transfer.done.then(() => {
      if (this.transfer === transfer) this.transfer = null;
      this.lastActivity = Date.now();
      this.data.transferEnded(this.lastActivity);
    });
  }

  /** Aborts the running transfer (ABOR) and waits for its 426; or cancels a passive arm. */
  async abortTransfer(reason: AbortReason = "abort"): Promise<boolean> {
    const transfer = this.transfer;
    if (transfer === null) {
      this.data.cancel();
      return false;
    }
    transfer.abort(reason);
    await transfer.done;
    return true;
  }

  /** Resets the session to its just-connected state (REIN). */
  reinitialize(): void {
    this.account = null;
    this.pendingUser = null;
    this.cwd = "/";
    this.ascii = true;
    this.restOffset = 0;
    this.renameFrom = null;
    this.epsvAll = false;
    this.mlstFacts = ALL_FACTS;
    this.data.close();
  }

  /**
   * Called periodically by the server: enforces the idle, stall and data-connection timeouts.
   * One sweep for all sessions costs less than a timer per session and per command.
   */
  tick(now: number): void {
    const { options } = this.ctx;
    const transfer = this.transfer;
    // A client that reads nothing can leave a reply unwritten for ever: writes have a deadline
    // too, and so has an aborted transfer that cannot get its 426 out. Then the channel is cut.
    const writeStuck = this.#writingSince !== 0 &&
      now - this.#writingSince >= Math.max(options.idleTimeoutMs, options.dataTimeoutMs);
    if (
      writeStuck ||
      (transfer !== null && transfer.abortedAt !== 0 && now - transfer.abortedAt >= STUCK_ABORT_MS)
    ) {
      log.session.info("Session {session} from {remote} stopped reading: cut off", {
        session: this.id,
        remote: this.remoteHost,
      });
      this.closed = true;
      transfer?.abort("shutdown");
      this.#closeChannel();
      return;
    }
    if (transfer) {
      // Before bytes flow, the connect and the TLS handshake each have the data timeout: a
      // transfer not flowing after twice that (and a second) is stuck, e.g. in a storage open
      // that never returns. Once bytes flow, the stall timeout governs.
      const stalled = transfer.flowing
        ? now - transfer.lastProgress >= options.stallTimeoutMs
        : now - transfer.startedAt >= 2 * options.dataTimeoutMs + 1_000;
      if (stalled) transfer.abort("stall");
    } else if (now - this.lastActivity >= options.idleTimeoutMs) {
      log.session.info("Session {session} from {remote} timed out", {
        session: this.id,
        remote: this.remoteHost,
      });
      this.close(421, "Timeout: closing control connection.");
      return;
    }
    this.data.tick(now, transfer !== null);
  }

  /**
   * Ends the session, sending a last reply (e.g. 421) when given, after the 426 of a transfer it
   * aborts. The close lingers: we send FIN and keep reading for up to `lingerMs` before closing,
   * because closing a socket with unread input sends a reset, and a reset can destroy the
   * replies still on their way (a client that pipelined commands after QUIT would never see 221).
   */
  close(code?: number, text?: string, lingerMs = LINGER_MS): void {
    if (this.closed) return;
    this.closed = true;
    for (const wake of [...this.#sleepers]) wake();
    const transfer = this.transfer;
    transfer?.abort("shutdown");
    if (transfer === null && code === undefined) return this.#shut(lingerMs);
    const last = (transfer?.done ?? Promise.resolve()).then(() =>
      code === undefined ? undefined : this.reply(code, text ?? "Closing.")
    );
    Promise.race([last.catch(() => {}), this.delay(CLOSE_WRITE_TIMEOUT_MS)]).finally(() => {
      if (!this.#ended) this.#shut(lingerMs);
    });
  }

  /**
   * Closes the connection after the last reply. It lingers (FIN, then read and discard until the
   * client closes, for at most `lingerMs`) unless nothing unread is known: QUIT with no command
   * after it closes at once, the common case, and spares a shutdown() per session.
   */
  #shut(lingerMs: number): void {
    if (lingerMs <= 0 || this.#quitCleanly) return this.#closeChannel();
    this.#channel.closeWrite().catch(() => {});
    this.#lingerTimer = setTimeout(() => this.#closeChannel(), lingerMs);
  }

  /** QUIT answered, with no byte after it in our buffer: nothing for a reset to destroy. */
  quit(): void {
    this.#quitCleanly = !this.#reader.hasBuffered;
    this.close();
  }

  async #handleLine(text: string): Promise<void> {
    this.ctx.transcript?.record(this.id, "command", text);
    // A line with no verb goes the way of an unknown verb (500), in its turn.
    const { verb, arg } = parseCommand(text) ?? { verb: "", arg: "" };
    if (verb === this.ctx.options.faults?.dropAfter) {
      this.close(undefined, undefined, 0);
      return;
    }
    if (this.transfer) {
      // RFC 959 §4.1.3: ABOR and STAT are served while a transfer runs, even ahead of commands
      // that wait for it (a keep-alive NOOP sent before an ABOR must not hold the ABOR back).
      if (verb === "ABOR") {
        await this.abortTransfer();
        await this.reply(226, "ABOR successful.");
        return;
      }
      if (verb === "STAT" && arg === "") {
        const { spec, bytes } = this.transfer;
        await this.reply(213, `Status: ${spec.command} ${spec.path}, ${bytes} bytes transferred.`);
        return;
      }
    }
    if (this.transfer === null && this.#waiting === 0) return await this.#dispatch(verb, arg);
    // Any other command waits for the transfer, in order; reading goes on so that an ABOR behind
    // it is seen, up to a few waiting commands (then the kernel holds the rest). AUTH switches
    // the byte source under the reader: nothing more is read until it has run.
    this.#waiting++;
    const turn = this.#queue.then(async () => {
      try {
        while (this.transfer) await this.transfer.done;
        if (!this.closed) await this.#dispatch(verb, arg);
      } finally {
        this.#waiting--;
      }
    });
    this.#queue = turn.catch(() => {});
    if (this.#waiting >= MAX_WAITING_COMMANDS || verb === "AUTH") await turn;
  }

  async #dispatch(verb: string, arg: string): Promise<void> {
    const spec = COMMANDS.get(verb);
    // RFC 959 §4.1.3: RNTO must immediately follow RNFR.
    if (verb !== "RNTO" && verb !== "RNFR") this.renameFrom = null;
    if (spec === undefined) {
      await (UNIMPLEMENTED.has(verb)
        ? this.reply(502, `${verb} not implemented.`)
        : this.reply(500, "Syntax error, command unrecognized."));
      return;
    }
    if (
      this.ctx.options.requireTls && !this.secure && (verb === "USER" || verb === "PASS")
    ) {
      await this.reply(534, "TLS required: use AUTH TLS first.");
      return;
    }
    if (spec.auth !== false && this.account === null) {
      await this.reply(530, "Please login with USER and PASS.");
      return;
    }
    if ((spec.arg === "required" && arg === "") || (spec.arg === "none" && arg !== "")) {
      await this.reply(501, `Syntax: ${spec.help}`);
      return;
    }
    if (spec.write && !this.account?.write) {
      await this.reply(550, "Permission denied.");
      return;
    }
    try {
      await spec.run(this, arg);
    } catch (error) {
      const reply = toReply(error);
      if (reply.unexpected) {
        log.session.error("Session {session}: {verb} failed: {error}", {
          session: this.id,
          verb,
          error,
        });
      }
      await this.reply(reply.code, reply.text);
    }
  }

  /** TLS on the data connection under PROT P, after the 150 reply (clients start it then). */
  async #protectData(conn: Deno.TcpConn, signal: AbortSignal): Promise<DataConnection> {
    if (!this.protectData || this.ctx.tls === null) return conn;
    const channel = await tlsSupport().accept(conn, this.ctx.tls.dataContext, {
      timeoutMs: this.ctx.options.dataTimeoutMs,
      signal,
    }).catch((error) => {
      log.security.info("TLS handshake on a data connection of session {session} failed: {error}", {
        session: this.id,
        error: error instanceof Error ? error.message : String(error),
      });
      throw new FtpError(425, "TLS handshake on the data connection failed.");
    });
    // vsftpd and proftpd ask for this by default: it proves the data connection comes from the
    // client that holds the control session, not from someone racing to the passive port.
    if (this.ctx.options.requireTlsSessionReuse && !channel.sessionReused) {
      channel.close();
      throw new FtpError(522, "TLS session reuse required on the data connection.");
    }
    return channel;
  }

  #transferFinished(record: TransferRecord): void {
    const properties = {
      session: this.id,
      user: this.userName,
      remote: this.remoteHost,
      ...record,
    };
    if (record.error !== undefined) {
      log.transfer.error(
        "{command} {path} by {user} from {remote}: {bytes} bytes in {ms} ms, {result} ({code}): {error}",
        properties,
      );
    } else {
      log.transfer.info(
        "{command} {path} by {user} from {remote}: {bytes} bytes in {ms} ms, {result} ({code})",
        properties,
      );
    }
  }

  /** The `replyDelayMs` and `splitReplies` faults. */
  async #writeWithFaults(bytes: Uint8Array, faults: Faults): Promise<void> {
    if (faults.replyDelayMs) await this.delay(faults.replyDelayMs);
    if (!faults.splitReplies) return await this.#writeAll(bytes);
    this.#setNoDelay(); // or Nagle would join the lines again
    let start = 0;
    while (start < bytes.length) {
      const end = bytes.indexOf(0x0a, start) + 1 || bytes.length;
      await this.#writeAll(bytes.subarray(start, end));
      // A pause between lines, so that they leave in separate TCP segments.
      if (end < bytes.length) await this.delay(5);
      start = end;
    }
  }

  #setNoDelay(): void {
    if (this.#noDelay) return;
    this.#noDelay = true;
    try {
      this.#conn.setNoDelay(true);
    } catch { /* closed already */ }
  }

  /**
   * Waits `ms`, or less: closing the session cuts every delay short, so that no timer outlives
   * the session and a shutdown does not wait out a login-failure delay.
   */
  delay(ms: number): Promise<void> {
    if (this.#ended) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#sleepers.add(wake);
    });
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    this.#writingSince = Date.now();
    try {
      let offset = 0;
      while (offset < bytes.length) offset += await this.#channel.write(bytes.subarray(offset));
    } finally {
      this.#writingSince = 0;
    }
  }

  #closeChannel(): void {
    try {
      this.#channel.close();
    } catch { /* already closed */ }
  }

  #cleanup(): void {
    this.closed = true;
    this.#ended = true;
    clearTimeout(this.#lingerTimer);
    for (const wake of [...this.#sleepers]) wake();
    this.transfer?.abort("shutdown");
    this.data.close();
    this.#closeChannel();
    log.session.info("Session {session} from {remote} closed (user {user}, {seconds} s)", {
      session: this.id,
      remote: this.remoteHost,
      user: this.userName,
      seconds: Math.round((Date.now() - this.openedAt) / 100) / 10,
    });
    this.ctx.sessionEnded(this);
  }
}
