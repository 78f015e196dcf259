/**
 * Passive-mode data listeners (PASV, EPSV).
 *
 * A session owns at most one listener and re-arms it for each PASV/EPSV instead of opening a new
 * one per transfer: binding a port costs several syscalls and, with a narrow `--pasv-ports` range,
 * a port. Each PASV/EPSV is answered by exactly one accepted connection:
 *
 * - a connection that arrives while nothing is armed, or after one was already accepted for the
 *   current arm, is closed;
 * - a connection from an address other than the control connection's peer is closed without a byte
 *   sent, and the listener keeps waiting (a stranger racing to the port cannot steal a download);
 * - an arm that sees no connection before its deadline expires, and the transfer that wanted it
 *   gets 425.
 *
 * Time is driven from outside through {@linkcode PassiveListener.expire} (the server's sweeper),
 * so a waiting listener holds no timer of its own.
 *
 * @module
 */

import { FtpError } from "../errors.ts";
import { acceptLoop } from "../net/accept.ts";
import { Code } from "../protocol/codes.ts";
import { normalizeHost } from "./address.ts";

/** A port range for passive listeners, inclusive. */
export interface PortRange {
  /** Lowest port. */
  from: number;
  /** Highest port. */
  to: number;
}

type Waiter = { resolve: (conn: Deno.TcpConn) => void; reject: (error: Error) => void };

/** One session's passive data listener. */
export class PassiveListener {
  readonly #listener: Deno.Listener<Deno.TcpConn, Deno.NetAddr>;
  readonly #peer: string;
  readonly #onRefused: (remote: string) => void;
  /** When the current arm was made (ms since epoch); 0 when not armed. */
  #armedAt = 0;
  /** The connection accepted for the current arm, not yet taken by a transfer. */
  #ready: Deno.TcpConn | null = null;
  #waiter: Waiter | null = null;
  #expired = false;
  #closed = false;
  /** When the listener last finished serving (for closing idle listeners). */
  idleSince = Date.now();

  /** The port clients connect to. */
  readonly port: number;

  private constructor(
    listener: Deno.Listener<Deno.TcpConn, Deno.NetAddr>,
    peer: string,
    onRefused: (remote: string) => void,
  ) {
    this.#listener = listener;
    this.#peer = peer;
    this.#onRefused = onRefused;
    this.port = listener.addr.port;
    this.#acceptLoop();
  }

  /**
   * Opens a listener on `hostname`, on a port from `range` (any free port when absent).
   * Throws FtpError 425 when every port of the range is taken.
   *
   * @param peer the control connection's remote address: the only one allowed to connect.
   */
  static open(
    hostname: string,
    range: PortRange | undefined,
    peer: string,
    onRefused: (remote: string) => void,
  ): PassiveListener {
    if (!range) {
      return new PassiveListener(Deno.listen({ hostname, port: 0 }), peer, onRefused);
    }
    // Start at a random port so that concurrent sessions do not all probe from the bottom.
    const size = range.to - range.from + 1;
    const start = Math.floor(Math.random() * size);
    for (let i = 0; i < size; i++) {
      const port = range.from + (start + i) % size;
      try {
        return new PassiveListener(Deno.listen({ hostname, port }), peer, onRefused);
      } catch (error) {
        if (!(error instanceof Deno.errors.AddrInUse)) throw error;
      }
    }
    throw new FtpError(Code.CANT_OPEN_DATA, "No passive port available, try again later.");
  }

  /** Starts waiting for one connection, dropping anything left from a previous arm. */
  arm(now = Date.now()): void {
    this.#drop();
    this.#expired = false;
    this.#armedAt = now;
  }

  /** True while armed and waiting, or holding a connection for the next transfer. */
  get armed(): boolean {
    return this.#armedAt !== 0;
  }

  /**
   * The connection for the current arm, waiting for it if needed. Rejects with FtpError 425 when
   * the arm expired or there was none. Each arm yields at most one connection.
   */
  take(): Promise<Deno.TcpConn> {
    if (this.#ready) {
      const conn = this.#ready;
      this.#ready = null;
      this.#armedAt = 0;
      return Promise.resolve(conn);
    }
    if (this.#armedAt === 0 || this.#expired || this.#closed) {
      return Promise.reject(new FtpError(Code.CANT_OPEN_DATA, "Can't open data connection."));
    }
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  /** Gives up on a pending {@linkcode take} (ABOR while waiting). */
  cancel(): void {
    this.#armedAt = 0;
    this.#drop();
  }

  /** Expires the arm if no connection came within `timeoutMs` of arming. */
  expire(now: number, timeoutMs: number): void {
    if (this.#armedAt !== 0 && this.#ready === null && now - this.#armedAt >= timeoutMs) {
      this.#expired = true;
      this.#armedAt = 0;
      this.#drop();
    }
  }

  /** Closes the listener and anything it holds. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#drop();
    try {
      this.#listener.close();
    } catch { /* already closed */ }
  }

  #drop(): void {
    this.#ready?.close();
    this.#ready = null;
    const waiter = this.#waiter;
    this.#waiter = null;
    waiter?.reject(new FtpError(Code.CANT_OPEN_DATA, "Can't open data connection."));
  }

  #acceptLoop(): Promise<void> {
    return acceptLoop(this.#listener, (conn) => this.#offer(conn), { closing: () => this.#closed });
  }

  #offer(conn: Deno.TcpConn): void {
    const remote = normalizeHost(conn.remoteAddr.hostname);
    if (remote !== this.#peer) {
      this.#onRefused(remote);
      conn.close();
      return;
    }
    // Accepted just as the listener closed, outside an arm, or a second one for this arm.
    if (this.#closed || this.#armedAt === 0 || this.#ready !== null) {
      conn.close();
      return;
    }
    const waiter = this.#waiter;
    if (waiter) {
      this.#waiter = null;
      this.#armedAt = 0;
      waiter.resolve(conn);
    } else {
      this.#ready = conn;
    }
  }
}
