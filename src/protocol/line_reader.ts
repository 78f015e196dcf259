/**
 * Splits the control connection's byte stream into command lines.
 *
 * - A line ends at CRLF, bare LF (Unix clients), or bare CR. The last one matters: Python's
 *   `ftplib.abort()` sends `ABOR\r\n` with MSG_OOB, and without SO_OOBINLINE (which Deno cannot
 *   set) the kernel takes the urgent `\n` out of the stream, leaving `ABOR\r`.
 * - Telnet IAC sequences (RFC 854) are removed: `IAC IP IAC DM` precedes ABOR (RFC 959 §4.1.3),
 *   and `IAC IAC` stands for a literal 0xFF byte.
 * - A line longer than `maxLength` bytes is skipped to its end and reported as too long, so a
 *   client cannot make the server buffer an unbounded line.
 * - Text is UTF-8 (RFC 2640); invalid UTF-8 is reported, not replaced, so a path is never
 *   silently changed into another one.
 * - `IAC IP` at the end of what has arrived is reported at once as an interrupt. lftp and BSD
 *   ftp send `IAC IP IAC`, then `DM` as TCP urgent data, then `ABOR`: the read stops at the
 *   urgent mark, and tokio (under Deno) takes that short read for an empty socket and waits for
 *   the next packet, so the `ABOR` behind the mark would sit unread until the client's next
 *   command. The session answers the interrupt as an ABOR and then drops that ABOR line.
 *
 * @module
 */

import type { ByteReader } from "../io.ts";

export type { ByteReader };

/** What {@linkcode LineReader.readLine} found. */
export type LineResult =
  | { kind: "line"; text: string }
  | { kind: "too-long" }
  | { kind: "bad-encoding" }
  /** Telnet IAC IP (interrupt process) arrived, and the rest of its line has not. */
  | { kind: "interrupt" };

const LF = 0x0a;
const CR = 0x0d;
const IAC = 0xff;
const IP = 0xf4;
const decoder = new TextDecoder("utf-8", { fatal: true });
/** {@linkcode LineReader} found no whole line in what it holds: it must read on. */
const MORE = Symbol("more");

/**
 * Reads lines from a {@linkcode ByteReader}. One instance per connection; it keeps only a small
 * read buffer, because an idle session spends its life waiting in a read.
 */
export class LineReader {
  #source: ByteReader;
  #chunk: Uint8Array;
  #start = 0;
  #end = 0;
  /** Bytes of a line that spans several reads; null for the common one-read line. */
  #pending: Uint8Array | null = null;
  #pendingLength = 0;
  #overflow = false;
  /** The previous line ended with CR: an LF that follows belongs to it. */
  #afterCR = false;
  /** An interrupt was reported for the line being read. */
  #interrupted = false;
  /** Called when the next read of the source returns (see {@linkcode LineReader.nextRead}). */
  #readWaiters: (() => void)[] | null = null;
  readonly maxLength: number;

  constructor(source: ByteReader, maxLength = 4096, chunkSize = 512) {
    this.#source = source;
    this.maxLength = maxLength;
    this.#chunk = new Uint8Array(chunkSize);
  }

  /**
   * Switches to another byte source (the TLS layer after AUTH TLS). Returns the bytes received
   * but not yet read as a line — they belong to the new layer (a ClientHello sent early) — and
   * whether the LF of a CRLF is still to come on the raw connection.
   */
  switchSource(source: ByteReader): { rest: Uint8Array; expectLF: boolean } {
    let rest = this.#chunk.slice(this.#start, this.#end);
    let expectLF = this.#afterCR;
    if (expectLF && rest.length > 0) {
      expectLF = false;
      if (rest[0] === LF) rest = rest.subarray(1);
    }
    this.#afterCR = false;
    this.#start = this.#end = 0;
    this.#resetPending();
    this.#source = source;
    return { rest, expectLF };
  }

  /** True when bytes have been received that no line returned so far contains. */
  get hasBuffered(): boolean {
    const unread = this.#end - this.#start;
    // The LF of a CRLF whose CR ended the last line is not a byte of anything new.
    const lateLF = this.#afterCR && unread === 1 && this.#chunk[this.#start] === LF;
    return this.#pendingLength > 0 || (unread > 0 && !lateLF);
  }

  /**
   * Resolves when the next read of the source returns (with bytes, end of stream or an error):
   * for a caller that must know a read happened, not what it brought.
   */
  nextRead(): Promise<void> {
    return new Promise((resolve) => (this.#readWaiters ??= []).push(resolve));
  }

  /** Resolves to the next line, or null at end of stream. */
  readLine(): Promise<LineResult | null> {
    try {
      const next = this.#next();
      return next instanceof Promise ? next : Promise.resolve(next);
    } catch (error) {
      return Promise.reject(error); // a source whose read throws: rejects, as an async one would
    }
  }

  /**
   * The next line in what has been read, or undefined when the source must be read first: then
   * `received(await read())`, and `take()` again. For a caller that waits in the read itself
   * (an idle session): a suspended {@linkcode LineReader.readLine} would hold a promise chain
   * of its own besides the read.
   */
  take(): LineResult | undefined {
    const found = this.#scan();
    return found === MORE ? undefined : found;
  }

  /** Reads the source once, into this reader's buffer; pass what it returns to `received`. */
  read(): Promise<number | null> {
    return this.#source.read(this.#chunk);
  }

  /** Takes what a {@linkcode LineReader.read} returned; false at end of stream. */
  received(n: number | null): boolean {
    const waiters = this.#readWaiters;
    if (waiters !== null) {
      this.#readWaiters = null;
      for (const wake of waiters) wake();
    }
    if (n === null) return false;
    // A read may return 0 bytes without meaning end of stream (Deno's Reader contract).
    if (n > 0) {
      this.#start = 0;
      this.#end = n;
    }
    return true;
  }

  /** The next line if what is buffered holds one; else the read that will find it. */
  #next(): LineResult | Promise<LineResult | null> {
    const found = this.#scan();
    if (found !== MORE) return found;
    return this.read().then((n) => this.received(n) ? this.#next() : null);
  }

  /** The next line in what has been read, or `MORE` when a read must come first. */
  #scan(): LineResult | typeof MORE {
    for (;;) {
      if (this.#start === this.#end) return MORE;
      if (this.#afterCR) {
        this.#afterCR = false;
        if (this.#chunk[this.#start] === LF) {
          this.#start++;
          continue;
        }
      }
      const chunk = this.#chunk;
      let eol = -1;
      for (let i = this.#start; i < this.#end; i++) {
        const byte = chunk[i];
        if (byte === LF || byte === CR) {
          eol = i;
          break;
        }
      }
      if (eol === -1) {
        this.#append(chunk.subarray(this.#start, this.#end));
        this.#start = this.#end;
        const pending = this.#pending?.subarray(0, this.#pendingLength);
        if (!this.#interrupted && pending && hasInterrupt(pending)) {
          this.#interrupted = true;
          return { kind: "interrupt" };
        }
        continue;
      }
      this.#afterCR = chunk[eol] === CR;
      const tail = chunk.subarray(this.#start, eol);
      this.#start = eol + 1;
      if (this.#overflow || this.#pendingLength + tail.length > this.maxLength) {
        this.#resetPending();
        return { kind: "too-long" };
      }
      let bytes: Uint8Array = tail;
      if (this.#pending !== null) {
        this.#append(tail);
        bytes = this.#pending.subarray(0, this.#pendingLength);
      }
      const result = decodeLine(bytes);
      this.#resetPending();
      return result;
    }
  }

  #append(bytes: Uint8Array): void {
    if (this.#overflow) return;
    const needed = this.#pendingLength + bytes.length;
    if (needed > this.maxLength) {
      this.#overflow = true;
      this.#pending = null;
      this.#pendingLength = 0;
      return;
    }
    if (this.#pending === null || this.#pending.length < needed) {
      const grown = new Uint8Array(Math.min(this.maxLength, Math.max(needed, 256) * 2));
      if (this.#pending !== null) grown.set(this.#pending.subarray(0, this.#pendingLength));
      this.#pending = grown;
    }
    this.#pending.set(bytes, this.#pendingLength);
    this.#pendingLength = needed;
  }

  #resetPending(): void {
    this.#interrupted = false;
    this.#pending = null;
    this.#pendingLength = 0;
    this.#overflow = false;
  }
}

/** True when the bytes hold Telnet `IAC IP`. */
function hasInterrupt(bytes: Uint8Array): boolean {
  for (
    let i = bytes.indexOf(IAC);
    i !== -1 && i < bytes.length - 1;
    i = bytes.indexOf(IAC, i + 1)
  ) {
    if (bytes[i + 1] === IP) return true;
    if (bytes[i + 1] === IAC) i++; // an escaped 0xFF data byte
  }
  return false;
}

/** Decodes one line's bytes, removing Telnet commands first. */
export function decodeLine(bytes: Uint8Array): LineResult {
  const clean = bytes.includes(IAC) ? stripTelnet(bytes) : bytes;
  try {
    return { kind: "line", text: decoder.decode(clean) };
  } catch {
    return { kind: "bad-encoding" };
  }
}

/**
 * Removes Telnet command sequences (RFC 854): `IAC IAC` → 0xFF, `IAC WILL|WONT|DO|DONT opt` and
 * `IAC cmd` dropped. A lone IAC before an ordinary byte is dropped too: when the client sent the
 * DM as TCP urgent data the kernel removed it, leaving `IAC IP IAC` before the command.
 */
export function stripTelnet(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  let length = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (byte !== IAC) {
      out[length++] = byte;
      continue;
    }
    const next = bytes[i + 1];
    if (next === undefined) break;
    if (next === IAC) {
      out[length++] = IAC;
      i++;
    } else if (next >= 251 && next <= 254) {
      i += 2; // WILL, WONT, DO, DONT and their option byte
    } else if (next >= 240) {
      i++; // a two-byte command: IP, DM, AO, AYT, NOP, ...
    }
    // else: a lone IAC whose command byte was lost; keep the next byte as text
  }
  return out.subarray(0, length);
}
