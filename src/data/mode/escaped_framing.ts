/**
 * What the block (MODE B) and compressed (MODE C) encoders share: restart markers inserted at
 * their internal-form offsets, and STRU R's record form read through its escapes (RFC 959
 * §3.4: 0xFF 0x01 end of record, 0xFF 0x02 end of file, 0xFF 0xFF a data 0xFF), an escape split
 * over two chunks included. Each mode says how it writes data, a control, a marker and the end.
 *
 * @module
 */

import { ByteBuffer } from "../representation/bytes.ts";
import { CodecError } from "../representation/errors.ts";
import type { Structure } from "../representation/representation.ts";
import { EMPTY } from "../representation/stage.ts";
import type { Framing } from "./frames.ts";
import { MarkerSchedule, type RestartOptions } from "./markers.ts";

const ESCAPE = 0xff; // of the record form

/** A mode encoder over the internal form; subclasses write the mode's own framing. */
export abstract class EscapedFraming implements Framing {
  readonly #records: boolean;
  readonly #markers: MarkerSchedule;
  /** Internal bytes consumed so far (escapes count, as the checkpoints count them). */
  #offset = 0;
  #pendingEscape = false;
  /** The EOF escape has been written: nothing may follow. */
  protected ended = false;

  constructor(structure: Structure | undefined, restart: RestartOptions | undefined) {
    this.#records = structure === "record";
    this.#markers = new MarkerSchedule(restart);
  }

  /** Frames the next internal-form bytes. */
  push(input: Uint8Array): Uint8Array {
    if (input.length === 0) return EMPTY;
    if (this.ended) throw new CodecError("trailing-data", "data after the EOF escape");
    const out = new ByteBuffer(this.capacity(input.length));
    let from = 0;
    while (from < input.length) {
      const at = this.#markers.next(this.#offset, this.#offset + input.length - from);
      const to = at === -1 ? input.length : from + (at - this.#offset);
      if (to > from) {
        if (this.#records) this.#recordData(input, from, to, out);
        else this.fileData(input, from, to, out);
        this.#offset += to - from;
        from = to;
      }
      if (at === -1) continue;
      const marker = this.#markers.take();
      // None after the EOF escape (the next bytes on the connection are the next file's), and
      // none inside an escape (only checkpoint-less record streams can ask for that).
      if (this.ended || this.#pendingEscape) continue;
      this.marker(out, new TextEncoder().encode(marker));
    }
    if (this.#records) this.afterRecords(out);
    return out.view();
  }

  /** The end of the file. */
  flush(): Uint8Array {
    if (this.#pendingEscape) throw new CodecError("truncated", "input ends inside an escape");
    return this.finish();
  }

  /** STRU R: data between escapes, and the escapes. */
  #recordData(input: Uint8Array, from: number, to: number, out: ByteBuffer): void {
    let i = from;
    if (this.#pendingEscape && i < to) {
      this.#pendingEscape = false;
      this.#control(input[i++], out);
    }
    while (i < to) {
      if (this.ended) throw new CodecError("trailing-data", "data after the EOF escape");
      const escape = input.indexOf(ESCAPE, i);
      const end = escape === -1 || escape >= to ? to : escape;
      this.recordData(input, i, end, out);
      if (end === to) break;
      if (escape === to - 1) {
        this.#pendingEscape = true;
        break;
      }
      this.#control(input[escape + 1], out);
      i = escape + 2;
    }
  }

  #control(byte: number, out: ByteBuffer): void {
    if (byte === ESCAPE) return this.escapedByte(out);
    if (byte === 0 || byte > 3) {
      throw new CodecError("malformed", `escape 0xff 0x${byte.toString(16)} in the record form`);
    }
    this.control((byte & 1) !== 0, (byte & 2) !== 0, out);
    if (byte & 2) this.ended = true;
  }

  /** Room to reserve for the framing of `length` internal bytes. */
  protected abstract capacity(length: number): number;
  /** STRU F: bytes that are all data. */
  protected abstract fileData(input: Uint8Array, from: number, to: number, out: ByteBuffer): void;
  /** STRU R: data bytes between escapes. */
  protected abstract recordData(input: Uint8Array, from: number, to: number, out: ByteBuffer): void;
  /** STRU R: the data byte 0xFF (escaped as 0xFF 0xFF in the record form). */
  protected abstract escapedByte(out: ByteBuffer): void;
  /** STRU R: end of record and/or end of file, as the mode marks them. */
  protected abstract control(eor: boolean, eof: boolean, out: ByteBuffer): void;
  /** A restart marker (its text). */
  protected abstract marker(out: ByteBuffer, text: Uint8Array): void;
  /** After each chunk of a record stream (block mode writes the block being built). */
  protected afterRecords(_out: ByteBuffer): void {}
  /** The end of the file (the EOF, unless the record form's EOF escape has been written). */
  protected abstract finish(): Uint8Array;
}
