/**
 * Small helpers for the integration tests that drive the server with {@linkcode RawClient}:
 * active-mode listeners, reply parsing, bounded waits, and a transcript of everything a server
 * said (for "this never appears anywhere" assertions).
 *
 * @module
 */

import { type RawClient, readAll, type Reply } from "./raw_client.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** UTF-8 bytes of a string. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** A string from UTF-8 bytes. */
export function text(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** Waits `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` until it holds; throws after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Rejects with a clear message when `promise` does not settle within `timeoutMs`. */
export async function withTimeout<T>(
  promise: Promise<T>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The `h1,h2,h3,h4,p1,p2` argument of PORT. */
export function portArgument(host: string, port: number): string {
  return `${host.replaceAll(".", ",")},${port >> 8},${port & 255}`;
}

/** The host and port announced by a 227 reply; throws when the reply is malformed. */
export function parsePasv(reply: Reply): { host: string; port: number } {
  const match = /\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)/.exec(reply.text);
  if (!match) throw new Error(`bad 227 reply: ${reply.text}`);
  const [h1, h2, h3, h4, p1, p2] = match.slice(1).map(Number);
  return { host: `${h1}.${h2}.${h3}.${h4}`, port: p1 * 256 + p2 };
}

/** The port announced by a 229 reply; throws when the reply is malformed. */
export function parseEpsv(reply: Reply): number {
  const match = /\(\|\|\|(\d+)\|\)/.exec(reply.text);
  if (!match) throw new Error(`bad 229 reply: ${reply.text}`);
  return Number(match[1]);
}

/**
 * Reads a data connection to its end and returns the bytes; the connection is closed after.
 * A reset from the server counts as an end.
 */
export async function drain(conn: Deno.Conn, timeoutMs = 10_000): Promise<Uint8Array> {
  try {
    return await readAll(conn, timeoutMs);
  } catch (error) {
    if (error instanceof Deno.errors.ConnectionReset) return new Uint8Array();
    throw error;
  }
}

/** Closes a connection, ignoring "already closed". */
export function closeQuietly(conn: Deno.Conn | Deno.Listener): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}

/** A listener for active-mode (PORT/EPRT) data connections made by the server. */
export class ActiveListener implements AsyncDisposable {
  readonly listener: Deno.Listener<Deno.TcpConn, Deno.NetAddr>;
  readonly port: number;
  readonly hostname: string;
  #closed = false;

  constructor(hostname = "127.0.0.1") {
    this.listener = Deno.listen({ hostname, port: 0 });
    this.port = this.listener.addr.port;
    this.hostname = hostname;
  }

  /** `PORT` argument for this listener (IPv4 only). */
  get portArgument(): string {
    return portArgument(this.hostname, this.port);
  }

  /** `EPRT` argument for this listener. */
  get eprtArgument(): string {
    return `|${this.hostname.includes(":") ? 2 : 1}|${this.hostname}|${this.port}|`;
  }

  /** Accepts the server's data connection; closes the listener and throws on timeout. */
  async accept(timeoutMs = 5_000): Promise<Deno.TcpConn> {
    const accepting = this.listener.accept();
    try {
      return await withTimeout(accepting, timeoutMs, "the server's data connection");
    } catch (error) {
      accepting.then((conn) => conn.close(), () => {});
      this.close();
      throw error;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.listener);
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

/**
 * Everything the server said to one client, replies and data, so that a test can assert that
 * some text (a path outside the root, a secret file's content) never appeared anywhere.
 */
export class Transcript {
  readonly #parts: string[] = [];
  readonly client: RawClient;

  constructor(client: RawClient) {
    this.client = client;
    this.#parts.push(...client.banner.lines);
  }

  /** Sends a command, records its reply, and returns it. */
  async command(line: string): Promise<Reply> {
    return this.record(await this.client.command(line));
  }

  /** Reads a reply (e.g. the one that ends a transfer) and records it. */
  async read(): Promise<Reply> {
    return this.record(await this.client.read());
  }

  /** Records a reply. */
  record(reply: Reply): Reply {
    this.#parts.push(...reply.lines);
    return reply;
  }

  /** Records data received over a data connection. */
  recordData(bytes: Uint8Array): Uint8Array {
    this.#parts.push(text(bytes));
    return bytes;
  }

  /** Everything recorded, one string. */
  get all(): string {
    return this.#parts.join("\n");
  }
}
