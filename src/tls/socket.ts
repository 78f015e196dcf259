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
 * How the end of a connection is told apart, since Deno's TLSSocket says little about it
 * (measured on Deno 2.9.6): its `'end'` event comes both for a close_notify and for a bare TCP
 * FIN, and its write callbacks report success even when the TCP connection under it was reset.
 * So the TCP side is watched here, in the duplex stream TLS runs over: a FIN seen there before
 * TLS ended means no close_notify came (a close_notify is processed, and `'end'` emitted, while
 * the record that carries it is delivered, before the next TCP read can return the FIN); a failed
 * TCP write or read means every later (and the pending) TLS write must fail.
 *
 * @module
 */

import { Duplex } from "node:stream";
import { type SecureContext, TLSSocket } from "node:tls";
import type { ByteConnection } from "../io.ts";
import { type ClientHelloInfo, parseClientHello } from "./client_hello.ts";
import { TlsClosedError } from "./errors.ts";

/** Bytes of ciphertext read from the TCP connection at a time. */
const READ_SIZE = 64 * 1024;
/**
 * Most plaintext bytes one `write()` hands to TLS. A write is confirmed once its ciphertext has
 * reached the TCP connection, so this is how exactly a cut-short transfer can say how much it
 * sent. The size costs nothing measurable: a 512 MiB RETR with curl over PROT P ran at 415-500
 * MB/s with 64 KiB, 256 KiB and 1 MiB pieces alike (2 shared cores, noisy), 345-387 MB/s before.
 */
const WRITE_PIECE = 256 * 1024;
/**
 * When the peer goes away (close_notify, reset on the read side), a write still waiting gets
 * this long for its confirmation: its ciphertext may have reached TCP a moment before, with the
 * confirmation a turn behind (Deno's TLS layer confirms through setImmediate). A write blocked
 * on a full TCP buffer is failed after it, so a peer that stopped reading cannot pin it.
 */
const STOP_GRACE_MS = 250;
/** Ciphertext kept from the start of a connection to read the ClientHello from. */
const HELLO_LIMIT = 16 * 1024;

/** Options of {@linkcode TlsChannel.accept}. */
export interface TlsAcceptOptions {
  /** Ciphertext already read from the connection (the ClientHello that revealed implicit TLS). */
  initial?: Uint8Array;
  /** Drop a first LF: the end of the `AUTH TLS\r\n` line, arriving late. */
  skipLeadingLF?: boolean;
  /** The handshake must finish within this time. */
  timeoutMs: number;
  /** Aborting it fails a handshake in progress. */
  signal?: AbortSignal;
  /**
   * A TCP close without the peer's TLS close_notify makes `read()` and `readable` fail with
   * {@linkcode TlsClosedError} `truncated` instead of ending normally. An upload cut short by an
   * attacker or a broken middlebox then fails (426) instead of being stored as complete. vsftpd
   * does the same with `strict_ssl_read_eof=YES`. Turn it off only for clients that never send
   * close_notify.
   *
   * @default {true}
   */
  requireCloseNotify?: boolean;
}

/** The TCP side as the channel sees it; the callbacks are set once the handshake is done. */
interface Transport {
  /** Ciphertext bytes the TCP connection has taken. */
  delivered: number;
  /** A TCP write failed, or bytes handed to TCP were dropped: nothing more gets through. */
  writeFailed: boolean;
  /** The first ciphertext read (the ClientHello), until the handshake is done. */
  hello: Uint8Array[] | null;
  /** The peer sent FIN. */
  ended(): void;
  /** A TCP read or write failed. */
  failed(error: unknown): void;
}

/**
 * A TLS connection, usable as control channel and as data connection.
 *
 * @example
 * ```ts ignore
 * import { createSecureContext } from "node:tls";
 * import { TlsChannel } from "./socket.ts";
 *
 * const context = createSecureContext({ cert, key });
 * const channel = await TlsChannel.accept(conn, context, { timeoutMs: 10_000 });
 * await channel.write(new TextEncoder().encode("hello"));
 * await channel.finish(); // close_notify
 * channel.close();
 * ```
 */
export class TlsChannel {
  readonly #socket: TLSSocket;
  readonly #conn: ByteConnection;
  readonly #gate: Gate;
  readonly #requireCloseNotify: boolean;
  readonly #transport: Transport;
  #readable: ReadableStream<Uint8Array> | null = null;
  #writable: WritableStream<Uint8Array> | null = null;
  #reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  #leftover: Uint8Array | null = null;
  #closed = false;
  /** The peer's FIN has been read from the TCP connection. */
  #tcpEnded = false;
  /** Why writes fail from now on. */
  #stopped: TlsClosedError | null = null;
  readonly #onStop = new Set<(error: TlsClosedError) => void>();
  #bytesWritten = 0;
  #protocol: string | null = null;
  #clientHello: ClientHelloInfo | null = null;

  private constructor(
    socket: TLSSocket,
    conn: ByteConnection,
    gate: Gate,
    transport: Transport,
    requireCloseNotify: boolean,
  ) {
    this.#socket = socket;
    this.#conn = conn;
    this.#gate = gate;
    this.#transport = transport;
    this.#requireCloseNotify = requireCloseNotify;
  }

  /**
   * Performs the server side of a TLS handshake on `conn`. `initial` holds ciphertext already
   * read from the connection (the ClientHello that revealed implicit TLS). Rejects, closing
   * `conn`, when the handshake fails or takes longer than `timeoutMs`.
   */
  static accept(
    conn: ByteConnection,
    context: SecureContext,
    options: TlsAcceptOptions,
  ): Promise<TlsChannel> {
    const gate = new Gate();
    const transport: Transport = {
      delivered: 0,
      writeFailed: false,
      hello: [],
      ended: () => {},
      failed: () => {},
    };
    const duplex = connDuplex(
      conn,
      gate,
      options.initial,
      options.skipLeadingLF ?? false,
      transport,
    );
    const socket = new TLSSocket(duplex, { isServer: true, secureContext: context });
    const channel = new TlsChannel(
      socket,
      conn,
      gate,
      transport,
      options.requireCloseNotify ?? true,
    );
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
      transport.ended = onClose;
      socket.once("secure", () => {
        cleanup();
        channel.#watch();
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

  /**
   * What the client's ClientHello offered for resumption (null if it could not be read). When a
   * data connection did not resume, this tells why: no session ticket offered means the client
   * resumes by session ID only, which Deno's TLS server cannot do (see `client_hello.ts`).
   */
  get clientHello(): ClientHelloInfo | null {
    return this.#clientHello;
  }

  /** The negotiated protocol, e.g. `TLSv1.3`. */
  get protocol(): string {
    return this.#protocol ?? this.#socket.getProtocol() ?? "unknown";
  }

  /**
   * Plaintext bytes sent so far whose ciphertext the TCP connection has taken: what a transfer
   * that was cut short really sent (to within one write of {@linkcode write}).
   */
  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  /**
   * Plaintext from the client. It ends at the client's close_notify. A TCP close without one
   * is an error ({@linkcode TlsClosedError} `truncated`) unless `requireCloseNotify` was turned
   * off, and a reset is always one (`reset`).
   */
  get readable(): ReadableStream<Uint8Array> {
    return this.#readable ??= socketReadable(this.#socket, this.#gate, {
      ended: () => this.#peerEnded(),
      failed: (cause) => this.#stop(new TlsClosedError("reset", { cause })),
    });
  }

  /** Plaintext to the client; closing it sends close_notify, then FIN. */
  get writable(): WritableStream<Uint8Array> {
    return this.#writable ??= new WritableStream<Uint8Array>({
      write: async (chunk) => {
        let offset = 0;
        while (offset < chunk.length) offset += await this.write(chunk.subarray(offset));
      },
      close: () => this.finish(),
      abort: () => this.close(),
    });
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

  /**
   * Writes plaintext: at most 256 KiB of `bytes` per call (the count is returned, as
   * `Deno.Conn.write` does). Resolves once the ciphertext has been handed to the TCP connection.
   * Rejects with {@linkcode TlsClosedError} once the peer has reset the connection, or has sent
   * close_notify on TLS 1.2 (where it ends both directions, RFC 5246 §7.2.1) — also a write
   * already waiting, so that a client that stops reading and closes cannot leave a download
   * pinned, or counted as sent.
   */
  write(bytes: Uint8Array): Promise<number> {
    if (this.#stopped) return Promise.reject(this.#stopped);
    const piece = bytes.length > WRITE_PIECE ? bytes.subarray(0, WRITE_PIECE) : bytes;
    const transport = this.#transport;
    const before = transport.delivered;
    return new Promise((resolve, reject) => {
      let settled = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const settle = () => {
        settled = true;
        clearTimeout(timer);
        this.#onStop.delete(onStop);
      };
      const fail = (error: TlsClosedError) => {
        if (settled) return;
        settle();
        reject(error);
      };
      const onStop = (error: TlsClosedError) => {
        if (transport.writeFailed || this.#closed) return fail(error);
        timer ??= setTimeout(() => fail(error), STOP_GRACE_MS);
      };
      this.#onStop.add(onStop);
      this.#socket.write(piece, (error) => {
        if (settled) return;
        // The callback says success even when the TCP write under it failed, or never happened
        // (a destroyed transport drops it): what counts is what TCP took. Ciphertext is never
        // shorter than its plaintext.
        if (!transport.writeFailed && transport.delivered - before >= piece.length) {
          settle();
          this.#bytesWritten += piece.length;
          return resolve(piece.length);
        }
        fail(this.#stopped ?? new TlsClosedError("reset", error ? { cause: error } : undefined));
      });
    });
  }

  /**
   * Sends close_notify (once) and resolves when it has been handed to the TCP connection, or
   * at once when that connection has failed. It does not fail when the peer is gone: after a
   * complete transfer, a client may close before our close_notify, and that is no error.
   */
  finish(): Promise<void> {
    return new Promise((resolve) => {
      const socket = this.#socket;
      if (socket.destroyed || socket.writableEnded || this.#transport.writeFailed) return resolve();
      const done = () => {
        socket.off("close", done);
        resolve();
      };
      socket.once("close", done);
      socket.end(done);
    });
  }

  /** Ends our side: close_notify then FIN, while the client's side can still be read. */
  closeWrite(): Promise<void> {
    return this.finish();
  }

  /** Closes TLS and the TCP connection; writes still waiting fail. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stop(new TlsClosedError("reset"));
    this.#socket.destroy();
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }

  /** From the end of the handshake on: follow the TCP side and the TLS socket. */
  #watch(): void {
    this.#protocol = this.#socket.getProtocol();
    const hello = this.#transport.hello ?? [];
    this.#transport.hello = null;
    this.#clientHello = parseClientHello(hello.length === 1 ? hello[0] : concat(hello));
    this.#transport.ended = () => {
      this.#tcpEnded = true;
    };
    this.#transport.failed = (cause) => this.#stop(new TlsClosedError("reset", { cause }));
    // Reading starts now, not at the first read(): the peer's close_notify, FIN or reset must
    // be seen while we only send (RETR, LIST). Backpressure still holds (see Gate).
    void this.readable;
  }

  /**
   * The TLS socket ended: by a close_notify, or by the FIN under it. Returns the error the
   * readable must end with, or null for a clean end.
   */
  #peerEnded(): TlsClosedError | null {
    if (this.#tcpEnded) {
      // No close_notify. The peer may still read (a half-close), so writes go on until the
      // connection fails; what it sent, though, may have been cut short.
      return this.#requireCloseNotify ? new TlsClosedError("truncated") : null;
    }
    // TLS 1.3 lets the peer read on after its close_notify (RFC 8446 §6.1); TLS 1.2 does not.
    if (this.protocol !== "TLSv1.3") this.#stop(new TlsClosedError("closed"));
    return null;
  }

  #stop(error: TlsClosedError): void {
    if (this.#stopped) return;
    this.#stopped = error;
    for (const onStop of this.#onStop) onStop(error);
    this.#onStop.clear();
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

/** What the readable reports to its channel. */
interface ReadableHooks {
  /** The TLS socket ended; returns the error to end with, or null for a clean end. */
  ended(): Error | null;
  /** The TLS socket closed or failed before it ended. */
  failed(error: Error): void;
}

/** The TLS socket's plaintext as a ReadableStream. */
function socketReadable(
  socket: TLSSocket,
  gate: Gate,
  hooks: ReadableHooks,
): ReadableStream<Uint8Array> {
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
      socket.on("end", () => {
        const error = hooks.ended();
        if (error) fail(error);
        else finish();
      });
      // A 'close' without 'end' before it is a reset: what was being read is cut.
      socket.on("close", () => {
        const error = new TlsClosedError("reset");
        hooks.failed(error);
        fail(error);
      });
      socket.on("error", (cause: Error) => {
        const error = new TlsClosedError("reset", { cause });
        hooks.failed(error);
        fail(error);
      });
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

/** A Node duplex stream over a Deno connection: what `TLSSocket` encrypts into. */
function connDuplex(
  conn: ByteConnection,
  gate: Gate,
  initial: Uint8Array | undefined,
  skipLeadingLF: boolean,
  transport: Transport,
): Duplex {
  let first = initial && initial.length > 0 ? initial : null;
  let skipLF = skipLeadingLF && first === null;
  let kept = 0;
  const keep = (chunk: Uint8Array) => {
    if (transport.hello === null || kept >= HELLO_LIMIT) return;
    transport.hello.push(chunk.slice(0, HELLO_LIMIT - kept));
    kept += chunk.length;
  };
  return new Duplex({
    read() {
      if (first) {
        const chunk = first;
        first = null;
        keep(chunk);
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
              // Before the push: the TLS socket's 'end' that follows must know it came from here.
              transport.ended();
              return void this.push(null);
            }
            let start = 0;
            if (skipLF) {
              skipLF = false;
              if (buffer[0] === 0x0a) start = 1;
            }
            // An empty push would stall the stream: read again instead.
            if (start === n) return pull();
            keep(buffer.subarray(start, n));
            this.push(buffer.subarray(start, n));
          },
          (error) => {
            transport.failed(error);
            this.destroy(error);
          },
        );
      };
      pull();
    },
    write(chunk: Uint8Array, _encoding, callback) {
      writeAll(conn, chunk, transport).then(() => callback(), (error) => {
        transport.writeFailed = true;
        transport.failed(error);
        callback(error);
      });
    },
    final(callback) {
      conn.closeWrite().then(() => callback(), () => callback());
    },
    destroy(_error, callback) {
      // Bytes still queued for TCP are lost: the writes they belong to must not count as sent.
      if (this.writableLength > 0) transport.writeFailed = true;
      try {
        conn.close();
      } catch { /* already closed */ }
      callback(null);
    },
  });
}

async function writeAll(
  conn: ByteConnection,
  bytes: Uint8Array,
  transport: Transport,
): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    const n = await conn.write(bytes.subarray(offset));
    offset += n;
    transport.delivered += n;
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
