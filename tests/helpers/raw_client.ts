/**
 * A minimal FTP client over a raw socket, for tests that must see exact reply codes and bytes.
 * Every read has a deadline, so a server that fails to answer fails the test instead of hanging it.
 *
 * @module
 */

import { writeAll } from "../../src/io.ts";

/** One reply: its code, every line as sent (without CRLF), and the text of the last line. */
export interface Reply {
  code: number;
  lines: string[];
  text: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const DEFAULT_TIMEOUT_MS = 10_000;

/** Reads everything from a connection until the peer closes it. */
export async function readAll(
  conn: Deno.Conn,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(256 * 1024);
  let total = 0;
  const timer = setTimeout(() => conn.close(), timeoutMs);
  try {
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) break;
      chunks.push(buffer.slice(0, n));
      total += n;
    }
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed */ }
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/** Writes all bytes, then closes the connection (end of an upload). */
export async function writeAllAndClose(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  try {
    await writeAll(conn, bytes);
  } finally {
    conn.close();
  }
}

/**
 * Connects, logs in as `user` (USER + PASS, expecting 230) and switches to TYPE I; the
 * connection is closed when a step fails. `await using` the client.
 */
export async function loginAs(
  port: number,
  user: string,
  password: string,
  host = "127.0.0.1",
): Promise<RawClient> {
  const c = await RawClient.connect(port, host);
  try {
    await c.login(user, password);
    await c.expect("TYPE I", 200);
  } catch (error) {
    c.close();
    throw error;
  }
  return c;
}

/** A raw FTP control connection. */
export class RawClient implements AsyncDisposable {
  readonly conn: Deno.TcpConn;
  readonly host: string;
  #buffer = "";
  readonly #decoder = new TextDecoder();
  #closed = false;
  banner!: Reply;

  private constructor(conn: Deno.TcpConn, host: string) {
    this.conn = conn;
    this.host = host;
  }

  /** Connects and reads the greeting. */
  static async connect(port: number, host = "127.0.0.1"): Promise<RawClient> {
    const conn = await Deno.connect({ hostname: host, port });
    const client = new RawClient(conn, host);
    client.banner = await client.read();
    return client;
  }

  /** Sends one command line (CRLF added). */
  async send(line: string): Promise<void> {
    await this.sendRaw(encoder.encode(line + "\r\n"));
  }

  /** Sends raw bytes. */
  async sendRaw(bytes: Uint8Array): Promise<void> {
    await writeAll(this.conn, bytes);
  }

  /** Sends a command and reads its reply. */
  async command(line: string): Promise<Reply> {
    await this.send(line);
    return await this.read();
  }

  /** Sends a command and checks the reply code; returns the reply. */
  async expect(line: string, code: number): Promise<Reply> {
    const reply = await this.command(line);
    if (reply.code !== code) {
      throw new Error(`${line} → expected ${code}, got ${reply.lines.join(" | ")}`);
    }
    return reply;
  }

  /** Reads one complete reply, multi-line aware (RFC 959 §4.2). */
  async read(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Reply> {
    const first = await this.readLine(timeoutMs);
    const match = /^(\d{3})([ -])(.*)$/.exec(first);
    if (!match) throw new Error(`malformed reply line: ${JSON.stringify(first)}`);
    const lines = [first];
    if (match[2] === "-") {
      for (;;) {
        const line = await this.readLine(timeoutMs);
        lines.push(line);
        if (line.startsWith(match[1] + " ")) break;
      }
    }
    const last = lines[lines.length - 1];
    return { code: Number(match[1]), lines, text: last.slice(4) };
  }

  /** Reads one CRLF-terminated line. */
  async readLine(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const eol = this.#buffer.indexOf("\r\n");
      if (eol !== -1) {
        const line = this.#buffer.slice(0, eol);
        this.#buffer = this.#buffer.slice(eol + 2);
        return line;
      }
      const chunk = await this.#readChunk(deadline - Date.now());
      if (chunk === null) {
        throw new Error(`connection closed; pending: ${JSON.stringify(this.#buffer)}`);
      }
      this.#buffer += chunk;
    }
  }

  /** Resolves true when the server closes the connection within the deadline. */
  async closedByServer(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    try {
      for (;;) {
        const chunk = await this.#readChunk(deadline - Date.now());
        if (chunk === null) return true;
        this.#buffer += chunk;
      }
    } catch (error) {
      if (error instanceof Deno.errors.ConnectionReset) return true;
      throw error;
    }
  }

  async #readChunk(timeoutMs: number): Promise<string | null> {
    if (timeoutMs <= 0) throw new Error("timed out waiting for the server");
    const buffer = new Uint8Array(64 * 1024);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((
      resolve,
    ) => (timer = setTimeout(() => resolve("timeout"), timeoutMs)));
    try {
      const read = this.conn.read(buffer);
      read.catch(() => {}); // after a timeout the read rejects when we close; nobody awaits it
      const result = await Promise.race([read, timeout]);
      if (result === "timeout") {
        this.close();
        throw new Error(
          `timed out waiting for the server; pending: ${JSON.stringify(this.#buffer)}`,
        );
      }
      if (result === null) return null;
      // A UTF-8 character may be split across reads: decode as a stream.
      return this.#decoder.decode(buffer.subarray(0, result), { stream: true });
    } finally {
      clearTimeout(timer);
    }
  }

  /** USER + PASS, expecting 230. */
  async login(user: string, password: string): Promise<void> {
    await this.expect(`USER ${user}`, 331);
    await this.expect(`PASS ${password}`, 230);
  }

  /** EPSV, then connects to the announced port. */
  async epsv(): Promise<Deno.TcpConn> {
    const reply = await this.expect("EPSV", 229);
    const port = Number(/\(\|\|\|(\d+)\|\)/.exec(reply.text)?.[1]);
    return await Deno.connect({ hostname: this.host, port });
  }

  /** PASV, then connects to the announced address and port. */
  async pasv(): Promise<Deno.TcpConn> {
    const reply = await this.expect("PASV", 227);
    const numbers = /(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)/.exec(reply.text);
    if (!numbers) throw new Error(`bad 227: ${reply.text}`);
    const [h1, h2, h3, h4, p1, p2] = numbers.slice(1).map(Number);
    return await Deno.connect({ hostname: `${h1}.${h2}.${h3}.${h4}`, port: p1 * 256 + p2 });
  }

  /** Downloads with EPSV + `command` (RETR x, LIST, ...); checks 150 and 226. */
  async download(command: string): Promise<Uint8Array> {
    const data = await this.epsv();
    await this.expect(command, 150);
    const bytes = await readAll(data);
    const done = await this.read();
    if (done.code !== 226) {
      throw new Error(`${command} → expected 226, got ${done.lines.join(" | ")}`);
    }
    return bytes;
  }

  /** Downloads text (LIST, NLST, MLSD). */
  async listing(command: string): Promise<string> {
    return decoder.decode(await this.download(command));
  }

  /** Uploads with EPSV + `command` (STOR x, APPE x); checks 150 and 226. */
  async upload(command: string, bytes: Uint8Array): Promise<Reply> {
    const data = await this.epsv();
    await this.expect(command, 150);
    await writeAllAndClose(data, bytes);
    const done = await this.read();
    if (done.code !== 226) {
      throw new Error(`${command} → expected 226, got ${done.lines.join(" | ")}`);
    }
    return done;
  }

  /** Closes the control connection. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch { /* closed */ }
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}
