/**
 * MODE B (block mode, RFC 959 §3.4.2): every block is a 3-byte header — a descriptor byte and a
 * 16-bit big-endian byte count — followed by that many bytes.
 *
 * Descriptor bits: 128 the block ends a record (EOR), 64 it ends the file (EOF), 32 its data
 * is suspect, 16 it is a restart marker (its bytes are the marker text). The low four bits are
 * unassigned and refused.
 *
 * The encoder turns the internal form (see `../representation/representation.ts`) into
 * blocks of at most 65,535 bytes, one run of blocks per input chunk (blocks are not held back
 * to fill them, so nothing waits on the next chunk), a marker block where the
 * `MarkerSchedule` says, and a last EOF block, which is empty unless a last record without EOR
 * shares its chunk. With STRU R it turns 0xFF 0x01 into the EOR flag on the block that ends
 * there (an empty record is an empty EOR block), 0xFF 0x02 into the EOF block, and 0xFF 0xFF
 * into a data byte.
 *
 * The decoder does the reverse and stops at the EOF block, so a data connection can carry the
 * next file (see `frames.ts`). With STRU F an EOR flag is accepted and ignored (there are no
 * records to end); suspect blocks are delivered and counted.
 *
 * @module
 */

import { ByteBuffer } from "../representation/bytes.ts";
import { CodecError } from "../representation/errors.ts";
import type { Structure } from "../representation/representation.ts";
import { EscapedFraming } from "./escaped_framing.ts";
import { type FrameDecoder, FramingStream } from "./frames.ts";
import { MAX_MARKER, type RestartOptions, validMarker } from "./markers.ts";
import type { RestartMarker } from "./restart.ts";

/** Descriptor bit: the end of the block is the end of a record. */
export const BLOCK_EOR = 128;
/** Descriptor bit: the end of the block is the end of the file. */
export const BLOCK_EOF = 64;
/** Descriptor bit: the data of the block is suspected of errors. */
export const BLOCK_SUSPECT = 32;
/** Descriptor bit: the block is a restart marker. */
export const BLOCK_MARKER = 16;
/** Largest block count. */
export const MAX_BLOCK = 0xffff;

const ESCAPE = 0xff;
/** The record escapes a block's flags become (shared: emitted views are never written to). */
const CONTROLS = [1, 2, 3].reduce(
  (table, control) => (table[control] = new Uint8Array([ESCAPE, control]), table),
  [] as Uint8Array[],
);

/** Options of {@linkcode BlockEncoder}. */
export interface BlockEncoderOptions {
  /** @default "file" */
  structure?: Structure;
  /** Restart markers to insert; none without. */
  restart?: RestartOptions;
}

/** Writes one block header. */
function header(out: ByteBuffer, descriptor: number, count: number): void {
  out.reserve(3 + count);
  out.byte(descriptor);
  out.byte(count >> 8);
  out.byte(count & 0xff);
}

/**
 * Internal form → MODE B blocks (for RETR, LIST).
 *
 * @example
 * ```ts
 * import { BlockEncoder } from "./block.ts";
 * const wire = await new Response(
 *   new Blob(["hi"]).stream().pipeThrough(new BlockEncoder()),
 * ).bytes(); // [0, 0, 2, 0x68, 0x69, 64, 0, 0]: a data block, then the EOF block
 * ```
 */
export class BlockEncoder extends FramingStream {
  constructor(options: BlockEncoderOptions = {}) {
    super(new BlockFraming(options));
  }
}

/**
 * The block encoder without the stream: `push` each chunk, then `flush` once, and write what
 * they return. For small files over a kept data connection this skips the stream machinery,
 * which costs more than the framing (about 100 µs per file through a TransformStream, against
 * a few µs for the framing of a 4 KiB file).
 *
 * @example
 * ```ts
 * import { BlockFraming } from "./block.ts";
 * const framing = new BlockFraming();
 * const wire = [framing.push(new TextEncoder().encode("hi")), framing.flush()];
 * // [0, 0, 2, 0x68, 0x69] and [64, 0, 0]
 * ```
 */
export class BlockFraming extends EscapedFraming {
  /** STRU R: data of the block being built (unescaped). */
  readonly #block = new ByteBuffer(4096);

  constructor(options: BlockEncoderOptions = {}) {
    super(options.structure, options.restart);
  }

  protected capacity(length: number): number {
    return length + 3 * Math.ceil(length / MAX_BLOCK) + 64;
  }

  protected marker(out: ByteBuffer, text: Uint8Array): void {
    this.#endBlock(out, 0);
    header(out, BLOCK_MARKER, text.length);
    out.append(text);
  }

  protected override afterRecords(out: ByteBuffer): void {
    this.#endBlock(out, 0);
  }

  protected finish(): Uint8Array {
    const out = new ByteBuffer(16);
    if (!this.ended) this.#endBlock(out, BLOCK_EOF, true);
    return out.view();
  }

  /** STRU F: every byte is data. */
  protected fileData(input: Uint8Array, from: number, to: number, out: ByteBuffer): void {
    for (let i = from; i < to; i += MAX_BLOCK) {
      const end = Math.min(to, i + MAX_BLOCK);
      header(out, 0, end - i);
      out.append(input, i, end);
    }
  }

  protected recordData(input: Uint8Array, from: number, to: number, out: ByteBuffer): void {
    const block = this.#block;
    while (from < to) {
      const take = Math.min(to - from, MAX_BLOCK - block.length);
      block.append(input, from, from + take);
      from += take;
      if (block.length === MAX_BLOCK) this.#endBlock(out, 0);
    }
  }

  protected escapedByte(out: ByteBuffer): void {
    this.#block.byte(0xff);
    if (this.#block.length === MAX_BLOCK) this.#endBlock(out, 0);
  }

  protected control(eor: boolean, eof: boolean, out: ByteBuffer): void {
    if (eor) this.#endBlock(out, BLOCK_EOR, true);
    if (eof) this.#endBlock(out, BLOCK_EOF, true);
  }

  /** Writes the block being built (STRU R) with `descriptor`; an empty one only if `always`. */
  #endBlock(out: ByteBuffer, descriptor: number, always = false): void {
    const block = this.#block;
    if (block.length === 0 && !always) return;
    header(out, descriptor, block.length);
    out.append(block.bytes, 0, block.length);
    block.length = 0;
  }
}

/** Options of {@linkcode BlockDecoder}. */
export interface BlockDecoderOptions {
  /** @default "file" */
  structure?: Structure;
  /** Called with each restart marker, at its place in the data. */
  onMarker?: (marker: RestartMarker) => void;
}

/** Counts for the transfer log. */
export interface BlockStats {
  /** Data blocks flagged as suspect (their data was delivered). */
  suspectBlocks: number;
  /** Restart markers received. */
  markers: number;
}

const enum Phase {
  Header,
  Data,
  Marker,
}

/**
 * MODE B blocks → internal form (for STOR). Use it with {@linkcode receiveFramed} on a data
 * connection, or {@linkcode FrameDecoderStream} in a pipeline.
 *
 * @example
 * ```ts
 * import { BlockDecoder } from "./block.ts";
 * const markers: string[] = [];
 * const decoder = new BlockDecoder({ onMarker: (marker) => markers.push(marker.text) });
 * const out: Uint8Array[] = [];
 * decoder.decode(new Uint8Array([0, 0, 1, 0x61, 16, 0, 1, 0x31, 64, 0, 0]), (b) => out.push(b));
 * decoder.done; // true; markers: ["1"]; out: ["a"]
 * ```
 */
export class BlockDecoder implements FrameDecoder {
  readonly stats: BlockStats = { suspectBlocks: 0, markers: 0 };
  readonly #records: boolean;
  readonly #onMarker: ((marker: RestartMarker) => void) | undefined;
  #phase = Phase.Header;
  readonly #header = new Uint8Array(3);
  #headerLength = 0;
  #descriptor = 0;
  #remaining = 0;
  readonly #marker = new ByteBuffer(32);
  /** Internal-form bytes emitted so far. */
  #offset = 0;
  #done = false;

  constructor(options: BlockDecoderOptions = {}) {
    this.#records = options.structure === "record";
    this.#onMarker = options.onMarker;
  }

  get done(): boolean {
    return this.#done;
  }

  decode(input: Uint8Array, emit: (bytes: Uint8Array) => void): number {
    let i = 0;
    const n = input.length;
    while (i < n && !this.#done) {
      switch (this.#phase) {
        case Phase.Header: {
          this.#header[this.#headerLength++] = input[i++];
          if (this.#headerLength < 3) break;
          this.#headerLength = 0;
          this.#begin(emit);
          break;
        }
        case Phase.Data: {
          const take = Math.min(this.#remaining, n - i);
          this.#emitData(input.subarray(i, i + take), emit);
          i += take;
          this.#remaining -= take;
          if (this.#remaining === 0) this.#endBlock(emit);
          break;
        }
        case Phase.Marker: {
          const take = Math.min(this.#remaining, n - i);
          this.#marker.append(input, i, i + take);
          i += take;
          this.#remaining -= take;
          if (this.#remaining === 0) this.#endMarker();
          break;
        }
      }
    }
    return i;
  }

  finish(): void {
    if (this.#done) return;
    const where = this.#phase === Phase.Header && this.#headerLength === 0
      ? "before the EOF block"
      : "inside a block";
    throw new CodecError("truncated", `the data ended ${where}`);
  }

  #begin(emit: (bytes: Uint8Array) => void): void {
    const descriptor = this.#header[0];
    const count = (this.#header[1] << 8) | this.#header[2];
    if (descriptor & 0x0f) {
      throw new CodecError("malformed", `block descriptor 0x${descriptor.toString(16)}`);
    }
    this.#descriptor = descriptor;
    this.#remaining = count;
    if (descriptor & BLOCK_MARKER) {
      // A marker block marks a place; it cannot also end a record or the file.
      if (descriptor !== BLOCK_MARKER) {
        throw new CodecError("malformed", `marker block with descriptor ${descriptor}`);
      }
      if (count === 0 || count > MAX_MARKER) {
        throw new CodecError("malformed", `marker block of ${count} bytes`);
      }
      this.#phase = Phase.Marker;
      return;
    }
    if (descriptor & BLOCK_SUSPECT) this.stats.suspectBlocks++;
    this.#phase = Phase.Data;
    if (count === 0) this.#endBlock(emit);
  }

  #emitData(data: Uint8Array, emit: (bytes: Uint8Array) => void): void {
    if (data.length === 0) return;
    if (!this.#records || data.indexOf(ESCAPE) === -1) {
      emit(data);
      this.#offset += data.length;
      return;
    }
    // Record form: every data 0xFF doubles. (A plain loop: indexOf per 0xFF costs more.)
    const escaped = new Uint8Array(data.length * 2);
    let o = 0;
    for (let i = 0; i < data.length; i++) {
      const byte = data[i];
      escaped[o++] = byte;
      if (byte === ESCAPE) escaped[o++] = ESCAPE;
    }
    emit(escaped.subarray(0, o));
    this.#offset += o;
  }

  #endBlock(emit: (bytes: Uint8Array) => void): void {
    this.#phase = Phase.Header;
    const descriptor = this.#descriptor;
    if (this.#records && descriptor & (BLOCK_EOR | BLOCK_EOF)) {
      const control = (descriptor & BLOCK_EOR ? 1 : 0) | (descriptor & BLOCK_EOF ? 2 : 0);
      emit(CONTROLS[control]);
      this.#offset += 2;
    }
    if (descriptor & BLOCK_EOF) this.#done = true;
  }

  #endMarker(): void {
    this.#phase = Phase.Header;
    const bytes = this.#marker.take();
    if (!validMarker(bytes)) throw new CodecError("malformed", "restart marker text");
    this.stats.markers++;
    this.#onMarker?.({ text: new TextDecoder().decode(bytes), offset: this.#offset });
  }
}
