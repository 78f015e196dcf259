/**
 * Plain, explicit and implicit TLS on one port. An FTP client waits for the 220 greeting; a TLS
 * client speaks first, with a ClientHello whose first byte is 0x16 (a TLS handshake record).
 * So the server waits a short moment for a first byte before greeting: 0x16 means implicit TLS,
 * silence or anything else means plain FTP (where AUTH TLS can still upgrade).
 *
 * @module
 */

/** First byte of a TLS record carrying a handshake message (RFC 8446 §5.1). */
const TLS_HANDSHAKE_RECORD = 0x16;

/** What the first bytes said. */
export type SniffResult =
  | { kind: "tls"; initial: Uint8Array }
  | { kind: "plain"; channel: SniffedConn }
  | { kind: "closed" };

/**
 * Waits up to `timeoutMs` for the client's first bytes. On silence, the read stays pending and
 * is handed to the session through a {@linkcode SniffedConn}, so no byte is lost.
 */
export async function sniff(conn: Deno.Conn, timeoutMs: number): Promise<SniffResult> {
  const buffer = new Uint8Array(4096);
  const read = conn.read(buffer);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const silence = new Promise<"silence">((resolve) => {
    timer = setTimeout(() => resolve("silence"), timeoutMs);
  });
  let result: number | null | "silence";
  try {
    result = await Promise.race([read, silence]);
  } catch {
    return { kind: "closed" };
  } finally {
    clearTimeout(timer);
  }
  if (result === null) return { kind: "closed" };
  if (result === "silence") return { kind: "plain", channel: new SniffedConn(conn, read, buffer) };
  const bytes = buffer.slice(0, result);
  if (bytes[0] === TLS_HANDSHAKE_RECORD) return { kind: "tls", initial: bytes };
  return { kind: "plain", channel: new SniffedConn(conn, Promise.resolve(result), buffer) };
}

/** A connection whose first read was started by the sniffer. */
export class SniffedConn {
  readonly #conn: Deno.Conn;
  #pending: Promise<number | null> | null;
  readonly #firstBuffer: Uint8Array;
  #rest: Uint8Array | null = null;

  constructor(conn: Deno.Conn, pending: Promise<number | null>, buffer: Uint8Array) {
    this.#conn = conn;
    this.#pending = pending;
    this.#firstBuffer = buffer;
  }

  async read(buffer: Uint8Array): Promise<number | null> {
    if (this.#pending) {
      const n = await this.#pending;
      this.#pending = null;
      if (n === null) return null;
      this.#rest = this.#firstBuffer.subarray(0, n);
    }
    if (this.#rest) {
      const n = Math.min(buffer.length, this.#rest.length);
      buffer.set(this.#rest.subarray(0, n));
      this.#rest = n < this.#rest.length ? this.#rest.subarray(n) : null;
      return n;
    }
    return await this.#conn.read(buffer);
  }

  write(bytes: Uint8Array): Promise<number> {
    return this.#conn.write(bytes);
  }

  closeWrite(): Promise<void> {
    return this.#conn.closeWrite();
  }

  close(): void {
    this.#conn.close();
  }
}
