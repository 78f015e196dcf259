/**
 * Record structure (STRU R, RFC 959 §3.1.2.2) between stored files and the record form used
 * inside the transfer pipeline: RFC 959 §3.4.1's stream-mode encoding, where 0xFF 0x01 ends a
 * record, 0xFF 0x02 ends the file, 0xFF 0x03 does both and 0xFF 0xFF is a data byte 0xFF.
 *
 * How a stored file is made of records:
 *
 * - **Text (TYPE A, TYPE E): a line is a record.** The line end (LF, or NL after the EBCDIC
 *   conversion) becomes EOR and back. A last line without a line end is sent as a last record
 *   without EOR (`... 0xFF 0x02`), and such a record is stored without a line end, so every text
 *   file round-trips. (RFC 959 §3.4 wants every EOR explicit; this is the one file shape that
 *   needs the exception, and a receiver that wants it explicit loses nothing.) A record cannot
 *   hold a line end of its own: one inside a received record splits it in two.
 * - **Binary (TYPE I, TYPE L 8): RDW by default.** Each record is stored behind a 4-byte record
 *   descriptor word, a big-endian length that counts itself, then two zero bytes: the layout of a
 *   z/OS variable-length record (`SITE RDW`), which mainframe tools (DFSORT, JZOS, `VBP2`
 *   readers) expect of a binary variable-record file on a byte-stream system. A mainframe client
 *   that stores a VB data set with STRU R gets the same records back with STRU R, and the stored
 *   file is what its tools read. Records are limited to 65,531 bytes (the RDW is 16 bits); a
 *   stored file that is not a sequence of RDW records cannot be sent with STRU R
 *   (`CodecError` "not-records"; an ordinary file fails on its first four bytes, before any
 *   data is sent).
 * - **Binary, `single`:** the whole file is one record (an empty file too), for sites that want
 *   any binary file to be retrievable with STRU R; storing more than one record then fails with
 *   "malformed", since the record boundaries could not be given back.
 *
 * Decoding accepts the end of input without an EOF escape as the end of the file (in stream
 * mode the closing of the connection is the only end there is; block and compressed decoders
 * report a missing EOF themselves); it refuses an escape other than 01/02/03/FF, and data after
 * EOF.
 *
 * @module
 */

import { CodecError } from "./errors.ts";
import { ByteBuffer } from "./bytes.ts";
import { EMPTY, type Stage } from "./stage.ts";

/** The escape byte of RFC 959's record encoding. */
export const ESCAPE = 0xff;
/** Second byte after {@linkcode ESCAPE}: end of record. */
export const EOR = 0x01;
/** Second byte after {@linkcode ESCAPE}: end of file. */
export const EOF = 0x02;
/** Longest record an RDW can describe. */
export const RDW_MAX_RECORD = 0xffff - 4;

/** Escapes data bytes 0xFF into `out` starting at `o`; returns the new end. */
function escapeInto(input: Uint8Array, from: number, to: number, out: Uint8Array, o: number) {
  for (let i = from; i < to; i++) {
    const byte = input[i];
    out[o++] = byte;
    if (byte === ESCAPE) out[o++] = ESCAPE;
  }
  return o;
}

function countEscapes(input: Uint8Array, from = 0, to = input.length): number {
  let count = 0;
  for (let i = from; i < to; i++) if (input[i] === ESCAPE) count++;
  return count;
}

/** Text lines → records: `lineEnd` (LF, or EBCDIC NL) becomes EOR. Stateless. */
export class LinesToRecords implements Stage {
  readonly #lineEnd: number;
  constructor(lineEnd: number) {
    this.#lineEnd = lineEnd;
  }

  push(input: Uint8Array): Uint8Array {
    if (input.length === 0) return EMPTY;
    const lineEnd = this.#lineEnd;
    // Both a line end and a data 0xFF grow by one byte.
    let extra = 0;
    for (let i = 0; i < input.length; i++) {
      const byte = input[i];
      if (byte === ESCAPE || byte === lineEnd) extra++;
    }
    if (extra === 0) return input;
    const out = new Uint8Array(input.length + extra);
    let o = 0;
    for (let i = 0; i < input.length; i++) {
      const byte = input[i];
      if (byte === lineEnd) {
        out[o++] = ESCAPE;
        out[o++] = EOR;
      } else {
        out[o++] = byte;
        if (byte === ESCAPE) out[o++] = ESCAPE;
      }
    }
    return out;
  }

  flush(): Uint8Array {
    return new Uint8Array([ESCAPE, EOF]);
  }

  get clean(): boolean {
    return true;
  }
}

/** Parses the record escapes; what each escape turns into is up to the subclass. */
abstract class RecordParser implements Stage {
  #pendingEscape = false;
  #ended = false;

  /** Data bytes `input[from..to)`, unescaped. */
  protected abstract data(input: Uint8Array, from: number, to: number): void;
  /** A data byte 0xFF. */
  protected abstract escapedByte(): void;
  protected abstract endOfRecord(): void;
  protected abstract endOfFile(): void;
  protected abstract output(): Uint8Array;
  protected abstract get idle(): boolean;

  push(input: Uint8Array): Uint8Array {
    let i = 0;
    const n = input.length;
    if (n > 0 && this.#ended) throw new CodecError("trailing-data", "data after the EOF escape");
    if (this.#pendingEscape && n > 0) {
      this.#pendingEscape = false;
      this.#control(input[0]);
      i = 1;
    }
    while (i < n) {
      if (this.#ended) throw new CodecError("trailing-data", "data after the EOF escape");
      const escape = input.indexOf(ESCAPE, i);
      const end = escape === -1 ? n : escape;
      if (end > i) this.data(input, i, end);
      if (escape === -1) break;
      if (escape === n - 1) {
        this.#pendingEscape = true;
        break;
      }
      this.#control(input[escape + 1]);
      i = escape + 2;
    }
    return this.output();
  }

  flush(): Uint8Array {
    if (this.#pendingEscape) throw new CodecError("truncated", "input ends inside an escape");
    if (!this.#ended) this.endOfFile();
    this.#ended = true;
    return this.output();
  }

  get clean(): boolean {
    return !this.#pendingEscape && !this.#ended && this.idle;
  }

  #control(byte: number): void {
    if (byte === ESCAPE) return this.escapedByte();
    if (byte === 0 || byte > 3) {
      throw new CodecError("malformed", `escape 0xff 0x${byte.toString(16).padStart(2, "0")}`);
    }
    if (byte & EOR) this.endOfRecord();
    if (byte & EOF) {
      this.endOfFile();
      this.#ended = true;
    }
  }
}

/** Records → text lines: EOR becomes `lineEnd`. */
export class RecordsToLines extends RecordParser {
  readonly #lineEnd: number;
  readonly #out = new ByteBuffer();
  constructor(lineEnd: number) {
    super();
    this.#lineEnd = lineEnd;
  }
  protected data(input: Uint8Array, from: number, to: number): void {
    this.#out.append(input, from, to);
  }
  protected escapedByte(): void {
    this.#out.byte(ESCAPE);
  }
  protected endOfRecord(): void {
    this.#out.byte(this.#lineEnd);
  }
  protected endOfFile(): void {}
  protected output(): Uint8Array {
    return this.#out.take();
  }
  protected get idle(): boolean {
    return true;
  }
}

/** Stored RDW records → record form. */
export class RdwToRecords implements Stage {
  readonly #header = new Uint8Array(4);
  #headerLength = 0;
  /** Data bytes of the current record still to come. */
  #remaining = 0;

  push(input: Uint8Array): Uint8Array {
    if (input.length === 0) return EMPTY;
    // Each input byte yields at most two (a data 0xFF); a record end adds two for four header bytes.
    const out = new Uint8Array(input.length * 2 + 2);
    let o = 0;
    let i = 0;
    const n = input.length;
    while (i < n) {
      if (this.#remaining === 0 && this.#headerLength < 4) {
        this.#header[this.#headerLength++] = input[i++];
        if (this.#headerLength < 4) continue;
        const header = this.#header;
        const length = (header[0] << 8) | header[1];
        if (length < 4 || header[2] !== 0 || header[3] !== 0) {
          throw new CodecError("not-records", `RDW ${length} with flags ${header[2]},${header[3]}`);
        }
        this.#remaining = length - 4;
        if (this.#remaining === 0) o = this.#endRecord(out, o);
        continue;
      }
      const take = Math.min(this.#remaining, n - i);
      o = escapeInto(input, i, i + take, out, o);
      i += take;
      this.#remaining -= take;
      if (this.#remaining === 0) o = this.#endRecord(out, o);
    }
    return out.subarray(0, o);
  }

  flush(): Uint8Array {
    if (this.#remaining > 0 || this.#headerLength > 0) {
      throw new CodecError("not-records", "the stored file ends inside an RDW record");
    }
    return new Uint8Array([ESCAPE, EOF]);
  }

  get clean(): boolean {
    return this.#remaining === 0 && this.#headerLength === 0;
  }

  /**
   * Stored bytes at least until the current record ends (0 at a record boundary): the rest of
   * the record, or of the header while its length is not known yet.
   */
  get untilBoundary(): number {
    if (this.#remaining > 0) return this.#remaining;
    return this.#headerLength > 0 ? 4 - this.#headerLength : 0;
  }

  #endRecord(out: Uint8Array, o: number): number {
    out[o++] = ESCAPE;
    out[o++] = EOR;
    this.#headerLength = 0;
    return o;
  }
}

/** Record form → stored RDW records. A record is held until its EOR (at most 65,531 bytes). */
export class RecordsToRdw extends RecordParser {
  readonly #record = new ByteBuffer();
  #out: Uint8Array[] = [];

  protected data(input: Uint8Array, from: number, to: number): void {
    if (this.#record.length + (to - from) > RDW_MAX_RECORD) this.#tooLong();
    this.#record.append(input, from, to);
  }
  protected escapedByte(): void {
    if (this.#record.length + 1 > RDW_MAX_RECORD) this.#tooLong();
    this.#record.byte(ESCAPE);
  }
  protected endOfRecord(): void {
    const data = this.#record;
    const stored = new Uint8Array(4 + data.length);
    stored[0] = (data.length + 4) >> 8;
    stored[1] = (data.length + 4) & 0xff;
    stored.set(data.bytes.subarray(0, data.length), 4);
    data.length = 0;
    this.#out.push(stored);
  }
  protected endOfFile(): void {
    // RFC 959 wants the last EOR explicit; a last record without one is still a record.
    if (this.#record.length > 0) this.endOfRecord();
  }
  protected output(): Uint8Array {
    const out = this.#out;
    this.#out = [];
    if (out.length === 0) return EMPTY;
    if (out.length === 1) return out[0];
    const total = out.reduce((sum, part) => sum + part.length, 0);
    const joined = new Uint8Array(total);
    let offset = 0;
    for (const part of out) {
      joined.set(part, offset);
      offset += part.length;
    }
    return joined;
  }
  protected get idle(): boolean {
    return this.#record.length === 0;
  }
  #tooLong(): never {
    throw new CodecError("record-too-long", `record over ${RDW_MAX_RECORD} bytes`);
  }
}

/** A whole stored file → one record (an empty file: one empty record). Stateless. */
export class FileToRecord implements Stage {
  push(input: Uint8Array): Uint8Array {
    if (input.length === 0) return EMPTY;
    const escapes = countEscapes(input);
    if (escapes === 0) return input;
    const out = new Uint8Array(input.length + escapes);
    escapeInto(input, 0, input.length, out, 0);
    return out;
  }
  flush(): Uint8Array {
    return new Uint8Array([ESCAPE, EOR, ESCAPE, EOF]);
  }
  get clean(): boolean {
    return true;
  }
}

/** One record → a whole stored file; a second record is refused. */
export class RecordToFile extends RecordParser {
  readonly #out = new ByteBuffer();
  #records = 0;
  #open = false;

  protected data(input: Uint8Array, from: number, to: number): void {
    this.#opened();
    this.#out.append(input, from, to);
  }
  protected escapedByte(): void {
    this.#opened();
    this.#out.byte(ESCAPE);
  }
  protected endOfRecord(): void {
    this.#opened();
    this.#open = false;
  }
  protected endOfFile(): void {}
  protected output(): Uint8Array {
    return this.#out.take();
  }
  /** Any point is a restart point: a fresh decoder takes what follows as the one record. */
  protected get idle(): boolean {
    return true;
  }
  #opened(): void {
    if (this.#open) return;
    if (++this.#records > 1) {
      throw new CodecError("malformed", "more than one record in a single-record binary file");
    }
    this.#open = true;
  }
}
