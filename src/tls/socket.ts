/**
 * Server-side TLS on an already accepted `Deno.Conn`: AUTH TLS on the control connection
 * (RFC 4217 §4), implicit TLS, and protected data connections (PROT P).
 *
 * Why `node:tls`: `Deno.startTls` is client-only and `Deno.listenTls` can only start TLS on a
 * fresh connection, but AUTH TLS upgrades a connection that has already spoken plain FTP, and
 * an active-mode data connection is one we dialled yet must serve as the TLS server (RFC 4217
 * §7). `node:tls` can wrap any duplex stream as a TLS server and tells whether a session was
 * resumed. The result is exposed again as Web Streams (`readable`/`writable`) so transfers pipe
 * TLS and plain connections alike, and as `read`/`write` for the control connection.
 *
 * @module
 */

import { Duplex } from "node:stream";
import { type SecureContext, TLSSocket } from "node:tls";
import type { ByteConnection } from "../io.ts";

/** Bytes of ciphertext read from the TCP connection at a time. */
const READ_SIZE = 64 * 1024;

/** A TLS connection, usable as control channel and as data connection. */
export class TlsChannel {
  readonly #socket: TLSSocket;
  readonly #conn: ByteConnection;
  readonly #gate: Gate;
  #readable: ReadableStream<Uint8Array> | null = null;
  #writable: WritableStream<Uint8Array> | null = null;
  #reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  #leftover: Uint8Array | null = null;
  #closed = false;

  private constructor(socket: TLSSocket, conn: ByteConnection, gate: Gate) {
    this.#socket = socket;
    this.#conn = conn;
    this.#gate = gate;
  }

  /**
   * Performs the server side of a TLS handshake on `conn`. `initial` holds ciphertext already
   * read from the connection (the ClientHello that revealed implicit TLS). Rejects, closing
   * `conn`, when the handshake fails or takes longer than `timeoutMs`.
   */
  static accept(
    conn: ByteConnection,
    context: SecureContext,
    options: {
      initial?: Uint8Array;
      /** Drop a first LF: the end of the `AUTH TLS\r\n` line, arriving late. */
      skipLeadingLF?: boolean;
      timeoutMs: number;
      signal?: AbortSignal;
    },
  ): Promise<TlsChannel> {
    const gate = new Gate();
    let onEnd = () => {};
    const transport = connDuplex(
      conn,
      gate,
      options.initial,
      options.skipLeadingLF ?? false,
      () => onEnd(),
    );
    const socket = new TLSSocket(transport, { isServer: true, secureContext: context });
    const channel = new TlsChannel(socket, conn, gate);
    return new Promise((resolve, reject) => {
      const fail = (error: unknown) => {
        cleanup();
        channel.close();
        reject(error instanceof Error ? error : new Error(String(error)));
      };
      const onAbort = () => fail(new Error("TLS handshake aborted"));
      const timer = setTimeout(() => fail(new Error("TLS handshake timed out")), options.timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        socket.off("error", fail);
        socket.off("close", onClose);
        options.signal?.removeEventListener("abort", onAbort);
      };
      const onClose = () => fail(new Error("connection closed during TLS handshake"));
      // Deno's TLSSocket does not report a peer that hangs up mid-handshake: we see it below.
      onEnd = onClose;
      socket.once("secure", () => {
        onEnd = () => {};
        cleanup();
        // Errors after the handshake surface through read/write; keep one listener so that an
        // 'error' event is never unhandled.
        socket.on("error", () => {});
        resolve(channel);
      });
      socket.once("error", fail);
      socket.once("close", onClose);
      options.signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** True when the client resumed an earlier TLS session (the control connection's). */
  get sessionReused(): boolean {
    return this.#socket.isSessionReused();
  }

  /** The negotiated protocol, e.g. `TLSv1.3`. */
  get protocol(): string {
    return this.#socket.getProtocol() ?? "unknown";
  }

  /**
   * Plaintext from the client. It ends at the client's close_notify, or at a TCP close without
   * one: like vsftpd's default, a missing close_notify is not treated as a truncation attack,
   * because many clients (curl among them) close that way.
   */
  get readable(): ReadableStream<Uint8Array> {
    return this.#readable ??= socketReadable(this.#socket, this.#gate);
  }

  /** Plaintext to the client; closing it sends close_notify, then FIN. */
  get writable(): WritableStream<Uint8Array> {
    return this.#writable ??= socketWritable(this.#socket);
  }

  /** Reads plaintext into `buffer` (the control connection's line reader uses this). */
  async read(buffer: Uint8Array): Promise<number | null> {
    let chunk = this.#leftover;
    this.#leftover = null;
    if (chunk === null) {
      this.#reader ??= this.readable.getReader();
      const result = await this.#reader.read();
      if (result.done) return null;
      chunk = result.value;
    }
    const n = Math.min(buffer.length, chunk.length);
    buffer.set(chunk.subarray(0, n));
    if (n < chunk.length) this.#leftover = chunk.subarray(n);
    return n;
  }

  /** Writes plaintext; resolves once the TLS layer has taken it. */
  write(bytes: Uint8Array): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#socket.write(bytes, (error) => (error ? reject(error) : resolve(bytes.length)));
    });
  }

  /** Sends close_notify (once) and resolves when it has been handed to the TCP connection. */
  finish(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#socket.destroyed || this.#socket.writableEnded) return resolve();
      this.#socket.end(() => resolve());
    });
  }

  /** Ends our side: close_notify then FIN, while the client's side can still be read. */
  closeWrite(): Promise<void> {
    return this.finish();
  }

  /** Closes TLS and the TCP connection. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.destroy();
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }
}

/**
 * Lets the consumer of the plaintext hold back reading from the TCP connection. Backpressure is
 * applied below TLS, not with pause()/resume() on the TLS socket: Deno's TLSSocket does not
 * resume reading its transport after a pause, so the end of an upload would never be seen.
 */
class Gate {
  #open = true;
  #waiters: (() => void)[] = [];

  close(): void {
    this.#open = false;
  }

  open(): void {
    this.#open = true;
    for (const waiter of this.#waiters.splice(0)) waiter();
  }

  /** Null when open; otherwise resolves when opened. */
  wait(): Promise<void> | null {
    return this.#open ? null : new Promise((resolve) => this.#waiters.push(resolve));
  }
}

/** The TLS socket's plaintext as a ReadableStream. */
function socketReadable(socket: TLSSocket, gate: Gate): ReadableStream<Uint8Array> {
  let done = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const finish = () => {
        if (done) return;
        done = true;
        gate.open();
        controller.close();
      };
      const fail = (error: Error) => {
        if (done) return;
        done = true;
        gate.open();
        controller.error(error);
      };
      socket.on("data", (chunk: Uint8Array) => {
        if (done) return;
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        if ((controller.desiredSize ?? 0) <= 0) gate.close();
      });
      // 'end' is a close_notify or a FIN; a 'close' without it is a reset: the upload is cut.
      socket.on("end", finish);
      socket.on("close", () => fail(new Error("connection reset")));
      socket.on("error", fail);
    },
    pull() {
      gate.open();
    },
    cancel() {
      done = true;
      gate.open();
      socket.destroy();
    },
  }, { highWaterMark: 4 });
}

/** A WritableStream into the TLS socket; close() sends close_notify and waits for the flush. */
function socketWritable(socket: TLSSocket): WritableStream<Uint8Array> {
  return new WritableStream<Uint8Array>({
    write(chunk) {
      return new Promise((resolve, reject) => {
        socket.write(chunk, (error) => (error ? reject(error) : resolve()));
      });
    },
    close() {
      return new Promise((resolve) => {
        if (socket.destroyed || socket.writableEnded) return resolve();
        socket.end(() => resolve());
      });
    },
    abort() {
      socket.destroy();
    },
  });
}

/** A Node duplex stream over a Deno connection: what `TLSSocket` encrypts into. */
function connDuplex(
  conn: ByteConnection,
  gate: Gate,
  initial: Uint8Array | undefined,
  skipLeadingLF: boolean,
  onEnd: () => void,
): Duplex {
  let first = initial && initial.length > 0 ? initial : null;
  let skipLF = skipLeadingLF && first === null;
  return new Duplex({
    read() {
      if (first) {
        const chunk = first;
        first = null;
        // On a later turn: bytes pushed before TLSSocket has started its handshake crash Deno's
        // TLS code (an uncaught TypeError in _start) when they are not a valid record.
        setTimeout(() => this.push(chunk), 0);
        return;
      }
      const pull = () => {
        const blocked = gate.wait();
        if (blocked) return void blocked.then(pull);
        const buffer = new Uint8Array(READ_SIZE);
        conn.read(buffer).then(
          (n) => {
            if (n === null) {
              onEnd();
              return void this.push(null);
            }
            let start = 0;
            if (skipLF) {
              skipLF = false;
              if (buffer[0] === 0x0a) start = 1;
            }
            // An empty push would stall the stream: read again instead.
            if (start === n) return pull();
            this.push(buffer.subarray(start, n));
          },
          (error) => this.destroy(error),
        );
      };
      pull();
    },
    write(chunk: Uint8Array, _encoding, callback) {
      writeAll(conn, chunk).then(() => callback(), callback);
    },
    final(callback) {
      conn.closeWrite().then(() => callback(), () => callback());
    },
    destroy(_error, callback) {
      try {
        conn.close();
      } catch { /* already closed */ }
      callback(null);
    },
  });
}

async function writeAll(conn: ByteConnection, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
}
