/**
 * One control connection: the loop that reads a command line and has it dispatched, the order
 * commands run in while a transfer runs, the timeouts, and the close.
 *
 * What the commands do is in `commands/`; what they may touch is the {@linkcode CommandContext}
 * this module builds (`context.ts`); replies, transfers and state are modules of their own.
 *
 * @module
 */

import { backgroundCommand } from "../commands/background.ts";
import { dispatch } from "../commands/dispatch.ts";
import { normalizeHost } from "../data/address.ts";
import type { SessionDataSetup } from "../data/setup.ts";
import type { Transfer } from "../data/transfer.ts";
import type { ByteConnection } from "../io.ts";
import { log } from "../log.ts";
import { Code } from "../protocol/codes.ts";
import { parseCommand } from "../protocol/command.ts";
import { LineReader, type LineResult } from "../protocol/line_reader.ts";
import type { TlsChannel } from "../tls/socket.ts";
import { tlsSupport } from "../tls/support.ts";
import { SessionContext } from "./context.ts";
import { ReplyWriter } from "./replies.ts";
import type { SessionServices } from "./services.ts";
import { SessionState } from "./state.ts";
import { TransferRunner } from "./transfers.ts";

/** The byte channel of the control connection (plain TCP, or TLS after AUTH TLS). */
export type ControlChannel = ByteConnection;

/** Over-long lines tolerated before the session is closed as abusive. */
const MAX_LONG_LINES = 3;
/** How long a TLS handshake (AUTH TLS) may take. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
/** An aborted transfer that has not ended after this long is cut off with its session. */
const STUCK_ABORT_MS = 5_000;
/** Commands read ahead while a transfer runs, at most (each waits its turn). */
const MAX_WAITING_COMMANDS = 4;
/**
 * How long an interrupt's answer waits for the read after it to return (see "interrupt"): a
 * read that has not returned by then is waiting for bytes not yet sent, which will wake it.
 */
const INTERRUPT_SETTLE_MS = 20;
/** How long a closing session waits for its last reply to be written. */
const CLOSE_WRITE_TIMEOUT_MS = 1_000;
/** How long a closing session keeps reading (and discarding) after its FIN, at most. */
export const LINGER_MS = 1_000;
/** The start of every reply and command chain: one settled promise, shared by all sessions. */
const SETTLED: Promise<void> = Promise.resolve();

/** One client's control connection. */
export class Session {
  readonly id: number;
  readonly services: SessionServices;
  /** Client address, IPv4-mapped IPv6 shown as IPv4. */
  readonly remoteHost: string;
  readonly remotePort: number;
  /** Our address as the client reached it, IPv4-mapped IPv6 shown as IPv4. */
  readonly localHost: string;
  readonly openedAt: number = Date.now();
  /** The protocol state. */
  readonly state: SessionState;
  readonly replies: ReplyWriter;
  /*
   * What only some sessions need is made on first use: an idle logged-in session holds little
   * more than its state, its reply writer and the read it waits in (`deno task bench --only idle`).
   */
  /** See {@linkcode Session.data}. */
  #data: SessionDataSetup | undefined;
  /** See {@linkcode Session.transfers}. */
  #transfers: TransferRunner | undefined;
  /** See {@linkcode Session.signal}; made when first asked for. */
  #lifetime: AbortController | undefined;
  /** The session's lifetime is over: a signal asked for from now on starts aborted. */
  #lifetimeOver = false;
  lastActivity: number = Date.now();
  /** The session has begun to close: commands are no longer run. */
  closed = false;
  /** The last command line, for the status page (the argument of PASS masked). */
  lastCommand: string | undefined;

  #channel: ControlChannel;
  readonly #conn: Deno.TcpConn;
  readonly #reader: LineReader;
  readonly #context: SessionContext;
  #longLines = 0;
  /** An interrupt was answered as ABOR: the ABOR line that follows it gets no second reply. */
  #swallowAbor = false;
  /** The next line, already being read (after an interrupt). */
  #nextLine: ReturnType<LineReader["readLine"]> | undefined;
  /** Commands waiting for a running transfer, and the chain that runs them in order. */
  #waiting = 0;
  #queue: Promise<void> = SETTLED;
  #lingerTimer: ReturnType<typeof setTimeout> | undefined;
  /** Wakes the running delays early; null while there are none. */
  #sleepers: Set<() => void> | null = null;
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
    services: SessionServices,
    channel: ControlChannel = conn,
    secure = false,
  ) {
    const { options } = services;
    this.services = services;
    this.id = services.nextSessionId();
    this.#conn = conn;
    this.#channel = channel;
    this.state = new SessionState(secure);
    this.#reader = new LineReader(channel, options.maxLineLength, options.maxPipelinedBytes);
    this.remoteHost = normalizeHost(conn.remoteAddr.hostname);
    this.remotePort = conn.remoteAddr.port;
    this.localHost = normalizeHost(conn.localAddr.hostname);
    this.replies = new ReplyWriter(this.#replyChannel(channel), this.id, services.transcript);
    this.#context = new SessionContext(this);
  }

  /** What PASV/EPSV or PORT/EPRT prepared for the next transfer (made at the first use). */
  get data(): SessionDataSetup {
    return this.#data ??= this.#createDataSetup();
  }

  /** The data setup if it has been made, without making it. */
  get dataIfMade(): SessionDataSetup | undefined {
    return this.#data;
  }

  /** A passive listener is open (for the status page: asks without making the setup). */
  get passiveListening(): boolean {
    return this.#data?.listening ?? false;
  }

  /** Runs this session's transfers (made at the first transfer). */
  get transfers(): TransferRunner {
    return this.#transfers ??= this.#createTransferRunner();
  }

  /** The running transfer, or null. */
  get transfer(): Transfer | null {
    return this.#transfers?.current ?? null;
  }

  /** Aborts the running transfer and waits for its 426; or cancels a passive arm. */
  abortTransfer(): Promise<boolean> {
    if (this.#transfers !== undefined) return this.#transfers.abort();
    this.#data?.cancel();
    return Promise.resolve(false);
  }

  /** Aborted when the session ends. */
  get signal(): AbortSignal {
    if (this.#lifetime === undefined) {
      this.#lifetime = new AbortController();
      if (this.#lifetimeOver) this.#lifetime.abort();
    }
    return this.#lifetime.signal;
  }

  #endLifetime(): void {
    this.#lifetimeOver = true;
    this.#lifetime?.abort();
  }

  #createDataSetup(): SessionDataSetup {
    const { services } = this;
    return services.createDataSetup({
      localHost: this.localHost,
      remoteHost: this.remoteHost,
      passivePorts: services.options.passivePorts,
      dataTimeoutMs: services.options.dataTimeoutMs,
      refused: (stranger) =>
        log.security.warning(
          "Refused data connection from {stranger} to session {session} of {remote}",
          { stranger, session: this.id, remote: this.remoteHost },
        ),
      exhausted: (range) =>
        services.events.emit({
          type: "passive-exhausted",
          session: this.id,
          remote: this.remoteHost,
          range: `${range.from}-${range.to}`,
        }),
    });
  }

  #createTransferRunner(): TransferRunner {
    return new TransferRunner({
      sessionId: this.id,
      remoteHost: this.remoteHost,
      state: this.state,
      services: this.services,
      replies: this.replies,
      data: this.data,
      beforeFirstTransfer: () => this.setNoDelay(),
      ended: (now) => (this.lastActivity = now),
      closed: () => this.closed,
    });
  }

  /** Serves the connection until QUIT, close, or error. Never rejects. */
  async run(): Promise<void> {
    this.services.events.emit({
      type: "session-opened",
      session: this.id,
      remote: this.remoteHost,
      remotePort: this.remotePort,
      secure: this.state.secure,
    });
    try {
      await this.replies.reply(Code.SERVICE_READY, this.services.options.banner);
      this.services.sessionStarted();
      const reader = this.#reader;
      let line: LineResult | null | undefined;
      for (;;) {
        // Not kept while the session waits for the next one: the last line may be a PASS.
        line = null;
        if (this.#nextLine !== undefined) {
          line = await this.#nextLine;
          this.#nextLine = undefined;
        } else {
          // Not `await reader.readLine()`: an idle session waits right here, in the socket's
          // read, with no promise chain of the reader's besides it.
          while ((line = reader.take()) === undefined) {
            if (!reader.received(await reader.read())) break;
          }
        }
        if (line === null || line === undefined) break;
        // A closing session reads on and discards until the client closes (lingering close).
        if (this.closed) continue;
        this.lastActivity = Date.now();
        await this.#handle(line);
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

  async #handle(line: Exclude<Awaited<ReturnType<LineReader["readLine"]>>, null>) {
    switch (line.kind) {
      case "too-long":
        await this.replies.reply(Code.UNKNOWN_COMMAND, "Command line too long.");
        if (++this.#longLines >= MAX_LONG_LINES) {
          log.security.warning(
            "Closing session {session} from {remote}: repeated over-long lines",
            {
              session: this.id,
              remote: this.remoteHost,
            },
          );
          this.close(Code.SERVICE_UNAVAILABLE, "Too many over-long command lines.");
        }
        return;
      case "bad-encoding":
        return await this.replies.reply(Code.SYNTAX_ERROR, "Command is not valid UTF-8.");
      case "interrupt": {
        // Answered now as the ABOR it announces; the ABOR line itself is dropped when it comes.
        this.#swallowAbor = true;
        // But first the next read is made, and allowed to return: the urgent DM that follows
        // IAC IP makes Linux end a read at the urgent mark, and after such a short read Deno's
        // reactor (tokio) forgets that more bytes are waiting. Bytes already queued then stay
        // unread until new ones arrive. Were the 226 sent first, the client's next command
        // could arrive before that short read and wait there for ever (1 ABOR in ~600 under
        // load hung so); sent after it, the command arrives later and wakes the read.
        const next = this.#reader.readLine();
        next.catch(() => {}); // awaited by the read loop, after this reply
        this.#nextLine = next;
        // (The delay's timer, if the read wins, ends on its own within the settle time.)
        await Promise.race([this.#reader.nextRead(), this.delay(INTERRUPT_SETTLE_MS)]);
        // As the ABOR command itself, so that it stops whatever runs: a transfer, or a command
        // running beside the loop (HASH).
        return await this.#command("ABOR");
      }
    }
    if (this.#swallowAbor) {
      this.#swallowAbor = false;
      if (/^abor\s*$/i.test(line.text)) return;
    }
    await this.#command(line.text);
  }

  /**
   * Runs a command now, or after the running transfer. RFC 959 §4.1.3: ABOR and STAT are served
   * while a transfer runs, even ahead of commands that wait for it (a keep-alive NOOP sent before
   * an ABOR must not hold the ABOR back).
   */
  async #command(text: string): Promise<void> {
    this.services.transcript?.record(this.id, "command", text);
    // A line with no verb goes the way of an unknown verb (500), in its turn.
    const { verb, arg } = parseCommand(text) ?? { verb: "", arg: "" };
    const spec = this.services.commands.get(verb);
    const running = this.transfer !== null;
    const served = spec?.duringTransfer === "always" ||
      (spec?.duringTransfer === "without-argument" && arg === "");
    if (running && served) return await this.#run(verb, arg);
    if (!running && this.#waiting === 0) return await this.#run(verb, arg);
    // Any other command waits for the transfer, in order; reading goes on so that an ABOR behind
    // it is seen, up to a few waiting commands (then the kernel holds the rest). A command that
    // switches the byte source (AUTH) stops reading until it has run.
    this.#waiting++;
    const turn = this.#queue.then(async () => {
      try {
        while (this.transfer) await this.transfer.done;
        if (!this.closed) await this.#run(verb, arg);
      } finally {
        this.#waiting--;
      }
    });
    this.#queue = turn.catch(() => {});
    // Once nothing waits, the chain starts afresh: an idle session keeps no settled promise.
    turn.finally(() => {
      if (this.#waiting === 0) this.#queue = SETTLED;
    }).catch(() => {});
    if (this.#waiting >= MAX_WAITING_COMMANDS || spec?.switchesChannel) await turn;
  }

  async #run(verb: string, arg: string): Promise<void> {
    this.lastCommand = verb === "PASS" ? "PASS ****" : arg === "" ? verb : `${verb} ${arg}`;
    const before = this.transfer;
    const beside = backgroundCommand(this.#context);
    await dispatch(this.#context, this.services.commands, verb, arg);
    const started = this.transfer;
    const besideNow = backgroundCommand(this.#context);
    const report = (code: number) =>
      this.services.events.emit({
        type: "command",
        session: this.id,
        remote: this.remoteHost,
        verb,
        code,
      });
    // A transfer command is answered by its final reply (226, 426...), not by the 150.
    if (started !== null && started !== before) started.done.then(() => report(started.finalCode));
    // So is one that runs beside the loop (HASH): by its 213/426, not by the reply before it.
    else if (besideNow !== undefined && besideNow !== beside) {
      besideNow.done.then(() => report(besideNow.code ?? this.replies.lastCode));
    } else report(this.replies.lastCode);
  }

  /**
   * Whether a command runs beside the loop (HASH) and is moving; one that has read nothing for
   * the stall timeout (a storage that stopped answering) is aborted, as a stalled transfer is.
   */
  #besideRunning(now: number, stallTimeoutMs: number): boolean {
    const beside = backgroundCommand(this.#context);
    if (beside === undefined) return false;
    if (now - beside.lastProgress < stallTimeoutMs) return true;
    beside.abort();
    return false;
  }

  /**
   * Upgrades the control connection to TLS after the 234 reply (AUTH TLS). Bytes the client
   * sent after the AUTH line already belong to the handshake.
   */
  async startTls(): Promise<void> {
    const tls = this.services.tls;
    if (tls === null) return;
    const { rest, expectLF } = this.#reader.switchSource(this.#channel);
    let channel: TlsChannel;
    try {
      channel = await tlsSupport().accept(this.#channel, tls.secureContext, {
        initial: rest,
        skipLeadingLF: expectLF,
        timeoutMs: HANDSHAKE_TIMEOUT_MS,
        // A control connection that ends without close_notify is just a hang-up.
        requireCloseNotify: false,
      });
    } catch (error) {
      this.#handshake(false);
      log.security.warning("TLS handshake with {remote} failed: {error}", {
        remote: this.remoteHost,
        error: error instanceof Error ? error.message : String(error),
      });
      this.close(); // the connection is in an unknown state: nothing more can be said
      return;
    }
    this.#handshake(true);
    this.#channel = channel;
    this.#reader.switchSource(channel);
    this.replies.switchChannel(this.#replyChannel(channel));
    this.state.secure = true;
  }

  #handshake(ok: boolean): void {
    this.services.events.emit({
      type: "tls-handshake",
      channel: "control",
      ok,
      session: this.id,
      remote: this.remoteHost,
    });
  }

  /**
   * Called periodically by the server: enforces the idle, stall and data-connection timeouts.
   * One sweep for all sessions costs less than a timer per session and per command.
   */
  tick(now: number): void {
    if (this.#ended) return;
    const { options } = this.services;
    const transfer = this.transfer;
    // A client that reads nothing can leave a reply unwritten for ever: writes have a deadline
    // too, and so has an aborted transfer that cannot get its 426 out. Then the channel is cut.
    const writingSince = this.replies.writingSince;
    const writeStuck = writingSince !== 0 &&
      now - writingSince >= Math.max(options.idleTimeoutMs, options.dataTimeoutMs);
    const idle = options.idleTimeoutMs; // 0: no idle timeout
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
    } else if (this.#besideRunning(now, options.stallTimeoutMs)) {
      this.lastActivity = now; // a HASH that reads on is not an idle session
    } else if (idle > 0 && !this.closed && now - this.lastActivity >= idle) {
      // Once: a closing session is not idle any more (`closed` skips this branch).
      log.session.info("Session {session} from {remote} timed out", {
        session: this.id,
        remote: this.remoteHost,
      });
      this.close(Code.SERVICE_UNAVAILABLE, "Timeout: closing control connection.");
      return;
    }
    this.#data?.tick(now, transfer !== null);
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
    this.#endLifetime();
    this.#wakeSleepers();
    const transfer = this.transfer;
    transfer?.abort("shutdown");
    if (transfer === null && code === undefined) return this.#shut(lingerMs);
    const last = (transfer?.done ?? Promise.resolve()).then(() =>
      code === undefined ? undefined : this.replies.reply(code, text ?? "Closing.")
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

  /**
   * A transfer writes 150 and then 226 with no client input between them: with Nagle the 226
   * would wait for the client's delayed ACK of the 150 (up to 40 ms per file). Set on the first
   * transfer only: a login-and-quit session never needs it, and setsockopt costs.
   */
  setNoDelay(): void {
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
      const sleepers = this.#sleepers ??= new Set();
      const wake = () => {
        clearTimeout(timer);
        sleepers.delete(wake);
        if (sleepers.size === 0 && this.#sleepers === sleepers) this.#sleepers = null;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      sleepers.add(wake);
    });
  }

  #wakeSleepers(): void {
    const sleepers = this.#sleepers;
    if (sleepers !== null) { for (const wake of [...sleepers]) wake(); }
  }

  #replyChannel(channel: ControlChannel) {
    return this.services.createReplyChannel(channel, {
      delay: (ms) => this.delay(ms),
      setNoDelay: () => this.setNoDelay(),
    });
  }

  #closeChannel(): void {
    try {
      this.#channel.close();
    } catch { /* already closed */ }
  }

  #cleanup(): void {
    this.closed = true;
    this.#ended = true;
    this.#endLifetime();
    clearTimeout(this.#lingerTimer);
    this.#wakeSleepers();
    this.transfer?.abort("shutdown");
    this.#data?.close();
    this.#closeChannel();
    this.services.events.emit({
      type: "session-closed",
      session: this.id,
      remote: this.remoteHost,
      user: this.state.identity?.name ?? this.state.pendingUser ?? undefined,
      durationMs: Date.now() - this.openedAt,
    });
    this.services.sessionEnded(this);
  }
}
