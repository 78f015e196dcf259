/**
 * MODE C (compressed mode, RFC 959 §3.4.3). The data is a sequence of items, each starting with
 * a header byte:
 *
 * | header       | item                                                            |
 * | ------------ | --------------------------------------------------------------- |
 * | `0nnnnnnn`   | n (1–127) data bytes follow                                     |
 * | `10nnnnnn` d | the byte d, n (1–63) times                                      |
 * | `11nnnnnn`   | the filler byte n (1–63) times: space for TYPE A (0x20) and E (0x40), zero for I and L |
 * | `00000000` d | escape: d holds block-mode descriptor bits                      |
 *
 * The RFC says an escape's descriptor "applies to the succeeding string of bytes". For a
 * restart marker (16) that string is the marker: `0x00 0x10`, then a byte string with the
 * marker text. For EOR (128) and EOF (64) ftpgate reads the escape as marking its own place,
 * as the flag on a block does in block mode: `0x00 0x80` ends the record there, `0x00 0x40`
 * ends the file (`0x00 0xC0` both). That is the only reading under which a receiver can tell
 * that a file has ended without waiting for more bytes (an empty file has no string to follow
 * its EOF), which is the point of a mode that keeps the data connection open. Suspect data (32)
 * is counted and delivered. A zero count, unassigned bits, or an escape with no bits is refused.
 *
 * The encoder compresses: a run of at least three filler bytes becomes filler items, a run of
 * at least four other equal bytes becomes replicated items (shorter runs cost as much or more
 * as items), everything else goes into data strings of up to 127 bytes. Runs and strings carry
 * over chunk boundaries.
 *
 * @module
 */

import { ByteBuffer } from "../representation/bytes.ts";
import { CodecError } from "../representation/errors.ts";
import type { Structure } from "../representation/representation.ts";
import { BLOCK_EOF, BLOCK_EOR, BLOCK_MARKER, BLOCK_SUSPECT } from "./block.ts";
import { EscapedFraming } from "./escaped_framing.ts";
import { type FrameDecoder, FramingStream } from "./frames.ts";
import { type RestartOptions, validMarker } from "./markers.ts";
import type { RestartMarker } from "./restart.ts";

const ESCAPE = 0xff; // of the record form
const ESCAPE_BYTE = new Uint8Array([ESCAPE]);
const MAX_STRING = 127;
const MAX_RUN = 63;
/** Output is handed on in pieces of at most this size, whatever the runs expand to. */
const OUTPUT_PIECE = 65536;

/** The filler byte for a representation type (RFC 959 §3.4.3). */
export function fillerFor(type: "ascii" | "ebcdic" | "image"): number {
  return type === "ascii" ? 0x20 : type === "ebcdic" ? 0x40 : 0x00;
}

/** Options of {@linkcode CompressedEncoder}. */
export interface CompressedEncoderOptions {
  /** The filler byte: see {@linkcode fillerFor}. */
  filler: number;
  /** @default "file" */
  structure?: Structure;
  /** Restart markers to insert; none without. */
  restart?: RestartOptions;
}

/**
 * Internal form → MODE C (for RETR, LIST).
 *
 * @example
 * ```ts
 * import { CompressedEncoder, fillerFor } from "./compressed.ts";
 * const wire = await new Response(
 *   new Blob(["ab      c"]).stream().pipeThrough(
 *     new CompressedEncoder({ filler: fillerFor("ascii") }),
 *   ),
 * ).bytes(); // [2, 0x61, 0x62, 0xc6, 1, 0x63, 0, 0x40]: "ab", 6 spaces, "c", EOF
 * ```
 */
export class CompressedEncoder extends FramingStream {
  constructor(options: CompressedEncoderOptions) {
    super(new CompressedFraming(options));
  }
}

/**
 * The compressed-mode encoder without the stream (see `BlockFraming` for why): `push` each
 * chunk, then `flush` once.
 *
 * @example
 * ```ts
 * import { CompressedFraming } from "./compressed.ts";
 * const framing = new CompressedFraming({ filler: 0x20 });
 * const wire = [framing.push(new TextEncoder().encode("a    ")), framing.flush()];
 * // [] (runs wait for what follows), then [1, 0x61, 0xc4, 0, 0x40]
 * ```
 */
export class CompressedFraming extends EscapedFraming {
  readonly #filler: number;
  readonly #string = new Uint8Array(MAX_STRING);
  #stringLength = 0;
  #runByte = -1;
  #runCount = 0;

  constructor(options: CompressedEncoderOptions) {
    super(options.structure, options.restart);
    this.#filler = options.filler;
  }

  protected capacity(length: number): number {
    return length + Math.ceil(length / MAX_STRING) + 64;
  }

  protected marker(out: ByteBuffer, text: Uint8Array): void {
    this.#escape(out, BLOCK_MARKER);
    out.byte(text.length);
    out.append(text);
  }

  /** The end of the file: what was held, and the EOF escape. */
  protected finish(): Uint8Array {
    const out = new ByteBuffer(256);
    this.#closeRun(out);
    this.#flushString(out);
    if (!this.ended) this.#escape(out, BLOCK_EOF);
    return out.view();
  }

  protected fileData(input: Uint8Array, from: number, to: number, out: ByteBuffer): void {
    this.#data(input, from, to, out);
  }

  protected recordData(input: Uint8Array, from: number, to: number, out: ByteBuffer): void {
    this.#data(input, from, to, out);
  }

  protected escapedByte(out: ByteBuffer): void {
    this.#data(ESCAPE_BYTE, 0, 1, out);
  }

  protected control(eor: boolean, eof: boolean, out: ByteBuffer): void {
    this.#escape(out, (eor ? BLOCK_EOR : 0) | (eof ? BLOCK_EOF : 0));
  }

  #data(input: Uint8Array, from: number, to: number, out: ByteBuffer): void {
    let runByte = this.#runByte;
    let runCount = this.#runCount;
    for (let i = from; i < to; i++) {
      const byte = input[i];
      if (byte === runByte) {
        runCount++;
        continue;
      }
      if (runCount === 1) {
        // The common case in data that does not compress: straight into the string.
        this.#string[this.#stringLength++] = runByte;
        if (this.#stringLength === MAX_STRING) this.#flushString(out);
      } else if (runCount > 1) {
        this.#run(runByte, runCount, out);
      }
      runByte = byte;
      runCount = 1;
    }
    this.#runByte = runByte;
    this.#runCount = runCount;
  }

  /** Writes an escape, after everything before it. */
  #escape(out: ByteBuffer, descriptor: number): void {
    this.#closeRun(out);
    this.#flushString(out);
    out.byte(0);
    out.byte(descriptor);
  }

  #closeRun(out: ByteBuffer): void {
    if (this.#runCount > 0) this.#run(this.#runByte, this.#runCount, out);
    this.#runByte = -1;
    this.#runCount = 0;
  }

  /** A finished run: items if that is shorter, else string bytes. */
  #run(byte: number, count: number, out: ByteBuffer): void {
    if (byte === this.#filler && count >= 3) {
      this.#flushString(out);
      for (; count > 0; count -= MAX_RUN) out.byte(0xc0 | Math.min(count, MAX_RUN));
      return;
    }
    if (count >= 4) {
      this.#flushString(out);
      for (; count >= 4; count -= Math.min(count, MAX_RUN)) {
        out.byte(0x80 | Math.min(count, MAX_RUN));
        out.byte(byte);
      }
    }
    for (; count > 0; count--) {
      this.#string[this.#stringLength++] = byte;
      if (this.#stringLength === MAX_STRING) this.#flushString(out);
    }
  }

  #flushString(out: ByteBuffer): void {
    if (this.#stringLength === 0) return;
    out.byte(this.#stringLength);
    out.append(this.#string, 0, this.#stringLength);
    this.#stringLength = 0;
  }
}

/** Options of {@linkcode CompressedDecoder}. */
export interface CompressedDecoderOptions {
  /** The filler byte: see {@linkcode fillerFor}. */
  filler: number;
  /** @default "file" */
  structure?: Structure;
  /** Called with each restart marker, at its place in the data. */
  onMarker?: (marker: RestartMarker) => void;
}

/** Counts for the transfer log. */
export interface CompressedStats {
  /** Escapes flagging suspect data. */
  suspect: number;
  /** Restart markers received. */
  markers: number;
}

const enum Phase {
  Header,
  String,
  Replicate,
  Escape,
  MarkerHeader,
  Marker,
}

/**
 * MODE C → internal form (for STOR). Use it with `receiveFramed` on a data connection, or
 * `FrameDecoderStream` in a pipeline.
 *
 * @example
 * ```ts
 * import { CompressedDecoder } from "./compressed.ts";
 * const decoder = new CompressedDecoder({ filler: 0x20 });
 * const out: Uint8Array[] = [];
 * decoder.decode(new Uint8Array([1, 0x61, 0xc3, 0x84, 0x62, 0, 0x40]), (b) => out.push(b));
 * new TextDecoder().decode(out[0]); // "a   bbbb"
 * ```
 */
export class CompressedDecoder implements FrameDecoder {
  readonly stats: CompressedStats = { suspect: 0, markers: 0 };
  readonly #filler: number;
  readonly #records: boolean;
  readonly #onMarker: ((marker: RestartMarker) => void) | undefined;
  #phase = Phase.Header;
  #count = 0;
  readonly #out = new ByteBuffer(OUTPUT_PIECE + 256);
  readonly #marker = new ByteBuffer(32);
  /** Internal-form bytes emitted so far. */
  #emitted = 0;
  #done = false;

  constructor(options: CompressedDecoderOptions) {
    this.#filler = options.filler;
    this.#records = options.structure === "record";
    this.#onMarker = options.onMarker;
  }

  get done(): boolean {
    return this.#done;
  }

  decode(input: Uint8Array, emit: (bytes: Uint8Array) => void): number {
    const out = this.#out;
    const records = this.#records;
    let i = 0;
    const n = input.length;
    while (i < n && !this.#done) {
      if (out.length >= OUTPUT_PIECE) this.#emit(emit);
      if (this.#phase === Phase.String && !records) {
        // Copy the string in one go.
        const take = Math.min(this.#count, n - i, OUTPUT_PIECE);
        out.append(input, i, i + take);
        i += take;
        this.#count -= take;
        if (this.#count === 0) this.#phase = Phase.Header;
        continue;
      }
      const byte = input[i++];
      switch (this.#phase) {
        case Phase.Header:
          if (byte === 0) {
            this.#phase = Phase.Escape;
          } else if (byte < 0x80) {
            this.#phase = Phase.String;
            this.#count = byte;
          } else {
            const count = byte & 0x3f;
            if (count === 0) {
              throw new CodecError("malformed", `run of zero (0x${byte.toString(16)})`);
            }
            if (byte & 0x40) {
              this.#repeat(this.#filler, count);
            } else {
              this.#phase = Phase.Replicate;
              this.#count = count;
            }
          }
          break;
        case Phase.String:
          out.byte(byte);
          if (records && byte === ESCAPE) out.byte(ESCAPE);
          if (--this.#count === 0) this.#phase = Phase.Header;
          break;
        case Phase.Replicate:
          this.#repeat(byte, this.#count);
          this.#phase = Phase.Header;
          break;
        case Phase.Escape:
          this.#escape(byte);
          break;
        case Phase.MarkerHeader:
          if (byte === 0 || byte > MAX_STRING) {
            throw new CodecError("malformed", "a restart marker escape not followed by a string");
          }
          this.#count = byte;
          this.#phase = Phase.Marker;
          break;
        case Phase.Marker:
          this.#marker.byte(byte);
          if (--this.#count === 0) this.#endMarker();
          break;
      }
    }
    this.#emit(emit);
    return i;
  }

  finish(): void {
    if (this.#done) return;
    throw new CodecError(
      "truncated",
      this.#phase === Phase.Header
        ? "the data ended before the EOF escape"
        : "the data ended inside an item",
    );
  }

  #repeat(byte: number, count: number): void {
    const out = this.#out;
    const doubled = this.#records && byte === ESCAPE;
    out.reserve(doubled ? count * 2 : count);
    if (doubled) {
      for (let k = 0; k < count * 2; k++) out.byte(ESCAPE);
    } else {
      out.bytes.fill(byte, out.length, out.length + count);
      out.length += count;
    }
  }

  #escape(descriptor: number): void {
    this.#phase = Phase.Header;
    if (descriptor === 0 || descriptor & 0x0f) {
      throw new CodecError("malformed", `escape descriptor 0x${descriptor.toString(16)}`);
    }
    if (descriptor & BLOCK_MARKER) {
      if (descriptor !== BLOCK_MARKER) {
        throw new CodecError("malformed", `marker escape with descriptor ${descriptor}`);
      }
      this.#phase = Phase.MarkerHeader;
      return;
    }
    if (descriptor & BLOCK_SUSPECT) this.stats.suspect++;
    if (this.#records && descriptor & (BLOCK_EOR | BLOCK_EOF)) {
      this.#out.byte(ESCAPE);
      this.#out.byte((descriptor & BLOCK_EOR ? 1 : 0) | (descriptor & BLOCK_EOF ? 2 : 0));
    }
    if (descriptor & BLOCK_EOF) this.#done = true;
  }

  #endMarker(): void {
    this.#phase = Phase.Header;
    const bytes = this.#marker.take();
    if (!validMarker(bytes)) throw new CodecError("malformed", "restart marker text");
    this.stats.markers++;
    const offset = this.#emitted + this.#out.length;
    this.#onMarker?.({ text: new TextDecoder().decode(bytes), offset });
  }

  #emit(emit: (bytes: Uint8Array) => void): void {
    const bytes = this.#out.take();
    if (bytes.length === 0) return;
    this.#emitted += bytes.length;
    emit(bytes);
  }
}
